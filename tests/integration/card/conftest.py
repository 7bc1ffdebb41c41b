"""Real pcscd with the vpcd driver: started here when it is not running, stopped only if started."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from drivers.card.errors import ReaderError
from drivers.card.pcsc import card_atr
from drivers.card.virtual import VpcdClient, serve_in_thread
from drivers.card.virtual.card import card_from_dict
from drivers.card.virtual.demo import card_doc, psam_doc
from drivers.card.virtual.stack import ensure_pcscd

CARD_READER = "Virtual PCD 00 00"
SAM_READER = "Virtual PCD 00 01"


@pytest.fixture(scope="session")
def pcscd() -> Iterator[None]:
    """pcscd with vpcd: started here when no vpcd reader is visible, stopped only if started."""
    if shutil.which("pcscd") is None and not Path("/usr/sbin/pcscd").exists():
        pytest.fail("pcscd is not installed: `apt-get install pcscd vsmartcard-vpcd` (make setup)")
    try:
        proc = ensure_pcscd()
    except ReaderError as exc:
        pytest.fail(str(exc))
    yield
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=10)


def wait_for(reader: str, present: bool, *, attempts: int = 200) -> bool:
    for _ in range(attempts):
        if (card_atr(reader) is not None) == present:
            return True
        time.sleep(0.02)
    if attempts < 200:
        return False
    raise AssertionError(f"{reader}: card {'never appeared' if present else 'never left'}")


@pytest.fixture
def insert(pcscd: None) -> Iterator[Callable[..., VpcdClient]]:
    """`insert(doc, slot=0, **faults)`: a virtual card in a vpcd slot, removed after the test."""
    clients: list[tuple[VpcdClient, str]] = []

    def insert_(doc: dict[str, Any], slot: int = 0, **faults: Any) -> VpcdClient:
        reader = SAM_READER if slot else CARD_READER
        # a card an earlier test (or process) is still pulling out would pass for this one
        # (bounded, without failing: a test may insert over a card it left in on purpose)
        wait_for(reader, False, attempts=150)
        for _ in range(5):
            client = serve_in_thread(card_from_dict(doc), 35963 + slot, **faults)
            # vpcd sometimes drops the first connection after a card was pulled mid-exchange,
            # as a reader may miss a hurried re-insertion: insert again, as a cashier would
            if wait_for(reader, True, attempts=50):
                clients.append((client, reader))
                return client
            client.close()
        raise AssertionError(f"{reader}: the virtual card never appeared")

    yield insert_
    for client, reader in clients:
        client.close()
        wait_for(reader, False)


PEOPLE: list[dict[str, Any]] = [
    {
        "psn_cert": "330102197001011235",
        "name": "张伟",
        "card_no": "HA1046913",
        "sex": "1",
        "ethnicity": "01",
        "birthplace": "330102",
    },
    {
        "psn_cert": "11010519491231002X",
        "name": "阿依古丽·买买提明·托合提尼亚孜",
        "card_no": "HA1046926",
        "sex": "2",
        "ethnicity": "05",
        "birthplace": "650102",
    },
]


@pytest.fixture
def today() -> date:
    return date.today()


@pytest.fixture
def demo(today: date) -> Callable[..., dict[str, Any]]:
    def make(i: int = 0, **changes: Any) -> dict[str, Any]:
        return card_doc(**PEOPLE[i], serial=0x10000B26 + i, today=today, **changes)

    return make


@pytest.fixture
def psam(insert: Callable[..., VpcdClient]) -> VpcdClient:
    return insert(psam_doc(), slot=1)
