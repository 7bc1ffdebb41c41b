"""Park and recall through the counter's routes, in process (issue 13): the parked list on the
page, a recall with its notice, a second recall refused in the page's language, and signing out
mid-sale parking the basket; the keypad on the sign-in page and the counter (issue 17)."""

from __future__ import annotations

import re

from tests.unit.web.test_app import Client, _sign_in
from tests.unit.web.test_app import client as client  # noqa: F401 - the fixture

FRAGMENT = {"x-fragment": "1"}


def _parked_ids(page: str) -> list[str]:
    return re.findall(
        r'name="basket_id" value="([0-9a-f]{32})">\s*<button[^>]*data-testid="recall"', page
    )


def test_park_recall_and_sign_out_through_the_pages(client: Client) -> None:
    sign_in = client.get("/login").text
    assert 'class="keypad inline"' in sign_in and "data-keypad" in sign_in
    _sign_in(client)
    counter = client.get("/").text
    assert 'id="keypad"' in counter and 'id="scan" name="text" autofocus data-keypad' in counter
    client.post("/scan", data={"text": "6910100000012"}, headers=FRAGMENT)
    parked = client.post("/park", headers=FRAGMENT).text
    [first] = _parked_ids(parked)
    assert "阿莫西林胶囊" in parked and 'data-testid="lines"' not in parked
    client.post("/scan", data={"text": "6913600000117"}, headers=FRAGMENT)
    client.post("/logout")  # mid-sale: the basket is parked, not handed on
    _sign_in(client, "2001", "2468")
    page = client.get("/").text
    second = [i for i in _parked_ids(page) if i != first]
    assert len(second) == 1 and 'data-testid="lines"' not in page
    recalled = client.post("/recall", data={"basket_id": first}, headers=FRAGMENT).text
    assert 'data-testid="recalled"' in recalled and "阿莫西林胶囊" in recalled
    assert _parked_ids(recalled) == second
    again = client.post("/recall", data={"basket_id": first}, headers=FRAGMENT).text
    assert "当前购物篮未完成" in again  # a basket is open: refused, in Chinese
    client.post("/void", headers=FRAGMENT)
    gone = client.post("/recall", data={"basket_id": first}, headers=FRAGMENT).text
    assert "该挂单已被取回或不存在" in gone
