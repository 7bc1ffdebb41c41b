"""`medpos checkout --claim C.json --basket-id ID`: the insurance sale's idempotency key, as for
self-pay: a retry after a lost answer (a killed command) prints the first sale and sells nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.conftest import HIGH_LIMITS
from tests.support.cli import in_process, lines


def _sales(config: Path) -> int:
    with sqlite3.connect(config.parent / "var" / "medpos.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM txns").fetchone()[0])


def test_the_same_basket_id_is_one_insurance_sale(
    make_config: Callable[..., Path], claim_file: Path
) -> None:
    config = make_config(risk=HIGH_LIMITS)
    args = ("checkout", "--claim", str(claim_file), "--basket-id", "his-0001")
    first = in_process(config, *args)
    again = in_process(config, *args)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert lines(first.stdout) == lines(again.stdout) and lines(first.stdout)[0]["seq"] == 1
    assert _sales(config) == 1
    # --repeat N: ID-1 … ID-N; the same command again reports them and sells nothing more
    repeat = (*args[:3], "--basket-id", "his-0002", "--repeat", "2")
    two = in_process(config, *repeat)
    assert [o["seq"] for o in lines(two.stdout)] == [2, 3]
    assert lines(in_process(config, *repeat).stdout) == lines(two.stdout)
    assert _sales(config) == 3
    bad = in_process(config, *args[:3], "--basket-id", "a b")
    assert bad.returncode == 2 and "basket_id" in bad.stderr and _sales(config) == 3
