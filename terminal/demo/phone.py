"""The virtual phone of the embedded default: demo e-card codes shown to the camera pipeline.

Every `refresh_s` seconds the phone shows a fresh code (a new `cti`) for the next demo person,
signed by the demo issuer key, rendered with qrcode and photographed as a phone screen held to a
camera (`drivers.qr.synth`): a hand-held shot, a little tilt, some blur and noise. A few shots per
code are cycled, as a real camera sees a slightly different frame every time.

On demand (`medpos run`) the phone shows nothing until a customer holds a code up (`present`);
meanwhile the camera's next frame waits for that, at most `IDLE_WAIT_S`: the reader decoded a
blank frame ten times a second through its whole cascade, some 15 % of a core for an empty
counter. A code shown wakes the waiting frame at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from drivers.qr.synth import photograph, render_qr
from terminal.demo.ecard import demo_ecard_claims
from terminal.demo.people import DemoPerson
from terminal.identity.issuer import IssuerKey, mint_ecard

__all__ = ["IDLE_WAIT_S", "VirtualPhone"]

IDLE_WAIT_S = 0.5  # the longest an on-demand phone showing nothing keeps the camera waiting
SHOTS = ("plain", "perspective", "rotation", "blur", "noise", "glare")


class VirtualPhone:
    """`frame()` is a camera frame of the phone; `text` the code it shows now."""

    def __init__(
        self,
        key: IssuerKey,
        people: Sequence[DemoPerson],
        *,
        refresh_s: float = 10.0,
        now: Callable[[], float] = time.time,
        seed: int = 7,
        frame_size: tuple[int, int] = (640, 480),
        on_demand: bool = False,
    ) -> None:
        if not people:
            raise ValueError("the virtual phone needs at least one demo person")
        self.key = key
        self.people = list(people)
        self.refresh_s = refresh_s
        self._now = now
        self._rng = np.random.default_rng(seed)
        self._size = frame_size
        self._lock = threading.Lock()
        self._index = -1
        self._minted_at = -float("inf")
        self._frames: list[Any] = []
        self._shown = 0
        self.text = ""
        # on demand: the camera sees no code until a customer shows one (`present`), as at a
        # real counter; otherwise a fresh code for the next person every `refresh_s`
        self.on_demand = on_demand
        self._until = -float("inf")
        self._shown_now = threading.Event()
        self._blank = np.full((frame_size[1], frame_size[0], 3), 40, dtype=np.uint8)

    @property
    def person(self) -> DemoPerson:
        return self.people[max(self._index, 0) % len(self.people)]

    def next_code(self) -> str:
        """Show a fresh code for the next person now (what a customer's "refresh" does)."""
        with self._lock:
            self._mint()
            return self.text

    def present(self, index: int, seconds: float = 30.0) -> str:
        """Show a fresh code of person `index` for `seconds` (a customer holding up the phone)."""
        with self._lock:
            self._index = index - 1
            self._mint()
            self._until = self._now() + seconds
            self._shown_now.set()
            return self.text

    def _mint(self) -> None:
        self._index += 1
        now = self._now()
        self._minted_at = now
        claims = demo_ecard_claims(self.person)
        self.text = mint_ecard(self.key, claims, iat=int(now), ttl=300)
        code = render_qr(self.text, 6)
        self._frames = [
            photograph(code, self._rng, kind=kind, frame_size=self._size) for kind in SHOTS
        ]

    def frame(self) -> Any:
        """The camera's next frame of the phone screen."""
        if self.on_demand and self._now() >= self._until:
            self._shown_now.wait(IDLE_WAIT_S)
            self._shown_now.clear()
        with self._lock:
            if self.on_demand:
                if self._now() >= self._until:
                    return self._blank
            elif self._now() - self._minted_at >= self.refresh_s:
                self._mint()
            self._shown += 1
            return self._frames[self._shown % len(self._frames)]
