"""`POST /his/v1/call` in process (httpx over ASGI): answered on the server's thread when the
counter is free, and after a page's request that holds the counter's lock when it is not."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from terminal.bootstrap import open_terminal
from terminal.checkout.operators import sign_session
from terminal.config import load_config
from terminal.web.app import Hooks, create_app

TOKEN = "front-token"  # noqa: S105 (a test's token)
ENVELOPE = {"infno": "5201", "msgid": "f1", "opter": "1001", "input": {"data": {}}}


def _post(app: object) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post(
                "/his/v1/call",
                content=json.dumps(ENVELOPE).encode(),
                headers={"Authorization": f"Bearer {TOKEN}"},
            )

    return asyncio.run(go())


def test_a_his_call_waits_for_a_page_that_holds_the_counter(
    make_config: Callable[..., Path], clean_env: None
) -> None:
    config = make_config(his={"enabled": True, "token": TOKEN})
    service = open_terminal(load_config(config))
    try:
        sign_session(service, "1001", "收费员", True)
        app = create_app(service, hooks=Hooks())
        free = _post(app)
        assert free.status_code == 200 and "inf_refmsgid" in free.json(), free.text
        lock = app.state.web.lock
        taken, let_go = threading.Event(), threading.Event()

        def page() -> None:  # a page's request, holding the counter
            with lock:
                taken.set()
                let_go.wait(30)

        holder = threading.Thread(target=page)
        holder.start()
        assert taken.wait(10)
        answers: list[httpx.Response] = []
        caller = threading.Thread(target=lambda: answers.append(_post(app)))
        caller.start()
        caller.join(0.5)
        assert caller.is_alive() and not answers  # waiting for the page, not answered beside it
        let_go.set()
        caller.join(30)
        holder.join(30)
        assert len(answers) == 1 and answers[0].status_code == 200, answers
        assert "inf_refmsgid" in answers[0].json()
    finally:
        service.ledger.close()
