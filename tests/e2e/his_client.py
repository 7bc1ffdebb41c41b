"""A hospital system's side of the HIS API, speaking only his-api.md: the national envelope over
HTTP with a Bearer token, nothing of the terminal's own modules."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from typing import Any

import httpx

__all__ = ["HisClient"]


class HisClient:
    """One HIS adapter: `call(infno, input)` → the parsed answer (numbers as `Decimal`)."""

    def __init__(self, url: str, token: str, opter: str = "1001", prefix: str = "m") -> None:
        self.url = url
        self.token = token
        self.opter = opter
        self._ids = (f"{prefix}{n}" for n in itertools.count(1))
        self.last_msgid = ""
        self.last_raw = b""

    def post(self, body: bytes | dict[str, Any], token: str | None = None) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.post(
            self.url + "/his/v1/call",
            content=content,
            headers={
                "Authorization": f"Bearer {self.token if token is None else token}",
                "Content-Type": "application/json",
            },
            timeout=30,
        )

    def call(self, infno: str, input: dict[str, Any], msgid: str | None = None) -> dict[str, Any]:
        self.last_msgid = msgid or next(self._ids)
        envelope = {
            "infno": infno,
            "msgid": self.last_msgid,
            "opter": self.opter,
            "input": input,
            "infver": "V1.0",
            "signtype": "SM2",
        }
        answer = self.post(envelope)
        assert answer.status_code == 200, answer.text
        self.last_raw = answer.content
        parsed: dict[str, Any] = json.loads(answer.content, parse_float=Decimal)
        return parsed

    def ok(self, infno: str, input: dict[str, Any], msgid: str | None = None) -> Any:
        answer = self.call(infno, input, msgid)
        assert answer["infcode"] == 0, answer
        return answer.get("output")

    def refused(self, infno: str, input: dict[str, Any], msgid: str | None = None) -> str:
        answer = self.call(infno, input, msgid)
        assert answer["infcode"] == -1, answer
        assert answer["err_msg"], answer
        return str(answer["err_code"])
