"""Signed trust lists and hotlists taken in by `medpos refdata import`, then used by checkout."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from sync.protocol.refdata import apply_delta, sign_refdata
from terminal.demo.ecard import demo_issuer_key
from terminal.identity.issuer import generate_issuer_key, trust_entry
from tests.conftest import HIGH_LIMITS
from tests.e2e.test_cli_ecard import demo_code
from tests.support.cli import as_process, in_process, lines

ROOT = ed25519.Ed25519PrivateKey.generate()
ROOT_B64 = base64.b64encode(
    ROOT.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
).decode()


@pytest.fixture
def terminal(make_config: Callable[..., Path], tmp_path: Path) -> Path:
    config = make_config(risk=HIGH_LIMITS, platform={"root_public_key": ROOT_B64})
    (tmp_path / "basket.json").write_text(json.dumps([{"code": "XJ01CA0001", "qty": "1"}]))
    assert in_process(config, "report", "day").returncode == 0  # first start: demo data
    return config


def write(tmp_path: Path, name: str, obj: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(obj, ensure_ascii=False))
    return str(path)


def refdata(kind: str, version: int, body: Any, base: int | None = None) -> dict[str, Any]:
    obj = {
        "kind": kind,
        "version": version,
        "base_version": base,
        "issued_at": int(time.time()),
        "body": body,
    }
    return sign_refdata(obj, ROOT)


def held(config: Path) -> dict[str, int]:
    done = in_process(config, "refdata", "status")
    return {row["kind"]: row["version"] for row in lines(done.stdout)}


def test_a_signed_trust_list_replaces_the_demo_one_and_checkout_follows_it(
    terminal: Path, tmp_path: Path
) -> None:
    basket = str(tmp_path / "basket.json")
    other = generate_issuer_key("EdDSA")
    now = int(time.time())
    body = {"version": 5, "issued_at": now, "keys": [trust_entry(other, "CN-330100", 0, 2**40)]}
    done = as_process(  # the installed command
        terminal, "refdata", "import", write(tmp_path, "tl.json", refdata("trustlist", 5, body))
    )
    assert done.returncode == 0, done.stdout
    assert lines(done.stdout)[0]["outcome"] == "stored"
    assert held(terminal)["trustlist"] == 5
    # the demo issuer is no longer trusted
    refused = in_process(terminal, "checkout", "--ecard", demo_code(terminal), "--basket", basket)
    assert refused.returncode == 4 and lines(refused.stdout)[0]["error"] == "kid_unknown"
    # the same version again confirms it; an older one is refused
    again = in_process(terminal, "refdata", "import", str(tmp_path / "tl.json"))
    assert lines(again.stdout)[0]["outcome"] == "confirmed"
    old = write(tmp_path, "old.json", refdata("trustlist", 4, body))
    done = in_process(terminal, "refdata", "import", old)
    assert done.returncode == 1 and "older" in lines(done.stdout)[0]["message"]


def test_a_wrongly_signed_or_malformed_object_keeps_the_held_version(
    terminal: Path, tmp_path: Path
) -> None:
    key = demo_issuer_key(terminal.parent / "var")
    body = {"version": 9, "issued_at": 0, "keys": [trust_entry(key, "CN-330100", 0, 2**40)]}
    forged = refdata("trustlist", 9, body)
    forged["version"] = 10  # changed after signing
    bad_body = refdata("trustlist", 11, {"version": 11, "keys": "none"})
    done = in_process(
        terminal,
        "refdata",
        "import",
        write(tmp_path, "forged.json", forged),
        write(tmp_path, "bad.json", bad_body),
    )
    assert done.returncode == 1
    first, second = lines(done.stdout)
    assert "signature is wrong" in first["message"]
    assert "malformed" in second["message"]
    assert held(terminal)["trustlist"] == 0
    ok = in_process(
        terminal,
        "checkout",
        "--ecard",
        demo_code(terminal),
        "--basket",
        str(tmp_path / "basket.json"),
    )
    assert ok.returncode == 0, ok.stdout


def test_a_hotlist_delta_applies_to_the_held_version_only(terminal: Path, tmp_path: Path) -> None:
    entry = {"kind": "psn_cert", "value": "330102197001011235", "reason": "deceased"}
    whole = refdata("hotlist", 3, {"version": 3, "issued_at": 0, "entries": [entry]})
    delta = refdata(
        "hotlist",
        4,
        {"added": [], "removed": [{"kind": "psn_cert", "value": entry["value"]}]},
        base=3,
    )
    skew = refdata("hotlist", 5, {"added": [entry], "removed": []}, base=2)
    done = in_process(
        terminal,
        "refdata",
        "import",
        write(tmp_path, "h3.json", whole),
        write(tmp_path, "h4.json", delta),
        write(tmp_path, "h5.json", skew),
    )
    out = lines(done.stdout)
    assert [o.get("version") for o in out[:2]] == [3, 4]
    assert "does not apply" in out[2]["message"] and done.returncode == 1
    assert held(terminal)["hotlist"] == 4


def test_no_root_key_is_a_clear_error(make_config: Callable[..., Path], tmp_path: Path) -> None:
    config = make_config()
    done = in_process(config, "refdata", "import", write(tmp_path, "x.json", {}))
    assert done.returncode == 2 and "root key" in done.stderr


def test_catalogue_deltas_replace_and_remove_items_by_code() -> None:
    held_items = [{"code": "A", "price": "1.00"}, {"code": "B", "price": "2.00"}]
    out = apply_delta(
        "catalogue", held_items, {"added": [{"code": "B", "price": "2.50"}], "removed": ["A"]}
    )
    assert out == [{"code": "B", "price": "2.50"}]
