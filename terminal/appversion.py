"""The version of the installed medpos (pyproject.toml's `version`): `medpos --version`, the 9201
heartbeat's `app_version`, the metrics' build info."""

from __future__ import annotations

import functools

__all__ = ["app_version"]


@functools.cache
def app_version() -> str:
    """The installed distribution's version; "unknown" when medpos runs from an uninstalled tree."""
    # imported here: importlib.metadata (email parsing, zip paths) is some 20 ms of every process's
    # start, and most never ask for the version
    from importlib import metadata

    try:
        return metadata.version("medpos")
    except metadata.PackageNotFoundError:
        return "unknown"
