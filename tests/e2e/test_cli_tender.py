"""`medpos checkout --tender METHOD=AMOUNT … --cash-given AMOUNT`, `medpos report x` and the
closure by payment method and cashier, from the outside (issue 13, "What a cashier's day needs")."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from tests.support.cli import in_process, lines


def _fen(yuan: str) -> int:
    whole, _, cents = yuan.partition(".")
    return int(whole) * 100 + int(cents or 0)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def test_a_split_sale_is_checked_to_the_fen_read_by_x_and_closed_by_method_and_cashier(
    make_config: Callable[..., Path], claim_file: Path, tmp_path: Path
) -> None:
    config = make_config(till={"opening_float": "100.00"})
    claim = json.loads(claim_file.read_text(encoding="utf-8"))
    # a person the terminal has not seen, with no personal account: they pay their part in cash
    claim["person"]["psn_cert"] = "110101199001010011"
    claim["accumulators"]["acct_balance"] = "0.00"
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(claim, ensure_ascii=False), encoding="utf-8")
    sale = ("checkout", "--claim", str(path), "--operator", "1001")

    wrong = in_process(config, *sale, "--tender", "cash=0.01")
    assert wrong.returncode == 2, wrong.stderr
    [refusal] = lines(wrong.stdout)
    found = re.search(r"the customer pays (\d+\.\d\d): add", refusal["message"])
    assert refusal["error"] == "bad_tender" and found, refusal
    due = _fen(found.group(1))
    assert due > 1000 and in_process(config, "ledger", "verify").stdout.startswith("ledger ok: 0")

    short = in_process(
        config,
        *sale,
        "--tender",
        "card=10.00",
        "--tender",
        f"cash={_yuan(due - 1000)}",
        "--cash-given",
        "0.01",
    )
    assert short.returncode == 2 and "the cash handed over (0.01) is less" in short.stderr

    done = in_process(
        config,
        *sale,
        "--tender",
        "card=10.00",
        "--tender",
        f"cash={_yuan(due - 1000)}",
        "--cash-given",
        _yuan(due),
    )
    assert done.returncode == 0, done.stderr
    [out] = lines(done.stdout)
    assert out["setlinfo"]["psn_cash_pay"] == _yuan(due)
    assert out["tender"] == {
        "parts": {"cash": _yuan(due - 1000), "bank_card": "10.00"},
        "given": _yuan(due),
        "change": "10.00",
    }
    plain = in_process(config, *sale)  # no --tender: all in cash, the line as before
    assert plain.returncode == 0 and "tender" not in lines(plain.stdout)[0]
    second_due = _fen(lines(plain.stdout)[0]["setlinfo"]["psn_cash_pay"])

    x = lines(in_process(config, "report", "x").stdout)[0]
    methods = x["breakdown"]["methods"]
    assert methods["bank_card"] == {"in": "10.00", "out": "0.00"}
    assert methods["cash"]["in"] == _yuan(due - 1000 + second_due)
    assert x["breakdown"]["operators"]["1001"]["sales"] == 2
    assert x["breakdown"]["drawer"]["expected"] == _yuan(10000 + due - 1000 + second_due)
    assert in_process(config, "ledger", "verify").returncode == 0  # the X report wrote nothing

    closed = in_process(config, "day", "close", "--operator", "2001")
    assert closed.returncode == 0, closed.stderr
    closure = lines(closed.stdout)[0]
    assert closure["breakdown"] == x["breakdown"] and closure["closure_no"] == x["closure_no"]
    day = lines(in_process(config, "report", "day").stdout)[0]
    assert day["closed"] and day["breakdown"] == x["breakdown"]
    verify = in_process(config, "ledger", "verify")
    assert verify.returncode == 0 and "1 closures" in verify.stdout
