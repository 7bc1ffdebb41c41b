"""The version of the installed medpos (pyproject.toml's `version`): `medpos --version`, the 9201
heartbeat's `app_version`, the metrics' build info."""

from __future__ import annotations

import functools
from importlib import metadata

__all__ = ["app_version"]


@functools.cache
def app_version() -> str:
    """The installed distribution's version; "unknown" when medpos runs from an uninstalled tree."""
    try:
        return metadata.version("medpos")
    except metadata.PackageNotFoundError:
        return "unknown"
