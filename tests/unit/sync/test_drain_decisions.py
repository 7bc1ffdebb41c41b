"""The outbox drain's decisions (docs/sync.md "What happens to an answer"), over a real ledger
file and `httpx.MockTransport`: what is acknowledged, retried, parked, released and sent again."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.client.http import HttpPlatform
from terminal.bootstrap import open_terminal
from terminal.checkout.syncing import SyncService
from terminal.config import Config, load_config
from terminal.demo import demo_claim
from terminal.ledger import SqliteLedger
from tests.conftest import HIGH_LIMITS, write_config

SALES = 3
BASE_S, CAP_S = 10.0, 100.0
Handler = Callable[[httpx.Request], httpx.Response]


class _Middle(random.Random):
    """Jitter fixed at its middle (×1.0), so a retry time is exactly the backoff."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


@dataclass
class _Clock:
    at: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 2, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.at


@dataclass
class _Platform:
    """The platform as a `MockTransport` handler: answers each batch with `answer(batch)`."""

    answer: Callable[[list[dict[str, Any]]], httpx.Response]
    batches: list[list[str]] = field(default_factory=list)  # msgids sent, by batch
    during: Callable[[], None] | None = None  # run while the platform "works" on a batch

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/fsi/api/batch"
        messages = json.loads(request.content)["messages"]
        self.batches.append([m["msgid"] for m in messages])
        if self.during is not None:
            self.during()
        return self.answer(messages)


def _results(*setlinfos: dict[str, Any] | None, infcode: int = 0) -> httpx.Response:
    results = [
        {"infcode": infcode, "err_msg": "ledger mismatch" if infcode else None}
        | ({"output": {"setlinfo": s}} if s is not None else {})
        for s in setlinfos
    ]
    return httpx.Response(200, json={"results": results})


def _each(
    setlinfo: dict[str, Any] | None, infcode: int = 0
) -> Callable[[list[dict[str, Any]]], httpx.Response]:
    return lambda messages: _results(*[setlinfo] * len(messages), infcode=infcode)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    """A terminal with three sales in its outbox (batches of 2), made once for the module."""
    root = tmp_path_factory.mktemp("drain")
    platform = {"batch_size": 2, "retry_base_s": BASE_S, "retry_cap_s": CAP_S}
    config = load_config(
        write_config(root / "config.toml", {"risk": HIGH_LIMITS, "platform": platform}), env={}
    )
    service = open_terminal(config)
    try:
        claim = demo_claim("pharmacy", service.local_now().date())
        for _ in range(SALES):
            service.sell_claim(claim)
    finally:
        service.ledger.close()
    return config, config.db_path.parent


@dataclass
class _Terminal:
    ledger: SqliteLedger
    clock: _Clock
    connect: Callable[[Handler], SyncService]
    zone: Any  # the region's time zone, in which retry times are written

    def local(self, after_s: float) -> str:
        """The time `after_s` from now as the outbox writes it."""
        return (self.clock.at + timedelta(seconds=after_s)).astimezone(self.zone).isoformat()

    def outbox(self) -> list[dict[str, Any]]:
        rows = self.ledger.query(
            "SELECT txn_id, state, attempts, last_error, next_attempt_at FROM outbox ORDER BY seq"
        )
        return [dict(r) for r in rows]

    def acks(self) -> dict[str, str]:
        return {r["txn_id"]: r["status"] for r in self.ledger.query("SELECT * FROM acks")}


@pytest.fixture
def terminal(template: tuple[Config, Path], tmp_path: Path) -> Iterator[_Terminal]:
    """A copy of the template's ledger; `connect(handler)` a sync service over MockTransport."""
    config, data = template
    shutil.copytree(data, tmp_path / "var")
    ledger = SqliteLedger.open(tmp_path / "var" / "medpos.db", dev_no=config.terminal.dev_no)
    clock = _Clock()
    clients: list[httpx.Client] = []

    def connect(handler: Handler) -> SyncService:
        client = httpx.Client(
            base_url="http://platform.test", transport=httpx.MockTransport(handler)
        )
        clients.append(client)
        return SyncService(ledger, config, clock, HttpPlatform(client), rng=_Middle())

    try:
        yield _Terminal(ledger, clock, connect, config.tz)
    finally:
        for client in clients:
            client.close()
        ledger.close()


def test_final_answers_are_stored_as_acknowledgements_as_the_entries_leave_the_outbox(
    terminal: _Terminal, tmp_path: Path
) -> None:
    seen_in_flight: list[tuple[int, int]] = []

    def in_flight() -> None:  # the platform has the batch: nothing has left the outbox yet
        seen_in_flight.append((len(terminal.outbox()), len(terminal.acks())))

    answers = iter(["accepted", "adjusted", "rejected"])
    platform = _Platform(
        lambda messages: _results(*[{"status": next(answers)} for _ in messages]),
        during=in_flight,
    )
    report = terminal.connect(platform).drain()

    assert report.as_json() == {
        "sent": 3,
        "acked": {"accepted": 1, "adjusted": 1, "rejected": 1},
        "held": 0,
        "parked": 0,
    }
    assert [len(b) for b in platform.batches] == [2, 1]  # [platform] batch_size, in seq order
    assert seen_in_flight[0] == (3, 0)
    # durable: another connection sees every acknowledgement and an empty outbox
    other = SqliteLedger.open(terminal.ledger.path, dev_no=terminal.ledger.dev_no, signing=False)
    try:
        acks = {r["txn_id"]: r["status"] for r in other.query("SELECT * FROM acks")}
        left = other.query("SELECT COUNT(*) AS n FROM outbox")[0]["n"]
    finally:
        other.close()
    dev = terminal.ledger.dev_no
    assert acks == {f"{dev}-1": "accepted", f"{dev}-2": "adjusted", f"{dev}-3": "rejected"}
    assert left == 0
    assert terminal.connect(platform).drain().sent == 0  # nothing is sent twice


def test_an_envelope_the_platform_refuses_is_parked_with_its_reason_until_released(
    terminal: _Terminal,
) -> None:
    refusing = _Platform(_each(None, infcode=-1))
    report = terminal.connect(refusing).drain()

    assert (report.sent, report.parked, report.error) == (3, 3, None)
    assert [(e["state"], e["last_error"]) for e in terminal.outbox()] == [
        ("parked", "ledger mismatch")
    ] * 3
    terminal.clock.at += timedelta(days=1)
    assert terminal.connect(refusing).drain().sent == 0  # parked: never retried on its own

    with terminal.ledger.write() as unit:
        released = unit.release_parked(f"{terminal.ledger.dev_no}-2")
        unit.commit()
    accepting = _Platform(_each({"status": "accepted"}))
    report = terminal.connect(accepting).drain()

    assert released == 1
    assert (report.sent, report.acked) == (1, {"accepted": 1})
    assert [e["txn_id"] for e in terminal.outbox()] == [
        f"{terminal.ledger.dev_no}-1",
        f"{terminal.ledger.dev_no}-3",
    ]


def test_an_http_refusal_parks_the_whole_batch_and_stops_the_drain(terminal: _Terminal) -> None:
    platform = _Platform(lambda _: httpx.Response(400, json={"err_msg": "messages: bad"}))
    report = terminal.connect(platform).drain()

    assert len(platform.batches) == 1
    assert (report.sent, report.parked, report.error) == (2, 2, "HTTP 400: messages: bad")
    assert [e["state"] for e in terminal.outbox()] == ["parked", "parked", "pending"]


def _refuse_413(_: list[dict[str, Any]]) -> httpx.Response:
    return httpx.Response(413, json={"err_msg": "more than 500 messages"})


def _fail_500(_: list[dict[str, Any]]) -> httpx.Response:
    return httpx.Response(500, text="boom")


def _unreachable(_: list[dict[str, Any]]) -> httpx.Response:
    raise httpx.ConnectError("connection refused")


def _wrong_length(_: list[dict[str, Any]]) -> httpx.Response:
    return _results({"status": "accepted"})


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (_unreachable, "cannot reach the platform"),
        (_fail_500, "HTTP 500"),
        (_wrong_length, "a batch answer of the wrong length"),
        (_refuse_413, "HTTP 413: more than 500 messages"),  # retried: a batch is ≤ 500 anyway
    ],
)
def test_a_batch_without_answers_is_retried_after_a_backoff_and_never_parked(
    terminal: _Terminal, answer: Callable[[list[dict[str, Any]]], httpx.Response], error: str
) -> None:
    platform = _Platform(answer)
    report = terminal.connect(platform).drain()

    assert len(platform.batches) == 1  # a drain stops at the first batch without answers
    assert report.sent == 2 and report.parked == 0 and error in str(report.error)
    first, second, third = terminal.outbox()
    assert first["state"] == second["state"] == third["state"] == "pending"
    assert (first["attempts"], first["next_attempt_at"]) == (1, terminal.local(BASE_S))
    assert (second["attempts"], second["next_attempt_at"]) == (1, terminal.local(BASE_S))
    assert error in first["last_error"]
    assert (third["attempts"], third["next_attempt_at"]) == (0, None)
    assert error in str(terminal.ledger.get_meta("last_sync_error"))

    terminal.clock.at += timedelta(seconds=BASE_S - 1)
    sync = terminal.connect(platform)
    sync.drain_once()
    assert len(platform.batches[1]) == 1  # the first two are not due yet: the third alone
    terminal.clock.at += timedelta(seconds=1)
    sync.drain_once()
    assert platform.batches[2] != platform.batches[0]  # a new msgid for each send
    assert len(platform.batches) == 3 and len(platform.batches[2]) == 2  # due again


def test_held_answers_wait_with_a_growing_backoff_then_are_acknowledged(
    terminal: _Terminal,
) -> None:
    held = _Platform(_each({"status": "held"}))
    sync = terminal.connect(held)
    report = sync.drain()

    assert (report.sent, report.held, report.error) == (2, 2, None)
    assert len(held.batches) == 1  # every entry held: what follows would be held too
    assert [e["attempts"] for e in terminal.outbox()] == [1, 1, 0]
    assert terminal.outbox()[0]["last_error"] == "held: waiting for the platform"
    assert terminal.ledger.get_meta("last_sync_error") == ""  # the platform answered

    terminal.clock.at += timedelta(seconds=BASE_S)
    sync.drain()
    first = terminal.outbox()[0]
    assert (first["attempts"], first["next_attempt_at"]) == (2, terminal.local(2 * BASE_S))

    terminal.clock.at += timedelta(seconds=2 * BASE_S)
    report = terminal.connect(_Platform(_each({"status": "accepted"}))).drain()
    assert report.acked == {"accepted": 3} and terminal.outbox() == []


def test_an_answer_without_a_final_status_is_retried_like_held(terminal: _Terminal) -> None:
    report = terminal.connect(_Platform(_each(None))).drain()

    assert (report.held, report.parked) == (2, 0)
    assert terminal.outbox()[0]["last_error"] == "no status: waiting for the platform"


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(0, BASE_S), (1, 2 * BASE_S), (3, 8 * BASE_S), (4, CAP_S), (40, CAP_S)],
)
def test_the_backoff_doubles_per_attempt_up_to_the_cap(
    terminal: _Terminal, attempts: int, seconds: float
) -> None:
    outbox = terminal.connect(_Platform(_each(None))).outbox

    assert outbox.backoff(attempts) == timedelta(seconds=seconds)


def test_the_jitter_spreads_a_retry_between_half_and_one_and_a_half_times_the_backoff(
    template: tuple[Config, Path], terminal: _Terminal
) -> None:
    config, _ = template
    transport = HttpPlatform(httpx.Client(transport=httpx.MockTransport(_Platform(_each(None)))))
    sync = SyncService(terminal.ledger, config, terminal.clock, transport, rng=random.Random(7))
    delays = [sync.outbox.backoff(2).total_seconds() for _ in range(200)]

    assert 0.5 * 4 * BASE_S <= min(delays) < max(delays) <= 1.5 * 4 * BASE_S


def _answer_1101(handler: Callable[[dict[str, Any]], httpx.Response]) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/fsi/api/call"
        return handler(json.loads(request.content) | {"timeout": request.extensions["timeout"]})

    return answer


def test_the_pre_settlement_fetch_waits_the_bound_it_is_given(terminal: _Terminal) -> None:
    asked: list[dict[str, Any]] = []

    def answer(envelope: dict[str, Any]) -> httpx.Response:
        asked.append(envelope)
        output = {"person": {"psn_cert": "X"}, "accumulators": {"year": 2026}}
        return httpx.Response(200, json={"infcode": 0, "output": output})

    found = terminal.connect(_answer_1101(answer)).fetch_person("X", 1.5)

    assert found == {"person": {"psn_cert": "X"}, "accumulators": {"year": 2026}}
    assert asked[0]["infno"] == "1101" and asked[0]["input"] == {"psn_cert": "X"}
    assert asked[0]["timeout"] == {"connect": 1.5, "read": 1.5, "write": 1.5, "pool": 1.5}


def _timeout(envelope: dict[str, Any]) -> httpx.Response:
    raise httpx.ReadTimeout("no answer")


def _refused(envelope: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"infcode": -1, "err_msg": "unknown person"})


def _no_accumulators(envelope: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"infcode": 0, "output": {"person": {}}})


@pytest.mark.parametrize("answer", [_timeout, _refused, _no_accumulators, _fail_500])
def test_a_pre_settlement_fetch_without_a_usable_answer_means_offline(
    terminal: _Terminal, answer: Callable[[Any], httpx.Response]
) -> None:
    assert terminal.connect(_answer_1101(answer)).fetch_person("X", 1.5) is None


def _with_head(seq: int, digest: str) -> Callable[[list[dict[str, Any]]], httpx.Response]:
    """Every message accepted, each answer carrying the platform's chain head."""

    def answer(messages: list[dict[str, Any]]) -> httpx.Response:
        output = {"setlinfo": {"status": "accepted"}, "chain_head": {"seq": seq, "hash": digest}}
        return httpx.Response(
            200, json={"results": [{"infcode": 0, "output": output}] * len(messages)}
        )

    return answer


def test_the_platforms_chain_head_is_kept_and_one_ahead_is_a_rollback(terminal: _Terminal) -> None:
    from terminal.checkout.syncing import sync_status
    from terminal.ledger import rollback_state

    seq, digest = terminal.ledger.head()
    terminal.connect(_Platform(_with_head(seq, digest))).drain()
    assert json.loads(terminal.ledger.get_meta("platform_head") or "") == {
        "seq": seq,
        "hash": digest,
    }
    assert rollback_state(terminal.ledger) is None

    # the platform holds two entries more than this ledger: it was restored from an older copy
    sync = terminal.connect(_Platform(_with_head(seq + 2, "ab" * 32)))
    with terminal.ledger.write() as unit:
        unit.set_platform_head({"seq": seq + 2, "hash": "ab" * 32})
        unit.set_platform_head({"seq": seq, "hash": digest})  # an older answer does not go back
        unit.commit()
    status = sync_status(sync)
    assert status["rolled_back"] == {
        "local": {"seq": seq, "hash": digest},
        "platform": {"seq": seq + 2, "hash": "ab" * 32},
    }


def test_a_platform_head_with_another_hash_at_a_local_seq_is_a_rollback(
    terminal: _Terminal,
) -> None:
    from terminal.ledger import rollback_state

    with terminal.ledger.write() as unit:
        unit.set_platform_head({"seq": 1, "hash": "cd" * 32})
        unit.commit()
    rolled = rollback_state(terminal.ledger)
    assert rolled is not None and rolled["platform"] == {"seq": 1, "hash": "cd" * 32}
