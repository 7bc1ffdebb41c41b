"""A fault-injecting HTTP/1.1 proxy for sync tests, run as a process of its own.

    python -m sync.faultproxy --listen 127.0.0.1:0 --upstream 127.0.0.1:8000 \
        --drop 0.1 --reset 0.1 --duplicate 0.1 --delay 0.2 --delay-ms 50 --seed 7 --stats s.json

Per request, one seeded draw picks at most one fault:
- drop: close the client connection without forwarding (the platform never sees the request);
- reset: forward, read the whole answer, then reset the client connection (SO_LINGER 0) after
  sending part of the answer or none (the platform did the work, the client never learns it);
- duplicate: forward twice and answer with the second response (the platform sees it twice);
otherwise the request passes. A second, independent draw may delay a request by --delay-ms
before it is forwarded. So `requests == dropped + reset + duplicated + passed`, and `delayed`
counts a subset of them; `upstream_errors` counts 502 answers for an unreachable platform.

The counters are served at `GET /__faultproxy/stats` (never forwarded) and written as JSON to
--stats on SIGTERM or exit. Standard library only, so it runs wherever the tests run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sync._http11 import (
    STREAM_LIMIT,
    MalformedMessageError,
    Message,
    bodyless,
    client_keeps_alive,
    header,
    local_response,
    read_request,
    read_response,
    reset_connection,
    serialize,
)

logger = logging.getLogger(__name__)

STATS_PATH = b"/__faultproxy/stats"
UPSTREAM_TIMEOUT_S = 30.0

# What an unreachable, slow or broken upstream raises (TimeoutError is an OSError).
_UPSTREAM_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    asyncio.LimitOverrunError,
    MalformedMessageError,
)


@dataclass(slots=True)
class Stats:
    """What the proxy did, by request."""

    requests: int = 0
    dropped: int = 0
    delayed: int = 0
    reset: int = 0
    duplicated: int = 0
    passed: int = 0
    upstream_errors: int = 0


@dataclass(frozen=True, slots=True)
class Faults:
    """Probabilities of each fault; drop + reset + duplicate must not exceed 1."""

    drop: float = 0.0
    reset: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    delay_ms: int = 0


class FaultProxy:
    """Relays requests to one upstream, injecting faults decided by a seeded RNG."""

    def __init__(self, upstream: tuple[str, int], faults: Faults, seed: int | None) -> None:
        self.upstream = upstream
        self.faults = faults
        self.stats = Stats()
        self._clients: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}
        # Not for security: a reproducible sequence of test faults.
        self._rng = random.Random(seed)  # noqa: S311

    def _decide(self) -> tuple[str, bool, float]:
        """The fault (named as its counter), whether to delay, and where a reset cuts."""
        fault_draw, delay_draw, cut_draw = (self._rng.random() for _ in range(3))
        f = self.faults
        if fault_draw < f.drop:
            fault = "dropped"
        elif fault_draw < f.drop + f.reset:
            fault = "reset"
        elif fault_draw < f.drop + f.reset + f.duplicate:
            fault = "duplicated"
        else:
            fault = "passed"
        return fault, delay_draw < f.delay, cut_draw

    async def _exchange(self, request: Message) -> bytes:
        """One request on a fresh upstream connection; the response framed for the client."""
        host, port = self.upstream
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=STREAM_LIMIT), UPSTREAM_TIMEOUT_S
        )
        try:
            has_length = header(request.headers, b"content-length") is not None
            writer.write(
                serialize(request, keep_alive=False, set_length=has_length or bool(request.body))
            )
            await writer.drain()
            method = request.start.split(b" ", 1)[0]
            response, status = await asyncio.wait_for(
                read_response(reader, method), UPSTREAM_TIMEOUT_S
            )
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return serialize(
            response,
            keep_alive=client_keeps_alive(request),
            set_length=not bodyless(method, status),
        )

    async def _serve(self, request: Message, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the client connection must not be used again."""
        keep_alive = client_keeps_alive(request)
        method, target, _ = request.start.split(b" ", 2)
        if method == b"GET" and target == STATS_PATH:
            writer.write(local_response(200, asdict(self.stats), keep_alive=keep_alive))
            await writer.drain()
            return keep_alive
        self.stats.requests += 1
        fault, delayed, cut_draw = self._decide()
        logger.debug("%s %s: %s%s", method, target, fault, " (delayed)" if delayed else "")
        setattr(self.stats, fault, getattr(self.stats, fault) + 1)
        if fault == "dropped":
            return False
        if delayed:
            self.stats.delayed += 1
            await asyncio.sleep(self.faults.delay_ms / 1000)
        try:
            response = await self._exchange(request)
            if fault == "duplicated":
                response = await self._exchange(request)
        except _UPSTREAM_ERRORS as exc:
            self.stats.upstream_errors += 1
            logger.warning("upstream %s:%d failed: %r", *self.upstream, exc)
            error = {"error": f"upstream unreachable or broken: {exc!r}"}
            writer.write(local_response(502, error, keep_alive=keep_alive))
            await writer.drain()
            return keep_alive
        if fault == "reset":
            writer.write(response[: int(cut_draw * len(response))])
            await writer.drain()
            reset_connection(writer)
            return False
        writer.write(response)
        await writer.drain()
        return keep_alive

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client connection until it closes; never raises."""
        task = asyncio.current_task()
        if task is not None:
            self._clients[writer] = task
        try:
            while (request := await read_request(reader)) is not None:
                if not await self._serve(request, writer):
                    break
        except MalformedMessageError as exc:
            with contextlib.suppress(OSError):
                writer.write(local_response(400, {"error": str(exc)}, keep_alive=False))
                await writer.drain()
        except (OSError, EOFError):
            pass  # the client went away
        except Exception:
            logger.exception("unexpected error; client connection closed")
        finally:
            self._clients.pop(writer, None)
            if not writer.transport.is_closing():
                writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def close_clients(self, timeout: float) -> None:
        """Abort open client connections; give their handlers `timeout` s to finish."""
        tasks = list(self._clients.values())
        for writer in list(self._clients):
            writer.transport.abort()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)


def write_stats(stats: Stats, path: Path) -> None:
    """Write the counters as JSON, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(stats), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability is between 0 and 1, got {text}")
    return value


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sync.faultproxy", description=__doc__)
    parser.add_argument("--listen", type=_address, required=True, help="HOST:PORT (0: any port)")
    parser.add_argument("--upstream", type=_address, required=True, help="HOST:PORT")
    for name in ("drop", "delay", "reset", "duplicate"):
        parser.add_argument(f"--{name}", type=_probability, default=0.0, metavar="P")
    parser.add_argument("--delay-ms", type=int, default=0, metavar="MS")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--stats", type=Path, default=None, metavar="FILE")
    args = parser.parse_args(argv)
    if args.drop + args.reset + args.duplicate > 1.0:
        parser.error("--drop + --reset + --duplicate must not exceed 1")
    return args


async def _run(args: argparse.Namespace, proxy: FaultProxy) -> None:
    host, port = args.listen
    server = await asyncio.start_server(proxy.handle, host, port, limit=STREAM_LIMIT)
    bound = server.sockets[0].getsockname()
    sys.stdout.write(f"listening on {bound[0]}:{bound[1]}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    # Ending handlers here, not by asyncio.run's cancellation, which 3.11's streams log as errors.
    await proxy.close_clients(timeout=1.0)


def main(argv: list[str] | None = None) -> int:
    """Run the proxy until SIGTERM or SIGINT."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="faultproxy: %(levelname)s %(message)s")
    faults = Faults(args.drop, args.reset, args.duplicate, args.delay, args.delay_ms)
    proxy = FaultProxy(args.upstream, faults, args.seed)
    try:
        asyncio.run(_run(args, proxy))
    finally:
        if args.stats is not None:
            write_stats(proxy.stats, args.stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
