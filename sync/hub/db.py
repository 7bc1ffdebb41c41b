"""The platform's database: an engine for a URL (SQLite file or PostgreSQL) and its migrations.

`open_engine("sqlite:///var/hub.db")` or `open_engine("postgresql+psycopg://…")`; a bare path is
taken as a SQLite file. SQLite runs in WAL mode with `synchronous=FULL` and a busy timeout, and
every transaction begins IMMEDIATE (one writer at a time, no upgrade deadlocks between the hub's
processes); PostgreSQL serialises a device's entries with a row lock on the device.

`migrate` asks alembic only when the database is not at the newest revision already: alembic and
what it imports (Mako, Pygments) are some 0.1 s of every hub command's start, and a database at
head is what every start after the first finds.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

__all__ = ["head_revision", "migrate", "open_engine"]

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
    if _at_head(engine):
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@functools.cache
def head_revision() -> str | None:
    """The newest migration's revision, read from the `revision` and `down_revision` of the
    scripts in migrations/versions; None unless they form one line (alembic then decides)."""
    down_of: dict[str, object] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            else:
                continue
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                found[target.id] = ast.literal_eval(value)
        if isinstance(found.get("revision"), str):
            down_of[str(found["revision"])] = found.get("down_revision")
    downs = list(down_of.values())
    heads = [revision for revision in down_of if revision not in downs]
    if len(heads) != 1 or not all(d is None or isinstance(d, str) for d in downs):
        return None
    return heads[0]


def _at_head(engine: Engine) -> bool:
    """True when the database records the newest migration as its one revision."""
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:  # no alembic_version yet: a new database
        return False
    return rows == [head]
