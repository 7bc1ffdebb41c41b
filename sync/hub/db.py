"""The platform's database: an engine for a URL (SQLite file or PostgreSQL) and its migrations.

`open_engine("sqlite:///var/hub.db")` or `open_engine("postgresql+psycopg://…")`; a bare path is
taken as a SQLite file. SQLite runs in WAL mode with `synchronous=FULL` and a busy timeout, and
every transaction begins IMMEDIATE (one writer at a time, no upgrade deadlocks between the hub's
processes); PostgreSQL serialises a device's entries with a row lock on the device.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

__all__ = ["migrate", "open_engine"]

MIGRATIONS = Path(__file__).parent / "migrations"


def open_engine(url: str) -> Engine:
    """The engine for `url`, created (and the SQLite file's directory too) when needed."""
    if "://" not in url:
        url = f"sqlite:///{Path(url).resolve()}"
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # SQLAlchemy's BEGIN below, not the driver's
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # as many connections as the server's worker threads (Starlette's pool: 40), so a request
    # never waits for a connection while others wait for a row lock
    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=30, pool_timeout=300)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
