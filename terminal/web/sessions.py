"""Who is signed in at this terminal (a cookie token → `Operator`) and the PIN lockout: five wrong
PINs for one operator id lock it for five minutes (docs/ui.md "Sign-in").

Both live in memory: a restart signs everybody out and forgets the wrong PINs.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from terminal.checkout.operators import Operator

__all__ = ["PIN_LOCK_S", "PIN_TRIES", "SESSION_COOKIE", "PinLockout", "Sessions"]

SESSION_COOKIE = "medpos_session"
PIN_TRIES = 5
PIN_LOCK_S = 300.0


class Sessions:
    """Signed-in operators by their session token."""

    def __init__(self) -> None:
        self._by_token: dict[str, Operator] = {}

    def open(self, op: Operator) -> str:
        """A new session of `op`: its token, for the cookie."""
        token = secrets.token_urlsafe(24)
        self._by_token[token] = op
        return token

    def get(self, token: str | None) -> Operator | None:
        return self._by_token.get(token) if token else None

    def close(self, token: str) -> Operator | None:
        """End the session of `token`: who it was, or None when there was none."""
        return self._by_token.pop(token, None)


class PinLockout:
    """Wrong PINs per operator id; `locked` after `tries` of them, for `lock_s` seconds."""

    def __init__(
        self,
        tries: int = PIN_TRIES,
        lock_s: float = PIN_LOCK_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tries = tries
        self.lock_s = lock_s
        self._clock = clock
        self._failures: dict[str, tuple[int, float]] = {}  # id → (wrong PINs, time of the last)

    def locked(self, operator_id: str) -> bool:
        count, since = self._failures.get(operator_id, (0, 0.0))
        return count >= self.tries and self._clock() - since < self.lock_s

    def failed(self, operator_id: str) -> None:
        """One more wrong PIN for `operator_id`."""
        count, _ = self._failures.get(operator_id, (0, 0.0))
        self._failures[operator_id] = (count + 1, self._clock())

    def passed(self, operator_id: str) -> None:
        """A right PIN: the count starts again."""
        self._failures.pop(operator_id, None)
