"""Start `python -m sync.faultproxy` as a real process between a client and an upstream."""

from __future__ import annotations

import select
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

ROOT = Path(__file__).resolve().parents[2]
READY_PREFIX = "listening on "
START_TIMEOUT_S = 10.0


class FaultProxy:
    """A running fault proxy process; stop it with `.stop()` or use it as a context manager."""

    def __init__(self, process: subprocess.Popen[str], host: str, port: int) -> None:
        self.process = process
        self.host = host
        self.port = port
        # one client for every read: `httpx.get` builds a TLS context each time (some 45 ms of
        # CPU), and tests poll these counters
        self._client: httpx.Client | None = None

    @property
    def url(self) -> str:
        """The base URL clients should use instead of the upstream's."""
        return f"http://{self.host}:{self.port}"

    def stats(self) -> dict[str, int]:
        """The proxy's counters, read from its own endpoint."""
        if self._client is None:
            self._client = httpx.Client(timeout=5.0)
        response = self._client.get(f"{self.url}/__faultproxy/stats")
        response.raise_for_status()
        counters: dict[str, int] = response.json()
        return counters

    def stop(self) -> None:
        """SIGTERM the proxy (it writes its --stats file) and wait for it; idempotent."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _read_ready_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([process.stdout], [], [], left)
        if not readable:
            break
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"fault proxy exited with {process.wait()} before it was ready")
        if line.startswith(READY_PREFIX):
            return line[len(READY_PREFIX) :].strip()
    raise RuntimeError(f"fault proxy printed no {READY_PREFIX!r} line in {START_TIMEOUT_S} s")


def start_fault_proxy(
    upstream_port: int,
    *,
    upstream_host: str = "127.0.0.1",
    drop: float = 0.0,
    delay: float = 0.0,
    delay_ms: int = 0,
    reset: float = 0.0,
    duplicate: float = 0.0,
    seed: int | None = 0,
    stats_file: Path | None = None,
) -> FaultProxy:
    """Start the proxy in front of `upstream_port` with these fault probabilities."""
    argv = [
        sys.executable,
        "-m",
        "sync.faultproxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        f"{upstream_host}:{upstream_port}",
    ]
    faults = {"drop": drop, "delay": delay, "reset": reset, "duplicate": duplicate}
    for name, probability in faults.items():
        argv += [f"--{name}", str(probability)]
    argv += ["--delay-ms", str(delay_ms)]
    if seed is not None:
        argv += ["--seed", str(seed)]
    if stats_file is not None:
        argv += ["--stats", str(stats_file)]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        address = _read_ready_line(process)
    except BaseException:
        FaultProxy(process, "", 0).stop()
        raise
    host, _, port = address.rpartition(":")
    return FaultProxy(process, host, int(port))
