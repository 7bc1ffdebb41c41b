"""`medpos checkout --claim C.json --self-pay` from the outside: the claim's basket sold without
insurance (自费), one JSON line, nothing in the sales chain, in the day's report and closure; and
`medpos refund <dev_no>-S<n>`, its refund."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.support.cli import as_process, in_process, lines


def _count(config: Path, table: str) -> int:
    db = sqlite3.connect(config.parent / "var" / "medpos.db")
    try:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608
    finally:
        db.close()


def test_a_self_pay_sale_prints_one_line_and_stays_out_of_the_chain(
    make_config: Callable[..., Path], claim_file: Path, tmp_path: Path
) -> None:
    config = make_config()
    claim = json.loads(claim_file.read_text(encoding="utf-8"))
    claim["basket"].append({"code": "X-OWN-BRAND", "qty": "3", "price": "0.335"})
    del claim["person"]  # the person is not needed (and not used) for a self-pay sale
    path = tmp_path / "self-pay.json"
    path.write_text(json.dumps(claim, ensure_ascii=False), encoding="utf-8")
    done = as_process(  # the installed command
        config, "checkout", "--claim", str(path), "--self-pay", "--payment-method", "mobile"
    )
    assert done.returncode == 0, done.stderr
    [out] = lines(done.stdout)
    assert set(out) == {"self_pay_id", "total", "lines"}
    assert out["self_pay_id"].endswith("-S1")
    assert len(out["lines"]) == len(claim["basket"])
    assert out["lines"][-1] == {
        "code": "X-OWN-BRAND",
        "name": None,
        "qty": "3",
        "price": "0.335",
        "amount": "1.01",
    }
    fen = sum(int(line["amount"].replace(".", "")) for line in out["lines"])
    assert out["total"] == f"{fen // 100}.{fen % 100:02d}"
    assert _count(config, "txns") == 0 and _count(config, "outbox") == 0
    verify = in_process(config, "ledger", "verify")
    assert verify.returncode == 0 and "0 entries" in verify.stdout
    live = lines(in_process(config, "report", "day").stdout)[0]
    assert (live["sale_count"], live["self_pay_count"]) == (0, 1)
    assert live["self_pay_total"] == out["total"]
    closed = in_process(config, "day", "close", "--operator", "2001")
    assert closed.returncode == 0, closed.stderr
    closure = lines(closed.stdout)[0]
    assert (closure["self_pay_count"], closure["self_pay_total"]) == (1, out["total"])
    assert in_process(config, "ledger", "verify").returncode == 0


def test_the_same_basket_id_makes_one_sale(
    make_config: Callable[..., Path],
    claim_file: Path,
) -> None:
    config = make_config()
    args = ("checkout", "--claim", str(claim_file), "--self-pay", "--basket-id", "his-0001")
    first = in_process(config, *args)
    again = in_process(config, *args, "--payment-method", "bank_card")
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert lines(first.stdout) == lines(again.stdout)
    assert _count(config, "self_pay_sales") == 1
    two = in_process(config, "checkout", "--claim", str(claim_file), "--self-pay", "--repeat", "2")
    assert [o["self_pay_id"][-3:] for o in lines(two.stdout)] == ["-S2", "-S3"]


def test_bad_input_exits_2_and_writes_nothing(
    make_config: Callable[..., Path],
    claim_file: Path,
    tmp_path: Path,
) -> None:
    config = make_config()
    claim = json.loads(claim_file.read_text(encoding="utf-8"))
    claim["basket"] = [{"code": "X-OWN-BRAND", "qty": "1"}]  # not in the catalogue, no price
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(claim), encoding="utf-8")
    done = in_process(config, "checkout", "--claim", str(bad), "--self-pay")
    assert done.returncode == 2
    assert lines(done.stdout)[0]["error"] == "bad_basket"
    assert f"{bad}: [0].price" in done.stderr and "enter the selling price" in done.stderr
    claim["basket"] = [{"code": "X-OWN-BRAND", "qty": "-1", "price": "1.00"}]
    bad.write_text(json.dumps(claim), encoding="utf-8")
    done = in_process(config, "checkout", "--claim", str(bad), "--self-pay")
    assert done.returncode == 2 and f"{bad}: basket[0].qty" in done.stderr
    done = in_process(
        config, "checkout", "--claim", str(claim_file), "--self-pay", "--basket-id", "a b"
    )
    assert done.returncode == 2 and "basket id" in done.stderr
    no_claim = in_process(config, "checkout", "--card", "--basket", str(bad), "--self-pay")
    assert no_claim.returncode == 2 and "--claim" in no_claim.stderr
    assert _count(config, "self_pay_sales") == 0


def test_medpos_refund_of_a_self_pay_id_refunds_it_once(
    make_config: Callable[..., Path], claim_file: Path
) -> None:
    config = make_config()
    sold = in_process(config, "checkout", "--claim", str(claim_file), "--self-pay", "--repeat", "2")
    assert sold.returncode == 0, sold.stderr
    one, two = lines(sold.stdout)
    refund = in_process(
        config, "refund", one["self_pay_id"], "--reason", "退货", "--operator", "2001"
    )
    assert refund.returncode == 0, refund.stderr
    [out] = lines(refund.stdout)
    assert set(out) == {"self_pay_id", "orig_self_pay_id", "total", "lines"}
    assert out["self_pay_id"].endswith("-S3") and out["orig_self_pay_id"] == one["self_pay_id"]
    assert out["total"] == "-" + one["total"]
    assert [line["amount"] for line in out["lines"]] == [
        "-" + line["amount"] for line in one["lines"]
    ]
    again = in_process(config, "refund", one["self_pay_id"], "--reason", "x", "--operator", "2001")
    assert again.returncode == 1 and "already refunded" in again.stderr
    assert lines(again.stdout)[0]["error"] == "refund_refused"
    of_refund = in_process(
        config, "refund", out["self_pay_id"], "--reason", "x", "--operator", "2001"
    )
    assert of_refund.returncode == 1 and "cannot be refunded" in of_refund.stderr
    unknown = in_process(config, "refund", "NOPE-S9", "--reason", "x", "--operator", "2001")
    assert unknown.returncode == 1 and "no self-pay sale NOPE-S9" in unknown.stderr
    assert _count(config, "self_pay_sales") == 3 and _count(config, "txns") == 0
    live = lines(in_process(config, "report", "day").stdout)[0]
    assert (live["self_pay_count"], live["self_pay_total"]) == (1, two["total"])
    closed = in_process(config, "day", "close", "--operator", "2001")
    assert closed.returncode == 0, closed.stderr
    closure = lines(closed.stdout)[0]
    assert (closure["self_pay_count"], closure["self_pay_total"]) == (1, two["total"])
    assert closure["self_pay_last_id"] == 3
    assert in_process(config, "ledger", "verify").returncode == 0
