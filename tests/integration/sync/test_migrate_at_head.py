"""`migrate` on a database at the newest revision leaves alembic unimported (sync/hub/db.py):
the head it reads from the scripts is alembic's own, and a new or older database still migrates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sync.hub.db import MIGRATIONS, head_revision

ROOT = Path(__file__).resolve().parents[3]

MIGRATE = """
import sys
from sqlalchemy import text
from sync.hub.db import migrate, open_engine
engine = open_engine(sys.argv[1])
migrate(engine)
with engine.connect() as conn:
    version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
print(version, "alembic" in sys.modules)
"""


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None and head_revision() == head


def test_alembic_runs_only_for_a_database_below_the_head(tmp_path: Path) -> None:
    def migrate(db: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", MIGRATE, db], cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    head, db = head_revision(), str(tmp_path / "hub.db")
    assert migrate(db) == [head, "True"]  # a new database: alembic builds it
    assert migrate(db) == [head, "False"]  # at head: nothing to do, alembic not imported
    # a database made before the newest script migrates through alembic to the head
    older = str(tmp_path / "older.db")
    _upgrade(older, "0008_fleet")
    assert migrate(older) == [head, "True"]


def _upgrade(db: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from sync.hub.db import open_engine

    engine = open_engine(db)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()
