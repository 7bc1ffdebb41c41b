"""The counter over a terminal on a real ledger file, at a fixed time (the counter's tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from terminal.bootstrap import open_terminal
from terminal.checkout.counter import Counter
from terminal.checkout.service import CheckoutService
from terminal.config import load_config

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)  # 10:00 in Hangzhou


class _Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def service(make_config: Callable[..., Path], clean_env: None) -> Iterator[CheckoutService]:
    from tests.conftest import HIGH_LIMITS

    service = open_terminal(load_config(make_config(risk=HIGH_LIMITS)), clock=_Clock())
    yield service
    service.ledger.close()


@pytest.fixture
def printed() -> list[str]:
    return []


@pytest.fixture
def counter(service: CheckoutService, printed: list[str]) -> Counter:
    def printer(receipt_id: str) -> tuple[str, str]:
        printed.append(receipt_id)
        return f"{receipt_id}.escpos", ""

    return Counter(service, threading.RLock(), printer=printer)
