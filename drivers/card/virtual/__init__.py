"""A virtual social security card and PSAM speaking the vsmartcard vpcd socket protocol.

They share no parsing or encoding code with the reader side (`drivers/card/*.py`), so a mistake in
one cannot hide the same mistake in the other. See `card.py` for the card file format.
"""

from __future__ import annotations

from drivers.card.virtual.card import VirtualCard, VirtualPsam, load_card_file
from drivers.card.virtual.vpcd import VpcdClient, serve_in_thread

__all__ = ["VirtualCard", "VirtualPsam", "VpcdClient", "load_card_file", "serve_in_thread"]
