"""A PSAM reset under the terminal's handle, and two cards with the same ATR swapped, through real
pcscd + vpcd (issue 13, finding 2): the reset is a `CardResetError` the card watch says and
recovers from, and the swap is seen through pcscd's event count."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from drivers.card.errors import CardResetError
from drivers.card.iso7816 import Iso7816Protocol
from drivers.card.pcsc import PcscConnection, card_atr, reset_card
from drivers.card.session import PsamSession
from drivers.card.virtual import VpcdClient
from terminal.identity.card import read_card_data
from tests.integration.card.conftest import CARD_READER, SAM_READER, wait_for


def test_a_psam_reset_under_an_open_handle_is_a_card_reset_error_and_the_next_read_works(
    insert: Callable[..., VpcdClient],
    psam: VpcdClient,
    demo: Callable[..., dict[str, Any]],
) -> None:
    insert(demo(0))
    held = PcscConnection(SAM_READER)
    try:
        assert PsamSession(Iso7816Protocol(held)).terminal_number() == "330100000001"
        assert reset_card(SAM_READER)  # another application resets the PSAM
        with pytest.raises(CardResetError) as reset:
            PsamSession(Iso7816Protocol(held)).terminal_number()
        assert reset.value.reason == "card_reset" and "insert it again" in str(reset.value)
    finally:
        held.close()
    read = read_card_data(CARD_READER, SAM_READER)  # the next read opens the PSAM afresh
    assert read.authenticated


def test_two_cards_with_the_same_atr_swapped_are_told_apart(
    insert: Callable[..., VpcdClient], demo: Callable[..., dict[str, Any]]
) -> None:
    first = insert(demo(0))
    before = card_atr(CARD_READER, with_events=True)
    first.close()
    wait_for(CARD_READER, False)
    second = insert(demo(1))
    after = card_atr(CARD_READER, with_events=True)
    second.close()  # both out before the fixture checks, in its order, that each one left
    wait_for(CARD_READER, False)
    assert before is not None and after is not None
    assert before.split("#")[0] == after.split("#")[0]  # the same ATR …
    assert before != after  # … but pcscd counted the removal and the insertion
