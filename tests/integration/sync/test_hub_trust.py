"""The platform believes only what it checks (platform-api.md "Trust rules", "Transport"): each
test is an attack on a real hub process on loopback, on SQLite and on PostgreSQL, as a terminal
(or anyone on the network) could make it.

- a sale describing a resident as a retired civil servant, with the split that description earns;
- a sale back-dated to before a hotlist entry (and before the device existed);
- another institution's device reversing a sale;
- a line priced above the catalogue;
- reference data (every insured person's ID number, flags and balance) asked without a device;
- a 9 MiB body, JSON 33 levels deep, a 40-digit number;
- one poisoned message in a batch.

The attacks that act as devices of their own share one hub per backend (`shared_platform`); the
two that publish reference data (a hotlist, an assigned persons list) get a fresh one each.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.integration.sync.conftest import FakeTerminal, Platform

ZONE = ZoneInfo("Asia/Shanghai")  # the platform's region (the hub's default zone)
RESIDENT = "330108197002142841"  # demo person 6: insutype 390, psn_type 21, no flags
OTHER_INSTITUTION = "P33010000099"


class Institution:
    """The platform as seen by an institution's devices: their enrolment codes name it."""

    def __init__(self, platform: Platform, fixmedins_code: str) -> None:
        self.platform, self.url, self.fixmedins_code = platform, platform.url, fixmedins_code

    def enrol_code(self, dev_no: str) -> str:
        done = self.platform.admin(
            "enrol-code", "--dev-no", dev_no, "--fixmedins-code", self.fixmedins_code
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


def status(answer: dict[str, Any]) -> tuple[str, str | None]:
    setlinfo = answer["output"]["setlinfo"]
    return setlinfo["status"], setlinfo.get("reason")


def priced(demo_dir: Path, sale: dict[str, Any], claim: dict[str, Any]) -> dict[str, Any]:
    """`sale` with `claim`, and the result the settlement engine gives that claim: exactly what
    a terminal that believes the claim would upload."""
    from terminal.settlement import parse_catalogue, parse_claim, parse_policy, result_to_json
    from terminal.settlement import settle as settle_claim

    policy = parse_policy((demo_dir / "policy.toml").read_text(), "policy")
    catalogue = parse_catalogue(json.loads((demo_dir / "catalogue.json").read_text()), "cat")
    result = result_to_json(settle_claim(policy, catalogue, parse_claim(claim, "claim")))
    return {**sale, "claim": claim, "result": result}


def local(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")


# -- person attributes are the platform's ----------------------------------------------------


def test_a_resident_sent_as_a_retired_civil_servant_is_adjusted(
    shared_platform: Platform, sale_input: dict[str, Any], demo_dir: Path
) -> None:
    fake = FakeTerminal(shared_platform, "H33010000003D0001", sale_input)
    [held] = fake.post(fake.envelope("1101", {"psn_cert": RESIDENT}))
    person = held["output"]["person"]
    assert (person["insutype"], person["psn_type"], person["flags"]) == ("390", "21", [])
    forged = {**person, "insutype": "310", "psn_type": "12", "flags": ["civil-servant"]}
    claim = {
        **sale_input["claim"],
        "person": forged,
        "accumulators": held["output"]["accumulators"],
    }
    sale = priced(demo_dir, sale_input, claim)
    assert sale["result"]["setlinfo"]["cvlserv_pay"] != "0.00"  # what the forgery is after
    fake.sale = sale
    [answer] = fake.post(fake.envelope("2102", fake.upload()))
    assert status(answer) == ("adjusted", None), answer
    ours = answer["output"]["setlinfo"]["result"]["setlinfo"]
    truth = priced(demo_dir, sale_input, {**claim, "person": person})["result"]["setlinfo"]
    assert ours["fund_pay_sumamt"] == truth["fund_pay_sumamt"]
    assert ours["cvlserv_pay"] == "0.00" and ours["acct_pay"] == truth["acct_pay"]
    # the person record is the platform's still, not the claim's
    assert shared_platform.scalars(f"SELECT person FROM persons WHERE psn_cert = '{RESIDENT}'")[
        0
    ] == (json.dumps(person, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


# -- time runs forward along a chain ---------------------------------------------------------


def test_a_back_dated_sale_to_a_hotlisted_person_is_bad_time(
    platform: Platform, sale_input: dict[str, Any], tmp_path: Path
) -> None:
    fake = FakeTerminal(platform, "H33010000003D0002", sale_input)
    psn_cert = sale_input["claim"]["person"]["psn_cert"]
    hotlist = {"entries": [{"kind": "psn_cert", "value": psn_cert, "reason": "stolen card"}]}
    (tmp_path / "hotlist.json").write_text(json.dumps(hotlist))
    assert platform.admin("publish", "--hotlist", str(tmp_path / "hotlist.json")).returncode == 0
    now = datetime.now(ZONE)

    def dated(moment: datetime) -> dict[str, Any]:
        fake.sale = {**sale_input, "settled_at": local(moment)}
        return fake.envelope("2102", fake.upload())

    answers = fake.post(
        dated(now - timedelta(days=2)),  # before the hotlist, and before the device existed
        dated(now + timedelta(seconds=60)),  # (the chain goes on past it)
        dated(now - timedelta(seconds=30)),  # earlier than the entry before it
        dated(now + timedelta(hours=1)),  # later than its envelope's inf_time + 300 s
    )
    assert [status(a) for a in answers] == [
        ("rejected", "bad_time"),
        ("rejected", "hotlisted"),
        ("rejected", "bad_time"),
        ("rejected", "bad_time"),
    ]
    assert platform.scalars(
        "SELECT COUNT(*) FROM entries WHERE dev_no = 'H33010000003D0002' AND reason = 'bad_time'"
    ) == (3,)


# -- only the institution reverses its sales -------------------------------------------------


def test_another_institutions_device_cannot_reverse_a_sale_and_the_owner_still_can(
    shared_platform: Platform, sale_input: dict[str, Any]
) -> None:
    seller = FakeTerminal(shared_platform, "H33010000003D0003", sale_input)
    stranger = FakeTerminal(
        Institution(shared_platform, OTHER_INSTITUTION),  # type: ignore[arg-type]
        "H33010000099D0001",
        sale_input,
    )
    sale = seller.upload()
    [sold] = seller.post(seller.envelope("2102", sale))
    assert status(sold)[0] in ("accepted", "adjusted")
    [foreign] = stranger.post(stranger.envelope("2103", stranger.reversal(sale["txn_id"])))
    assert status(foreign) == ("rejected", "not_reversible")
    [own] = seller.post(seller.envelope("2103", seller.reversal(sale["txn_id"])))
    assert status(own) == ("accepted", None)


# -- prices are the catalogue's --------------------------------------------------------------


def test_a_line_priced_above_the_catalogue_is_rejected(
    shared_platform: Platform, sale_input: dict[str, Any], demo_dir: Path
) -> None:
    fake = FakeTerminal(shared_platform, "H33010000003D0004", sale_input)
    catalogue = {i["code"]: i for i in json.loads((demo_dir / "catalogue.json").read_text())}
    claim = json.loads(json.dumps(sale_input["claim"]))
    line = claim["basket"][0]
    assert line["price"] == catalogue[line["code"]]["price"]
    line["price"] = "96.00"  # ten times the catalogue's, settled consistently by the terminal
    fake.sale = priced(demo_dir, sale_input, claim)
    at_price = FakeTerminal(shared_platform, "H33010000003D0005", sale_input)
    answers = [
        fake.post(fake.envelope("2102", fake.upload()))[0],
        at_price.post(at_price.envelope("2102", at_price.upload()))[0],
    ]
    assert status(answers[0]) == ("rejected", "price_above_catalogue")
    assert status(answers[1])[0] in ("accepted", "adjusted")


# -- reference data only for enrolled devices, persons only those each needs -----------------


def refdata(
    platform: Platform,
    kind: str,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return httpx.get(f"{platform.url}/fsi/api/refdata/{kind}", headers=headers or {}, timeout=30)


def signed(fake: FakeTerminal, kind: str, *, at: float | None = None) -> dict[str, str]:
    from sync.protocol.refdata import refdata_request_headers

    moment = int(time.time() if at is None else at)
    return refdata_request_headers(fake.dev_no, kind, None, moment, fake._sign)


def test_reference_data_needs_a_devices_signed_headers_and_persons_are_only_its_own(
    platform: Platform, sale_input: dict[str, Any], demo_dir: Path, tmp_path: Path
) -> None:
    here = FakeTerminal(platform, "H33010000003D0006", sale_input)
    there = FakeTerminal(
        Institution(platform, OTHER_INSTITUTION),  # type: ignore[arg-type]
        "H33010000099D0002",
        sale_input,
    )
    good = signed(here, "persons")
    assert refdata(platform, "persons").status_code == 401
    assert refdata(platform, "catalogue").status_code == 401
    another_key = {**good, "X-Dev-Sig": signed(there, "persons")["X-Dev-Sig"]}
    assert refdata(platform, "persons", another_key).status_code == 401
    not_enrolled = {**good, "X-Dev-No": "H33010000003D9999"}
    assert refdata(platform, "persons", not_enrolled).status_code == 401
    assert refdata(platform, "catalogue", good).status_code == 401  # signed for another kind
    stale = signed(here, "persons", at=time.time() - 400)
    assert refdata(platform, "persons", stale).status_code == 401
    garbled = {**good, "X-Dev-Sig": base64.b64encode(b"x" * 64).decode()}
    assert refdata(platform, "persons", garbled).status_code == 401
    assert refdata(platform, "catalogue", signed(here, "catalogue")).status_code == 200

    def persons(fake: FakeTerminal) -> list[str]:
        reply = refdata(platform, "persons", signed(fake, "persons"))
        assert reply.status_code == 200, reply.text
        from sync.protocol.refdata import load_root_public_key, verify_refdata

        obj = verify_refdata(reply.json(), load_root_public_key(platform.root), "persons")
        return sorted(entry["person"]["psn_cert"] for entry in obj["body"])

    published = json.loads((demo_dir / "persons.json").read_text())
    assert len(published) > 10
    assert persons(here) == persons(there) == []  # nobody has settled anywhere yet
    [sold] = here.post(here.envelope("2102", here.upload()))
    assert status(sold)[0] in ("accepted", "adjusted")
    buyer = sale_input["claim"]["person"]["psn_cert"]
    assert persons(here) == [buyer]  # settled at its institution, of its region
    assert persons(there) == []
    # the publisher assigns a field team's list to the other device
    village = [p for p in published if p["person"]["psn_cert"] in (RESIDENT, buyer)]
    (tmp_path / "village.json").write_text(json.dumps(village))
    done = platform.admin(
        "publish", "--persons", str(tmp_path / "village.json"), "--assign", there.dev_no
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["assigned"] == {there.dev_no: 2}
    assert persons(there) == sorted([RESIDENT, buyer])
    assert persons(here) == [buyer]  # (the new file holds the buyer still)


# -- limits ------------------------------------------------------------------------------------


def _raw_post(platform: Platform, head: bytes, body_part: bytes) -> bytes:
    """Send `head` and the start of a body that is never finished; the hub's answer. The hub may
    answer and close while the body is still coming: the connection is then reset under the
    sender, and the answer already received is read all the same."""
    port = int(platform.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(head + body_part)
        except (ConnectionResetError, BrokenPipeError):
            pass  # refused before the body was all sent: what the test wants to see
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_body_over_8_mib_is_refused_before_it_is_read(shared_platform: Platform) -> None:
    # a 9 MiB body declared, 64 KiB of it sent: the hub answers without waiting for the rest
    declared = (
        b"POST /fsi/api/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (9 * 1024 * 1024)
    )
    assert _raw_post(shared_platform, declared, b"[" * 65536).startswith(b"HTTP/1.1 413")
    # no length declared: refused once 8 MiB have come, the end of the body never sent
    chunked = (
        b"POST /fsi/api/call HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    piece = b" " * (1024 * 1024)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(9))
    assert _raw_post(shared_platform, chunked, chunks).startswith(b"HTTP/1.1 413")
    # a body under the limit is read as before
    assert (
        httpx.post(shared_platform.url + "/fsi/api/call", content=b"{not json").status_code == 400
    )


def test_deep_json_and_long_numbers_are_refused_with_400(
    shared_platform: Platform, sale_input: dict[str, Any]
) -> None:
    fake = FakeTerminal(shared_platform, "H33010000003D0007", sale_input)
    ok = fake.envelope("9001", {"opter": "c01", "opter_name": "王"})
    deep: Any = "x"
    for _ in range(32):
        deep = [deep]  # 32 arrays inside `input`: 34 levels with the envelope and `input`
    for body in (
        {**ok, "input": {"opter": "c01", "deep": deep}},
        {**ok, "input": {"opter": "c01", "n": 10**39}},  # 40 digits
        {"messages": [ok, {**ok, "input": {"n": 10**39}}]},
    ):
        path = "/fsi/api/batch" if "messages" in body else "/fsi/api/call"
        reply = httpx.post(shared_platform.url + path, json=body, timeout=30)
        assert reply.status_code == 400, reply.text
        assert reply.json()["infcode"] == -1
    hostile = b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    reply = httpx.post(shared_platform.url + "/fsi/api/batch", content=hostile, timeout=30)
    assert reply.status_code == 400 and "32 levels" in reply.json()["err_msg"]
    # 30 digits and 32 levels are within the limits: answered as messages
    [answer] = fake.post({**ok, "input": {"opter": "c01", "n": 10**29}})
    assert answer["err_msg"].startswith("bad_signature")  # (the input was changed after signing)


def test_one_poisoned_message_is_answered_for_itself_and_the_batch_goes_on(
    shared_platform: Platform, sale_input: dict[str, Any]
) -> None:
    fake = FakeTerminal(shared_platform, "H33010000003D0008", sale_input)
    first = fake.envelope("2102", fake.upload())
    poisoned = json.loads(json.dumps(sale_input))
    poisoned["claim"]["basket"][0]["qty"] = "1" + "0" * 39  # a 40-digit quantity, as a string
    fake.sale = poisoned
    bad = fake.envelope("2102", fake.upload())
    fake.sale = sale_input
    last = fake.envelope("2102", fake.upload())
    answers = fake.post(first, bad, last)
    assert [a["infcode"] for a in answers] == [0, 0, 0]
    assert status(answers[1]) == ("rejected", "bad_claim")
    assert status(answers[0])[0] in ("accepted", "adjusted")
    assert status(answers[2])[0] in ("accepted", "adjusted")  # chained past the poisoned one
    stored = shared_platform.scalars(
        "SELECT COUNT(*) FROM entries WHERE dev_no = 'H33010000003D0008'"
    )
    assert stored == (3,)
