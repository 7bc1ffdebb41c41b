"""Live updates (docs/ui.md "The counter"): server-sent events, so every open page redraws the
counter after each change and the status bar stays current.

A stream is for a signed-in cashier. It waits on an `asyncio.Event` the counter's changes set
(`terminal/web/live.py`), so an idle stream holds no worker thread; a session keeps at most
`STREAMS_PER_SESSION` of them open (a new one closes its oldest), and a stream ends with its
session (sign-out, idle sign-out).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from terminal.web.deps import FragmentUser, WebOf

__all__ = ["STREAMS_PER_SESSION", "router"]

router = APIRouter()

_PING_S = 10.0  # a ping at least this often, so that a dead connection is noticed
STREAMS_PER_SESSION = 3


@router.get("/events")
async def events(request: Request, web: WebOf, op: FragmentUser) -> StreamingResponse:
    """Server-sent events: `counter` with its version after every change, `ping` otherwise."""
    counter = web.counter
    session = web.session_of(request)
    closed = asyncio.Event()
    loop = asyncio.get_running_loop()

    def close() -> None:
        with contextlib.suppress(RuntimeError):  # the server's loop has already ended
            loop.call_soon_threadsafe(closed.set)

    if session is not None:
        session.streams.append(close)
        while len(session.streams) > STREAMS_PER_SESSION:
            session.streams.pop(0)()  # the oldest stream of this session ends

    async def stream() -> AsyncIterator[str]:
        changed = web.feed.subscribe()
        seen = -1
        try:
            while not closed.is_set() and not await request.is_disconnected():
                version = counter.version
                if version != seen:
                    seen = version
                    yield f"event: counter\ndata: {version}\n\n"
                    continue
                changed.clear()
                if counter.version != seen:
                    continue
                waits = [asyncio.create_task(changed.wait()), asyncio.create_task(closed.wait())]
                done, pending = await asyncio.wait(
                    waits, timeout=_PING_S, return_when=asyncio.FIRST_COMPLETED
                )
                for task in pending:
                    task.cancel()
                if not done:
                    yield "event: ping\ndata: {}\n\n"
        finally:
            web.feed.unsubscribe(changed)
            if session is not None:
                with contextlib.suppress(ValueError):
                    session.streams.remove(close)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )
