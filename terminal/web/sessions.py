"""Who is signed in at this terminal (a cookie token → `Session`), the idle sign-out and the PIN
lockout (docs/ui.md "Sign-in", docs/security.md "The terminal's web face").

Sessions live in memory: a restart signs everybody out. A session ends after `idle_s` without
activity (the page's background polling does not count: `PASSIVE_PATHS`). Each session has its
own CSRF token (`Session.csrf`), which every state-changing form carries.

Wrong PINs are counted in the ledger (`terminal/ledger/lockout.py`), one write unit each, under
the terminal's lock: parallel guesses count one by one and a restart forgets none of them.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from terminal.checkout.operators import Operator
from terminal.ledger import SqliteLedger, add_pin_failure, clear_pin_failures, pin_failures

__all__ = [
    "PASSIVE_PATHS",
    "PIN_LOCK_S",
    "PIN_TRIES",
    "SESSION_COOKIE",
    "PinLockout",
    "Session",
    "Sessions",
    "same_token",
]

SESSION_COOKIE = "medpos_session"
PIN_TRIES = 5
PIN_LOCK_S = 300.0
# what the page's script asks for on its own (polling, live updates, the camera's frames): these
# requests do not keep a session from going idle
PASSIVE_PATHS = frozenset({"/status-bar", "/events", "/counter", "/camera.jpg"})


@dataclass
class Session:
    """One signed-in browser: its operator, CSRF token, last activity and open event streams."""

    op: Operator
    csrf: str
    last_active: float
    streams: list[Callable[[], None]] = field(default_factory=list)  # closers, oldest first


class Sessions:
    """Signed-in operators by their session token; idle ones end after `idle_s` seconds."""

    def __init__(
        self,
        idle_s: float = 15 * 60.0,
        clock: Callable[[], float] = time.time,
        on_idle: Callable[[Operator], None] | None = None,
    ) -> None:
        self.idle_s = idle_s
        self._clock = clock
        self._on_idle = on_idle
        self._lock = threading.Lock()
        self._by_token: dict[str, Session] = {}

    def open(self, op: Operator) -> str:
        """A new session of `op`: its token, for the cookie."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._by_token[token] = Session(op, secrets.token_urlsafe(24), self._clock())
        return token

    def session(self, token: str | None, *, active: bool = True) -> Session | None:
        """The live session of `token` (None when there is none or it went idle, which ends it);
        `active`: this request counts as activity."""
        if not token:
            return None
        now = self._clock()
        with self._lock:
            found = self._by_token.get(token)
            if found is None:
                return None
            if now - found.last_active > self.idle_s:
                del self._by_token[token]
                idle: Session | None = found
            else:
                idle = None
                if active:
                    found.last_active = now
        if idle is not None:
            for close in list(idle.streams):
                close()
            if self._on_idle is not None:
                self._on_idle(idle.op)
            return None
        return found

    def get(self, token: str | None, *, active: bool = True) -> Operator | None:
        found = self.session(token, active=active)
        return found.op if found is not None else None

    def close(self, token: str) -> Operator | None:
        """End the session of `token`: who it was, or None when there was none."""
        with self._lock:
            found = self._by_token.pop(token, None)
        if found is None:
            return None
        for close in list(found.streams):
            close()
        return found.op


def same_token(given: str | None, expected: str) -> bool:
    """`given` is `expected` (compared in constant time)."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


class PinLockout:
    """Wrong PINs per operator id, in the ledger; `locked` after `tries` of them, for `lock_s`
    seconds. The caller holds the terminal's lock around a check and its `failed`/`passed`."""

    def __init__(
        self,
        ledger: SqliteLedger,
        tries: int = PIN_TRIES,
        lock_s: float = PIN_LOCK_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = ledger
        self.tries = tries
        self.lock_s = lock_s
        self._clock = clock

    def locked(self, operator_id: str) -> bool:
        count, since = pin_failures(self.ledger, operator_id)
        return count >= self.tries and self._clock() - since < self.lock_s

    def failed(self, operator_id: str) -> int:
        """One more wrong PIN for `operator_id`: the tries left before it is locked."""
        count = add_pin_failure(self.ledger, operator_id, self._clock())
        return max(self.tries - count, 0)

    def passed(self, operator_id: str) -> None:
        """A right PIN: the count starts again."""
        clear_pin_failures(self.ledger, operator_id)
