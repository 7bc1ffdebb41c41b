"""Sign-in sessions and the PIN lockout: five wrong PINs lock an id for five minutes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from terminal.bootstrap import open_terminal
from terminal.checkout.operators import Operator
from terminal.config import load_config
from terminal.ledger import SqliteLedger
from terminal.web.sessions import PinLockout, Sessions


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ledger(make_config: Callable[..., Path], clean_env: None) -> Iterator[SqliteLedger]:
    service = open_terminal(load_config(make_config()))
    yield service.ledger
    service.ledger.close()


def test_five_wrong_pins_lock_the_id_for_five_minutes(ledger: SqliteLedger) -> None:
    clock = _Clock()
    lockout = PinLockout(ledger, clock=clock)
    for _ in range(4):
        lockout.failed("2001")
    assert not lockout.locked("2001")
    lockout.failed("2001")
    assert lockout.locked("2001") and not lockout.locked("1001")  # per id
    clock.now += 299.0
    assert lockout.locked("2001")
    clock.now += 1.0
    assert not lockout.locked("2001")  # five minutes after the last wrong PIN
    lockout.failed("2001")  # one more wrong PIN after the wait locks it again at once
    assert lockout.locked("2001")


def test_a_right_pin_starts_the_count_again(ledger: SqliteLedger) -> None:
    lockout = PinLockout(ledger, clock=_Clock())
    for _ in range(4):
        lockout.failed("2001")
    lockout.passed("2001")
    for _ in range(4):
        lockout.failed("2001")
    assert not lockout.locked("2001")


def test_a_session_is_found_by_its_token_until_it_is_closed() -> None:
    sessions = Sessions()
    op = Operator("1001", "王芳", "cashier")
    token = sessions.open(op)
    assert sessions.get(token) is op and sessions.open(op) != token
    assert sessions.get(None) is None and sessions.get("") is None and sessions.get("x") is None
    assert sessions.close(token) is op
    assert sessions.get(token) is None and sessions.close(token) is None
