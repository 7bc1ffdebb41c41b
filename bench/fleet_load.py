"""The load generator of `bench/fleet.py`: simulated terminals' batch bodies, signed as a
terminal signs them, sent over loopback with a bounded number in flight; and the CPU the hub's
and PostgreSQL's processes spend meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from typing import Any

import httpx
import psutil

from bench.sync import _Device

__all__ = ["BATCH", "_bodies", "_cpu_seconds", "_lazy_bodies", "_send"]

BATCH = 100


def _bodies(device: _Device, first_seq: int, sales: int) -> list[bytes]:
    """The device's next `sales` uploads as batch bodies, signed now."""
    out = []
    for start in range(first_seq, first_seq + sales, BATCH):
        envs = [
            device.envelope("2102", device.upload(seq))
            for seq in range(start, min(start + BATCH, first_seq + sales))
        ]
        out.append(json.dumps({"messages": envs}).encode())
    return out


def _lazy_bodies(device: _Device, sales: int) -> Any:
    """A callable giving the device's next batch body of its `sales`, signed now; None after."""
    sent = [0]

    def next_body() -> bytes | None:
        if sent[0] >= sales:
            return None
        [body] = _bodies(device, sent[0] + 1, min(BATCH, sales - sent[0]))
        sent[0] += BATCH
        return body

    return next_body


async def _send(
    url: str, work: Sequence[Sequence[bytes] | Any], inflight: int
) -> tuple[float, list[float], list[str]]:
    """Each terminal's batches in order, at most `inflight` at once over all terminals: (seconds,
    batch latencies, failures). An item of `work` is a list of bodies, or a callable giving a
    terminal's bodies one by one, each signed when the terminal gets its turn to send it (as a
    terminal signs an envelope: its inf_time must be fresh when the platform reads it, and a
    queue signed all at once would be stale by the time the last terminals send)."""
    gate = asyncio.Semaphore(inflight)
    latencies: list[float] = []
    failures: list[str] = []
    # a connection per batch, as a fleet's many terminals each bring their own: a few kept-alive
    # connections opened at once stay with whichever hub process accepted them, and one process
    # then did most of the work (2 processes: 1.11× kept alive, 1.72–2.06× a connection a batch)
    limits = httpx.Limits(max_connections=inflight, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:

        async def post(body: bytes) -> tuple[bool, str]:
            t0 = time.perf_counter()
            try:
                reply = await client.post(
                    "/fsi/api/batch", content=body, headers={"content-type": "application/json"}
                )
                refused = [r.get("err_msg") for r in reply.json()["results"] if r["infcode"]]
                ok = reply.status_code == 200 and not refused
                why = f"HTTP {reply.status_code} {refused[:1]}"
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                ok, why = False, repr(exc)
            latencies.append(time.perf_counter() - t0)
            return ok, why

        async def terminal(item: Any) -> None:
            bodies = iter(item) if not callable(item) else None
            while True:
                async with gate:
                    if bodies is None:  # signed in a worker thread: the loop goes on timing
                        body = await asyncio.to_thread(item)
                    else:
                        body = next(bodies, None)
                    if body is None:
                        return
                    for _attempt in range(5):
                        ok, why = await post(body)
                        if ok:
                            break
                        failures.append(why)

        started = time.perf_counter()
        await asyncio.gather(*(terminal(item) for item in work))
        return time.perf_counter() - started, latencies, failures


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process `pid` and its children so far (the hub's uvicorn
    workers, PostgreSQL's backends)."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total
