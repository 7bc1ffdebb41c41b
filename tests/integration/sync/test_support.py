"""The test support itself: the fault proxy as a real process, and a real PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.support.postgres import start_postgres
from tests.support.proxy import FaultProxy, start_fault_proxy


class EchoUpstream:
    """A tiny platform stand-in: counts what it receives and echoes the JSON body back."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request_id = json.loads(body)["id"]
                with upstream.lock:
                    upstream.seen[request_id] += 1
                payload = json.dumps({"echo": json.loads(body)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.seen.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def upstream() -> Iterator[EchoUpstream]:
    server = EchoUpstream()
    server.thread.start()
    yield server
    server.close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as http:
        yield http


def _call(http: httpx.Client, proxy: FaultProxy, request_id: str) -> httpx.Response:
    return http.post(f"{proxy.url}/fsi/api/call", json={"id": request_id})


def test_with_no_faults_every_request_passes(
    upstream: EchoUpstream, client: httpx.Client, tmp_path: Path
) -> None:
    stats_file = tmp_path / "stats.json"
    with start_fault_proxy(upstream.port, stats_file=stats_file) as proxy:
        for n in range(5):
            response = _call(client, proxy, f"r{n}")
            assert response.status_code == 200
            assert response.json() == {"echo": {"id": f"r{n}"}}
        assert proxy.stats()["passed"] == 5
    assert upstream.seen == {f"r{n}": 1 for n in range(5)}
    written = json.loads(stats_file.read_text())
    assert written["requests"] == written["passed"] == 5


def test_a_dropped_request_never_reaches_the_upstream(
    upstream: EchoUpstream, client: httpx.Client
) -> None:
    with start_fault_proxy(upstream.port, drop=1.0) as proxy:
        with pytest.raises(httpx.TransportError):
            _call(client, proxy, "lost")
        assert proxy.stats()["dropped"] == 1
    assert upstream.total == 0


def test_a_reset_request_is_processed_but_the_answer_is_lost(
    upstream: EchoUpstream, client: httpx.Client
) -> None:
    with start_fault_proxy(upstream.port, reset=1.0) as proxy:
        for n in range(5):
            with pytest.raises(httpx.TransportError):
                _call(client, proxy, f"r{n}")
        assert proxy.stats()["reset"] == 5
    assert upstream.seen == {f"r{n}": 1 for n in range(5)}


def test_a_duplicated_request_reaches_the_upstream_twice_and_answers_once(
    upstream: EchoUpstream, client: httpx.Client
) -> None:
    with start_fault_proxy(upstream.port, duplicate=1.0) as proxy:
        response = _call(client, proxy, "twice")
        assert response.json() == {"echo": {"id": "twice"}}
        assert proxy.stats()["duplicated"] == 1
    assert upstream.seen == {"twice": 2}


def test_a_client_that_retries_loses_no_request_through_a_mix_of_faults(
    upstream: EchoUpstream, client: httpx.Client
) -> None:
    attempts = failures = 0
    with start_fault_proxy(
        upstream.port, drop=0.1, reset=0.1, duplicate=0.1, delay=0.3, delay_ms=2, seed=42
    ) as proxy:
        for n in range(200):
            for _ in range(20):
                attempts += 1
                try:
                    response = _call(client, proxy, f"r{n}")
                except httpx.TransportError:
                    failures += 1
                    continue
                assert response.json() == {"echo": {"id": f"r{n}"}}
                break
            else:
                pytest.fail(f"r{n} failed 20 times")
        stats = proxy.stats()
    assert stats["requests"] == attempts
    assert (
        stats["requests"]
        == stats["dropped"] + stats["reset"] + stats["duplicated"] + (stats["passed"])
    )
    assert stats["dropped"] + stats["reset"] == failures
    assert upstream.total == stats["passed"] + stats["reset"] + 2 * stats["duplicated"]
    assert set(upstream.seen) == {f"r{n}" for n in range(200)}
    # Each fault of a 10 % share happened, none swamped the run (seeded: the same every time).
    for name in ("dropped", "reset", "duplicated"):
        assert 5 <= stats[name] <= 60, stats
    assert 20 <= stats["delayed"] <= 140, stats
    assert stats["upstream_errors"] == 0


def test_an_unreachable_upstream_gives_502(client: httpx.Client) -> None:
    closed = EchoUpstream()  # bound, then closed without serving: nothing listens on its port
    closed.server.server_close()
    with start_fault_proxy(closed.port) as proxy:
        response = _call(client, proxy, "nowhere")
        assert response.status_code == 502
        assert proxy.stats()["upstream_errors"] == 1


def test_postgres_helper_starts_a_server_that_stores_and_returns_a_row(tmp_path: Path) -> None:
    with start_postgres(tmp_path) as server:
        engine = sa.create_engine(server.url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("CREATE TABLE visit (id serial PRIMARY KEY, fen bigint)"))
                conn.execute(sa.text("INSERT INTO visit (fen) VALUES (:fen)"), {"fen": 12345})
            with engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT id, fen FROM visit")).all()
        finally:
            engine.dispose()
        assert [tuple(row) for row in rows] == [(1, 12345)]
    assert not (server.datadir / "postmaster.pid").exists()
