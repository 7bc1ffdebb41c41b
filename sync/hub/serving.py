"""The hub app for `medpos hub serve --workers N`: uvicorn starts each worker process from an
import string, so each builds its own engine and `Hub` from the environment the serve command set
(`MEDPOS_HUB_DB`, `MEDPOS_HUB_ZONE`). The processes share nothing but the database (app.py)."""

from __future__ import annotations

import os

from fastapi import FastAPI

from sync.hub.app import create_app
from sync.hub.db import open_engine
from sync.hub.service import Hub

__all__ = ["DB_ENV", "ZONE_ENV", "app_from_env"]

DB_ENV = "MEDPOS_HUB_DB"
ZONE_ENV = "MEDPOS_HUB_ZONE"


def app_from_env() -> FastAPI:
    """A worker's app over the database `MEDPOS_HUB_DB` names (migrated by the serve command)."""
    engine = open_engine(os.environ[DB_ENV])
    return create_app(Hub(engine, zone=os.environ.get(ZONE_ENV, "Asia/Shanghai")))
