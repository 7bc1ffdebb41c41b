"""The hotlist rule (ecard-qr.md "Hotlist"), kept in `sync.protocol.hotlist`: the terminal and the
platform share it, and the platform imports nothing from `terminal.identity`."""

from __future__ import annotations

from sync.protocol.hotlist import HotlistIndex, hotlist_match

__all__ = ["HotlistIndex", "hotlist_match"]
