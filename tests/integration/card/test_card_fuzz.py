"""Fuzzed card answers through real pcscd + vpcd: a virtual card that answers one APDU of a read
wrongly (cut short, another status word, a wrong TLV length or tag) never crashes the reader and
never yields an identity other than the card's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.card.errors import CardError
from drivers.card.virtual import VpcdClient
from terminal.identity.card import read_card_data
from tests.integration.card.conftest import CARD_READER, SAM_READER
from tests.support.profiles import examples

# each read goes through pcscd: 2000 under `make fuzz`, bounded under the ci profile
READS = examples(2000)

STATUS_WORDS = st.integers(0x6000, 0x6FFF).filter(
    lambda sw: sw != 0x6A83 and sw >> 8 not in (0x61, 0x6C)
)
MUTATIONS = st.tuples(
    st.integers(1, 21), st.sampled_from(["truncate", "sw", "tlv_len", "tag"]), st.integers(2, 255)
)


def _mutated(kind: str, n: int, sw: int, answer: bytes) -> bytes:
    body = answer[:-2]
    if kind == "truncate" and len(answer) > 2:
        # cut short to 2 … len-1 bytes: data lost, the last two bytes read as a status word.
        # (Answers under two bytes are what a card pulled out mid-exchange gives, which
        # test_card_pcsc covers; the unit fuzz covers them in-process.)
        return answer[: 2 + n % (len(answer) - 2)]
    if kind in ("sw", "truncate"):
        return body + bytes([sw >> 8, sw & 0xFF])
    if kind == "tlv_len" and len(body) >= 2:
        return body[:1] + bytes([(body[1] + 1 + n % 200) & 0xFF]) + body[2:] + answer[-2:]
    if kind == "tag" and body:
        return bytes([(body[0] + 1 + n % 254) & 0xFF]) + body[1:] + answer[-2:]
    return body + b"\x6f\x00"


@pytest.mark.hypothesis  # a property inside the test: `make fuzz` selects it too
def test_fuzzed_answers_through_pcscd_never_crash_and_never_read(
    insert: Callable[..., VpcdClient],
    psam: VpcdClient,
    demo: Callable[..., dict[str, Any]],
) -> None:
    state: dict[str, Any] = {"start": 0, "mutation": None}

    def mutate(i: int, answer: bytes) -> bytes:
        mutation = state["mutation"]
        if mutation is None or i - state["start"] != mutation[0]:
            return answer
        return _mutated(mutation[1], mutation[2], mutation[3], answer)

    client = insert(demo(0), mutate=mutate)
    genuine = read_card_data(CARD_READER, SAM_READER)
    outcomes: dict[str, int] = {}

    @settings(
        max_examples=READS,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(MUTATIONS, STATUS_WORDS)
    def one_read(mutation: tuple[int, str, int], sw: int) -> None:
        state["start"] = client.apdus
        state["mutation"] = (*mutation, sw)
        try:
            read = read_card_data(CARD_READER, SAM_READER)
        except CardError as exc:
            outcomes[exc.reason] = outcomes.get(exc.reason, 0) + 1
            return
        finally:
            state["mutation"] = None
        # a mutation that could not reach a data answer may leave a read: then it is exact
        assert read == genuine
        outcomes["read"] = outcomes.get("read", 0) + 1

    one_read()
    assert sum(outcomes.values()) >= READS
    assert outcomes.get("malformed_answer", 0) > 0 and outcomes.get("apdu_error", 0) > 0, outcomes
