"""The card watch survives what readers, the PSAM and pcscd do (issue 13, finding 2): every failure
is said to the cashier and the next insertion is read. Scripted events and reads; the same
through pcscd and vpcd is in tests/integration/card/test_card_storm.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from drivers.card.errors import CardResetError
from drivers.card.reader import CardRead
from terminal.checkout.counter import Counter
from terminal.checkout.hardware import CardWatch

INSERTED = {"event": "card_inserted", "reader": "Virtual PCD 00 00", "atr": "3B"}
REMOVED = {"event": "card_removed", "reader": "Virtual PCD 00 00"}


def _read_of(psn_cert: str) -> CardRead:
    """What reading a valid card of `psn_cert` gives."""
    return CardRead(
        card_sn="330100D15600000500000001",
        card_category="3",
        spec_version="3.00",
        init_org_code="",
        issue_date="20230101",
        expiry_date="20991231",
        card_no="A00000001",
        atr_hist="",
        psn_cert=psn_cert,
        psn_name="测试",
        sex="1",
        ethnicity="01",
        birthplace="330100",
        birth_date=psn_cert[6:14],
        terminal_no="330100000001",
        authenticated=True,
    )


def _watch(
    counter: Counter, sources: list[list[dict[str, Any]] | Exception], reads: list[Any]
) -> CardWatch:
    """A watch whose event source gives `sources` one after another (an exception: the source
    fails) and whose reads answer `reads` in turn (an exception: the read raises it)."""
    left = list(sources)
    answers = list(reads)
    watch: CardWatch

    def events() -> Iterator[dict[str, Any]]:
        if not left:
            watch.stop()
            return
        source = left.pop(0)
        if isinstance(source, Exception):
            raise source
        yield from source

    def read() -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    watch = CardWatch(counter.service, counter, events=events, read=read, retry_s=0)
    return watch


def _known_cert(counter: Counter) -> str:
    return str(counter.service.ledger.query("SELECT psn_cert FROM persons LIMIT 1")[0][0])


def test_a_pcsc_error_in_a_read_is_said_and_the_next_card_is_read(counter: Counter) -> None:
    cert = _known_cert(counter)
    seen: list[tuple[str, str]] = []
    reset = RuntimeError("getATR: Card was reset (0x80100068)")  # what pyscard raised
    watch = _watch(
        counter,
        [[INSERTED, REMOVED, INSERTED, REMOVED, INSERTED]],
        [reset, CardResetError("the PSAM was reset"), _read_of(cert)],
    )
    original: Callable[..., None] = counter.card_event

    def spy(event: str, detail: str = "") -> None:
        seen.append((event, detail))
        original(event, detail)

    counter.card_event = spy  # type: ignore[method-assign]
    watch.run()
    errors = [detail for event, detail in seen if event == "error"]
    assert len(errors) == 2 and "reinsert" in errors[0] and "insert it again" in errors[1]
    person = counter.state.person
    assert person is not None and person.identity.psn_cert == cert and person.how == "card"
    assert counter.state.card == "read" and watch.failures == 2


def test_the_event_source_failing_is_said_and_started_again(counter: Counter) -> None:
    cert = _known_cert(counter)
    watch = _watch(
        counter,
        [[INSERTED], OSError("pcscd went away"), [REMOVED, INSERTED]],
        [_read_of(cert), _read_of(cert)],
    )
    states: list[str] = []
    original: Callable[..., None] = counter.card_event

    def spy(event: str, detail: str = "") -> None:
        states.append(event)
        original(event, detail)

    counter.card_event = spy  # type: ignore[method-assign]
    watch.run()
    assert states == ["reading", "read", "lost", "none", "reading", "read"]
    assert counter.state.person is not None and counter.state.problem is None


def test_a_lost_reader_clears_the_customer(counter: Counter) -> None:
    cert = _known_cert(counter)
    watch = _watch(counter, [[INSERTED], OSError("reader unplugged")], [_read_of(cert)])
    watch.run()
    st = counter.state
    assert st.person is None and st.card == "lost"
    assert st.problem is not None and st.problem[0] == "reader_lost"


def test_the_watch_answers_read_the_card_again(counter: Counter) -> None:
    watch = _watch(counter, [], [])
    assert counter.reread is not None
    counter.read_card_again()
    assert watch._again.is_set()
