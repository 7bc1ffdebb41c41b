"""The HTTP transport to the platform (platform-api.md "Transport"): the only httpx user.

`HttpPlatform` sends envelopes (`/fsi/api/call`, `/fsi/api/batch`) and fetches reference data
(with headers signed by the device key it is given) over the `httpx.Client` it is given:
`platform_client` builds the real one (what the terminal's composition root uses); a test gives
one over `httpx.MockTransport`.
Errors become `SyncError`s at this edge: `PlatformUnreachable` (connection refused or reset,
timeout, HTTP 5xx: retry later) and `PlatformRefusedHttp` (HTTP 4xx: retrying will not help).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from sync.protocol.canonical import canonical_json
from sync.protocol.refdata import refdata_request_headers
from terminal.errors import SyncError

__all__ = [
    "KEEPALIVE_S",
    "HttpPlatform",
    "PlatformRefusedHttp",
    "PlatformUnreachable",
    "encode_batch",
    "platform_client",
]

# how long an idle connection to the platform is kept for the next request: shorter than the hub
# keeps one (sync/hub/app.py HUB_KEEPALIVE_S). With both at httpx's and uvicorn's default of 5 s,
# a request now and then went out on a connection the hub was closing at that moment, and failed.
KEEPALIVE_S = 2.0
# how long the platform may take over a whole bundle (thousands of sales) before it answers
BUNDLE_TIMEOUT_S = 300.0


def encode_batch(envelopes: Sequence[Mapping[str, Any]]) -> bytes:
    """The body of `POST /fsi/api/batch`: `{"messages": [envelope, …]}` as compact UTF-8 JSON
    (each envelope as its canonical JSON, which every JSON reader reads as the same object)."""
    # (not walked for floats: the platform refuses an envelope holding one, at its signature)
    body = b",".join(canonical_json(e, strict=False) for e in envelopes)
    return b'{"messages":[' + body + b"]}"


class PlatformUnreachable(SyncError):
    """The platform could not be reached or failed (retry later)."""


class PlatformRefusedHttp(SyncError):
    """The platform refused the request at HTTP level (4xx)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def platform_client(base_url: str, *, timeout_s: float = 10.0) -> httpx.Client:
    """A client for the platform at `base_url`: each request bounded by `timeout_s` ([platform]
    timeout_s), an idle connection kept `KEEPALIVE_S`."""
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        timeout=timeout_s,
        limits=httpx.Limits(keepalive_expiry=KEEPALIVE_S),
    )


class HttpPlatform:
    """The platform API over `client` (its `base_url` is the platform's URL). `device`:
    `(dev_no, sign)` of an enrolled device, `sign(bytes) -> base64` its key's Ed25519
    signature, for the signed headers reference data is fetched with (platform-api.md
    "Transport"); without it, the platform answers refdata with 401. `clock()`: epoch seconds
    for `X-Dev-Time`."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        device: tuple[str, Callable[[bytes], str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self.base_url = str(client.base_url).rstrip("/")
        self._device = device
        self._clock = clock

    def close(self) -> None:
        """Close the client this transport was given."""
        self._client.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise PlatformUnreachable(f"{self.base_url}: no answer in time ({exc})") from exc
        except httpx.TransportError as exc:
            raise PlatformUnreachable(
                f"{self.base_url}: cannot reach the platform ({exc})"
            ) from exc
        if response.status_code >= 500:
            raise PlatformUnreachable(f"{self.base_url}: HTTP {response.status_code}")
        return response

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise PlatformUnreachable(f"{self.base_url}: an answer that is not JSON") from exc

    def call(self, envelope: Mapping[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        extra: dict[str, Any] = {"timeout": timeout_s} if timeout_s is not None else {}
        response = self._request("POST", "/fsi/api/call", json=envelope, **extra)
        body = self._json(response)
        if response.status_code >= 400:
            raise PlatformRefusedHttp(response.status_code, str(body.get("err_msg", body)))
        if not isinstance(body, dict):
            raise PlatformUnreachable(f"{self.base_url}: an answer that is not an object")
        return body

    def batch(
        self, envelopes: Sequence[Mapping[str, Any]], *, body: bytes | None = None
    ) -> list[dict[str, Any]]:
        """The answers to `envelopes`, in order; `body`: the same envelopes already encoded by
        `encode_batch` (sent as they are, not encoded again here)."""
        if body is None:
            body = encode_batch(envelopes)
        response = self._request(
            "POST", "/fsi/api/batch", content=body, headers={"content-type": "application/json"}
        )
        body = self._json(response)
        if response.status_code >= 400:
            message = body.get("err_msg", body) if isinstance(body, dict) else body
            raise PlatformRefusedHttp(response.status_code, str(message))
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or len(results) != len(envelopes):
            raise PlatformUnreachable(f"{self.base_url}: a batch answer of the wrong length")
        return results

    def refdata(self, kind: str, since: int | None) -> tuple[int, dict[str, Any] | None]:
        params = {"since": since} if since is not None else {}
        headers: dict[str, str] = {}
        if self._device is not None:
            dev_no, sign = self._device
            headers = refdata_request_headers(dev_no, kind, since, int(self._clock()), sign)
        response = self._request("GET", f"/fsi/api/refdata/{kind}", params=params, headers=headers)
        if response.status_code in (304, 404):
            return response.status_code, None
        if response.status_code >= 400:
            raise PlatformRefusedHttp(response.status_code, response.text[:200])
        body = self._json(response)
        return response.status_code, body if isinstance(body, dict) else None

    def bundle(self, body: bytes) -> dict[str, Any]:
        """The platform's answer bundle to a bundle file's bytes (`POST /fsi/api/bundle`, with
        this device's signed headers as for refdata, `kind` "bundle"); `PlatformRefusedHttp`
        naming the first bad message when the platform refuses it (422)."""
        headers = {"content-type": "application/json"}
        if self._device is not None:
            dev_no, sign = self._device
            headers.update(
                refdata_request_headers(dev_no, "bundle", None, int(self._clock()), sign)
            )
        # a bundle is days of sales: the platform answers it whole, so it may take a while
        response = self._request(
            "POST", "/fsi/api/bundle", content=body, headers=headers, timeout=BUNDLE_TIMEOUT_S
        )
        answer = self._json(response)
        if response.status_code >= 400:
            message = answer.get("err_msg", answer) if isinstance(answer, dict) else answer
            raise PlatformRefusedHttp(response.status_code, str(message))
        if not isinstance(answer, dict):
            raise PlatformUnreachable(f"{self.base_url}: an answer that is not an object")
        return answer
