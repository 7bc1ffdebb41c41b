"""Fixtures the e2e tests share."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from terminal.demo import demo_claim


@pytest.fixture
def claim_file(tmp_path: Path) -> Path:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(demo_claim("pharmacy", today), ensure_ascii=False), encoding="utf-8")
    return path
