"""The virtual phone on demand (terminal/demo/phone.py): showing nothing, the camera's next frame
waits for a code to be shown, and a code shown ends that wait with the code's frame."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import numpy as np
import pytest

import terminal.demo.phone as phone_module
from terminal.demo import demo_people
from terminal.demo.phone import VirtualPhone
from terminal.identity.issuer import generate_issuer_key


def test_a_phone_showing_nothing_keeps_the_next_frame_until_a_code_is_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(phone_module, "IDLE_WAIT_S", 600.0)  # only a code shown ends the wait
    phone = VirtualPhone(
        generate_issuer_key("EdDSA"), demo_people(date(2026, 12, 7)), on_demand=True
    )
    frames: list[Any] = []
    camera = threading.Thread(target=lambda: frames.append(phone.frame()), daemon=True)
    camera.start()
    camera.join(0.2)
    assert camera.is_alive() and frames == []  # still waiting: nothing to photograph
    text = phone.present(0)
    camera.join(30)
    assert not camera.is_alive() and text.startswith("ESC1:")
    [frame] = frames
    assert frame.shape == (480, 640, 3) and not np.all(frame == frame.flat[0])  # not blank
