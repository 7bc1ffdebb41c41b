"""Live updates (docs/ui.md "The counter"): server-sent events, so every open page redraws the
counter after each change and the status bar stays current."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from terminal.web.deps import WebOf

__all__ = ["router"]

router = APIRouter()

_PING_S = 10.0  # a ping at least this often, so that a dead connection is noticed


@router.get("/events")
async def events(request: Request, web: WebOf) -> StreamingResponse:
    """Server-sent events: `counter` with its version after every change, `ping` otherwise."""
    counter = web.counter

    async def stream() -> AsyncIterator[str]:
        seen = -1
        while not await request.is_disconnected():
            version = await asyncio.to_thread(counter.wait_change, seen, _PING_S)
            if version != seen:
                seen = version
                yield f"event: counter\ndata: {version}\n\n"
            else:
                yield "event: ping\ndata: {}\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )
