"""HTTP/1.1 message framing for the fault proxy (`sync.faultproxy`): read a request or a response
(Content-Length, chunked, or framed by close), write one back re-framed, answer locally, reset.

Standard library only, like the proxy.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from dataclasses import dataclass

__all__ = [
    "HOP_BY_HOP",
    "STREAM_LIMIT",
    "Headers",
    "MalformedMessageError",
    "Message",
    "bodyless",
    "client_keeps_alive",
    "header",
    "local_response",
    "read_request",
    "read_response",
    "reset_connection",
    "serialize",
]

STREAM_LIMIT = 1024 * 1024
# Hop-by-hop headers (RFC 9110 section 7.6.1) describe one connection and are never relayed;
# `expect` too, because the proxy has already read the whole body.
HOP_BY_HOP = frozenset(
    b"connection keep-alive proxy-connection te trailer transfer-encoding upgrade expect".split()
)
REASONS = {200: "OK", 400: "Bad Request", 502: "Bad Gateway"}

Headers = list[tuple[bytes, bytes]]


class MalformedMessageError(Exception):
    """A request or response that this proxy cannot frame."""


@dataclass(frozen=True, slots=True)
class Message:
    start: bytes
    headers: Headers
    body: bytes


def header(headers: Headers, name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


async def read_head(reader: asyncio.StreamReader) -> tuple[bytes, Headers] | None:
    """The start line and headers, or None on a clean close between messages."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise MalformedMessageError("connection closed inside a header") from exc
    except asyncio.LimitOverrunError as exc:
        raise MalformedMessageError("header too large") from exc
    lines = raw.lstrip(b"\r\n")[:-4].split(b"\r\n")
    headers: Headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            raise MalformedMessageError(f"malformed header line {line[:80]!r}")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers


def content_length(headers: Headers) -> int:
    value = header(headers, b"content-length")
    if value is None:
        return 0
    if not value.isdigit():
        raise MalformedMessageError(f"bad Content-Length {value[:40]!r}")
    return int(value)


async def read_request(reader: asyncio.StreamReader) -> Message | None:
    head = await read_head(reader)
    if head is None:
        return None
    start, headers = head
    if len(start.split(b" ")) != 3:
        raise MalformedMessageError(f"malformed request line {start[:80]!r}")
    if header(headers, b"transfer-encoding") is not None:
        raise MalformedMessageError("chunked request bodies are not supported: send Content-Length")
    return Message(start, headers, await reader.readexactly(content_length(headers)))


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailers are dropped: the body is re-framed with Content-Length
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


def bodyless(method: bytes, status: int) -> bool:
    return method == b"HEAD" or 100 <= status < 200 or status in (204, 304)


async def read_response(reader: asyncio.StreamReader, method: bytes) -> tuple[Message, int]:
    while True:
        head = await read_head(reader)
        if head is None:
            raise MalformedMessageError("upstream closed without a response")
        start, headers = head
        parts = start.split(b" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise MalformedMessageError(f"malformed status line {start[:80]!r}")
        status = int(parts[1])
        if not 100 <= status < 200:
            break  # interim 1xx answers are skipped
    if bodyless(method, status):
        body = b""
    elif (header(headers, b"transfer-encoding") or b"").lower().endswith(b"chunked"):
        body = await read_chunked(reader)
    elif header(headers, b"content-length") is not None:
        body = await reader.readexactly(content_length(headers))
    else:
        body = await reader.read()  # framed by close: the proxy asked for Connection: close
    return Message(start, headers, body), status


def serialize(message: Message, *, keep_alive: bool, set_length: bool) -> bytes:
    lines = [message.start]
    for name, value in message.headers:
        lowered = name.lower()
        if lowered in HOP_BY_HOP or (set_length and lowered == b"content-length"):
            continue
        lines.append(name + b": " + value)
    if set_length:
        lines.append(b"Content-Length: %d" % len(message.body))
    lines.append(b"Connection: keep-alive" if keep_alive else b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + message.body


def local_response(status: int, payload: object, *, keep_alive: bool) -> bytes:
    start = f"HTTP/1.1 {status} {REASONS[status]}".encode()
    body = json.dumps(payload).encode()
    message = Message(start, [(b"Content-Type", b"application/json")], body)
    return serialize(message, keep_alive=keep_alive, set_length=True)


def client_keeps_alive(request: Message) -> bool:
    tokens = {
        t.strip().lower() for t in (header(request.headers, b"connection") or b"").split(b",")
    }
    if request.start.rsplit(b" ", 1)[-1] == b"HTTP/1.0":
        return b"keep-alive" in tokens
    return b"close" not in tokens


def reset_connection(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0, so the kernel sends RST and discards what is still unsent."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
