"""What the camera may change at the counter: it names the customer only while nobody is named
(or it named them itself and the basket is empty); a phone held up by the next person in the queue
never takes over an open basket, whereas a scanned code or a card always does."""

from __future__ import annotations

import threading

from terminal.bootstrap import seed_demo_trust_list
from terminal.checkout.counter import Counter
from terminal.checkout.service import CheckoutService
from terminal.demo import demo_people
from terminal.demo.ecard import demo_ecard_claims, demo_issuer_key
from terminal.identity.issuer import mint_ecard


def test_the_camera_does_not_take_over_an_open_basket(service: CheckoutService) -> None:
    seed_demo_trust_list(service)
    key = demo_issuer_key(service.ledger.path.parent)
    people = demo_people(service.local_now().date())
    now = int(service.clock.now().timestamp())

    def code(i: int) -> str:
        return mint_ecard(key, demo_ecard_claims(people[i]), iat=now)

    counter = Counter(service, threading.RLock())
    assert counter.camera_ecard(code(0))  # nobody named yet: the camera names them
    assert counter.state.person is not None and counter.state.person.name == people[0].name
    assert counter.camera_ecard(code(1))  # named by the camera, empty basket: the next code wins
    assert counter.state.person.name == people[1].name and counter.state.notice == "person_changed"

    counter.scan(code(0))  # a code scanned on purpose
    assert counter.state.person.name == people[0].name and not counter.state.person.by_camera
    version = counter.version
    assert not counter.camera_ecard(code(1))
    assert counter.state.person.name == people[0].name
    assert counter.state.notice == "camera_other_code" and counter.version == version + 1
    assert not counter.camera_ecard(code(1))  # said once, not on every frame
    assert counter.version == version + 1

    counter.void(None)
    assert counter.camera_ecard(code(1))
    counter.scan("6910100000012")  # a barcode
    assert counter.state.lines and counter.state.person.by_camera
    assert not counter.camera_ecard(code(0))  # named by the camera, but the basket is open
    assert counter.state.person.name == people[1].name
