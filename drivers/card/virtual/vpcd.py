"""The vpcd socket protocol (FIELD-NOTES.md "PC/SC"): a virtual card is a TCP client of vpcd.

Every message is a 2-byte big-endian length and the payload; a 1-byte payload is a control
command (00 power off, 01 power on, 02 reset, 04 send the ATR, which is the only one answered);
anything longer is an APDU, answered with data + SW1 SW2. Connecting inserts the card; closing the
socket removes it. TCP_NODELAY and TCP_QUICKACK (set again after each receive: Linux clears it)
keep an APDU round trip near 0.1 ms instead of ~48 ms of delayed ACKs.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Callable
from typing import Protocol

__all__ = ["VpcdClient", "serve_in_thread"]

log = logging.getLogger(__name__)
VPCD_HOST = "127.0.0.1"
VPCD_PORT = 35963  # slot 0; slot 1 is 35964


class _Card(Protocol):
    atr: bytes

    def reset(self) -> None: ...

    def apdu(self, apdu: bytes) -> bytes: ...


class VpcdClient:
    """One virtual card inserted in a vpcd slot until `close()` (a removal)."""

    def __init__(
        self,
        card: _Card,
        port: int = VPCD_PORT,
        *,
        host: str = VPCD_HOST,
        pull_at: int | None = None,
        mutate: Callable[[int, bytes], bytes] | None = None,
    ) -> None:
        self.card = card
        self.pull_at = pull_at  # remove the card when this APDU (1-based) arrives
        self.mutate = mutate  # (apdu number, answer) → the answer actually sent
        self.apdus = 0
        self._sock = socket.create_connection((host, port), timeout=5)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._quickack()
        self._sock.settimeout(None)
        self._closed = threading.Event()

    def _quickack(self) -> None:
        if hasattr(socket, "TCP_QUICKACK"):
            try:
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            except OSError:
                pass  # removed (closed) by another thread meanwhile: the next recv ends the loop

    def _recv_exact(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            try:
                chunk = self._sock.recv(n - len(buf))
            except OSError:
                return None
            if not chunk:
                return None
            buf += chunk
            self._quickack()
        return buf

    def _send(self, payload: bytes) -> None:
        self._sock.sendall(struct.pack(">H", len(payload)) + payload)

    def run(self) -> None:
        """Answer vpcd until the card is removed or vpcd goes away."""
        try:
            while not self._closed.is_set():
                head = self._recv_exact(2)
                if head is None:
                    return
                payload = self._recv_exact(struct.unpack(">H", head)[0])
                if payload is None:
                    return
                if len(payload) == 1:
                    if payload[0] in (0x00, 0x01, 0x02):
                        self.card.reset()
                    elif payload[0] == 0x04:
                        try:
                            self._send(self.card.atr)
                        except OSError:
                            return
                    continue
                self.apdus += 1
                if self.pull_at is not None and self.apdus >= self.pull_at:
                    return  # pulled out in the middle of the exchange
                answer = self.card.apdu(payload)
                if self.mutate is not None:
                    answer = self.mutate(self.apdus, answer)
                try:
                    self._send(answer)
                except OSError:
                    return  # removed while answering: vpcd sees the socket close
        finally:
            self.close()

    def close(self) -> None:
        """Remove the card."""
        self._closed.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()


def serve_in_thread(card: _Card, port: int = VPCD_PORT, **options: object) -> VpcdClient:
    """Insert `card` into the vpcd slot at `port`, answering in a daemon thread."""
    client = VpcdClient(card, port, **options)  # type: ignore[arg-type]
    threading.Thread(target=client.run, name=f"vpcd-{port}", daemon=True).start()
    return client
