"""`migrate` on a database at the newest revision does not ask alembic (sync/hub/db.py): the head
it reads from the scripts is alembic's own, and a new or older database still migrates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from sync.hub.db import MIGRATIONS, head_revision, migrate, open_engine


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None and head_revision() == head


def test_alembic_is_asked_only_for_a_database_below_the_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    upgrade = command.upgrade

    def counted(config: Config, revision: str, **options: Any) -> None:
        asked.append(revision)
        upgrade(config, revision, **options)

    monkeypatch.setattr(command, "upgrade", counted)

    def version(engine: Any) -> str:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())

    head = head_revision()
    engine = open_engine(str(tmp_path / "hub.db"))
    older = open_engine(str(tmp_path / "older.db"))
    try:
        migrate(engine)  # a new database: alembic builds it
        assert (asked, version(engine)) == (["head"], head)
        migrate(engine)  # at head: nothing to do
        assert asked == ["head"]
        # a database made before the newest script migrates through alembic to the head
        config = _config()
        with older.begin() as conn:
            config.attributes["connection"] = conn
            upgrade(config, "0008_fleet")
        migrate(older)
        assert (asked, version(older)) == (["head", "head"], head)
    finally:
        engine.dispose()
        older.dispose()
