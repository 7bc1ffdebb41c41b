"""`medpos checkout` with traceability codes (trace-codes.md "Refusal codes"): the claim's lines
carry `trac` and `trdn_flag`; a refusal prints `{"error", "message", "line"}` and exits 2 when the
input is wrong, 4 when the sale is refused; nothing is written."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.conftest import HIGH_LIMITS
from tests.support.cli import in_process, lines

CODE = "81234567890123456789"


def _claim(claim_file: Path, tmp_path: Path, name: str, **line: object) -> Path:
    claim = json.loads(claim_file.read_text(encoding="utf-8"))
    claim["basket"].append({"code": "XJ01DB0006", "qty": "1", "price": "8.70", **line})
    path = tmp_path / name
    path.write_text(json.dumps(claim, ensure_ascii=False), encoding="utf-8")
    return path


def _sales(config: Path) -> int:
    with sqlite3.connect(config.parent / "var" / "medpos.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM txns").fetchone()[0])


def test_checkout_refusals_name_their_line_and_exit_by_kind(
    make_config: Callable[..., Path], claim_file: Path, tmp_path: Path
) -> None:
    config = make_config(risk=HIGH_LIMITS)
    good = _claim(claim_file, tmp_path, "good.json", trac=[CODE], trdn_flag="0")
    sold = in_process(config, "checkout", "--claim", str(good))
    assert sold.returncode == 0, sold.stderr
    with sqlite3.connect(config.parent / "var" / "medpos.db") as db:
        row = db.execute("SELECT trac, trdn_flag, trac_format FROM txn_lines WHERE line_no = 4")
        assert row.fetchone() == (f'["{CODE}"]', "0", '["nmpa20"]')

    again = in_process(config, "checkout", "--claim", str(good))
    assert again.returncode == 4
    [refusal] = lines(again.stdout)
    assert (refusal["error"], refusal["line"]) == ("trace_duplicate", 5)
    assert lines(sold.stdout)[0]["txn_id"] in refusal["message"]

    cases = {
        "bad_trace_format": (["not a code"], 2),
        "product_barcode_not_trace": (["6911500000060"], 2),
        "trace_missing": ([], 4),
    }
    for code, (trac, exit_code) in cases.items():
        claim = _claim(claim_file, tmp_path, f"{code}.json", trac=trac)
        out = in_process(config, "checkout", "--claim", str(claim))
        assert out.returncode == exit_code, (code, out.stderr)
        assert lines(out.stdout) == [
            {"error": code, "message": lines(out.stdout)[0]["message"], "line": 5}
        ]
    shape = in_process(
        config, "checkout", "--claim", str(_claim(claim_file, tmp_path, "s.json", trac="x"))
    )
    assert shape.returncode == 2 and "basket[4].trac" in shape.stderr
    assert _sales(config) == 1
