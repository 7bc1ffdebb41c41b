"""The web face's trust boundaries, in process (httpx over ASGI), as an attacker would try them:
the HTTP sale without its token or with a form's body, a retried sale, forms without their CSRF
token or from another origin, redirects to another site, pages beyond a role, an idle session,
and the PIN lockout across a restart (docs/security.md "The terminal's web face")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from terminal.bootstrap import open_terminal
from terminal.checkout.operators import seed_demo_operators
from terminal.checkout.service import CheckoutService
from terminal.config import load_config
from terminal.demo import demo_claim
from terminal.ledger import txn_of
from terminal.web.app import Hooks, create_app
from tests.e2e.webauth import API_TOKEN, AUTH
from tests.unit.web.test_app import NOW, Client, _Clock

TODAY = date(2026, 3, 16)
CASHIER, SUPERVISOR = ("1001", "1234"), ("2001", "2468")


class Seconds:
    """An injected clock for the idle sign-out and the lockout: seconds, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def config(make_config: Callable[..., Path], clean_env: None) -> Path:
    return make_config(web={"api_token": API_TOKEN})


@pytest.fixture
def seconds() -> Seconds:
    return Seconds()


@pytest.fixture
def service(config: Path) -> Iterator[CheckoutService]:
    service = open_terminal(load_config(config), clock=_Clock())
    seed_demo_operators(service)
    yield service
    service.ledger.close()


@pytest.fixture
def client(service: CheckoutService, seconds: Seconds) -> Iterator[Client]:
    client = Client(create_app(service, hooks=Hooks(), clock=seconds))
    yield client
    client.close()


def _sign_in(client: Client, who: tuple[str, str] = CASHIER, next_: str = "/") -> str:
    answer = client.post("/login", data={"operator_id": who[0], "pin": who[1], "next": next_})
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def _claim() -> dict[str, object]:
    return demo_claim("outpatient", NOW.date())


# -- the HTTP sale --------------------------------------------------------------------------


def test_the_http_sale_needs_its_bearer_token(client: Client, service: CheckoutService) -> None:
    claim = _claim()
    assert client.post("/api/checkout", json=claim, csrf=False).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.post("/api/checkout", json=claim, headers=wrong, csrf=False).status_code == 401
    _sign_in(client)  # a signed-in browser is no API caller either
    assert client.post("/api/checkout", json=claim).status_code == 401
    assert service.ledger.head()[0] == 0


def test_a_text_plain_body_is_415_and_sells_nothing(
    client: Client, service: CheckoutService
) -> None:
    """What a cross-origin form (`enctype="text/plain"`) can send: never a sale."""
    import json

    body = json.dumps(_claim())
    for media in ("text/plain", "application/x-www-form-urlencoded", ""):
        headers = {**AUTH, "Content-Type": media}
        answer = client.post("/api/checkout", content=body, headers=headers, csrf=False)
        assert answer.status_code == 415, (media, answer.text)
    assert service.ledger.head()[0] == 0


def test_a_retried_basket_id_gets_the_first_answer_and_one_sale(
    client: Client, service: CheckoutService
) -> None:
    body = {**_claim(), "basket_id": "his-0001", "operator": "his-7"}
    first = client.post("/api/checkout", json=body, headers=AUTH, csrf=False)
    assert first.status_code == 200, first.text
    again = client.post("/api/checkout", json=body, headers=AUTH, csrf=False)
    assert again.status_code == 200 and again.json() == first.json()
    assert service.ledger.head()[0] == 1
    row = txn_of(service.ledger, first.json()["txn_id"])
    assert row is not None and row["operator"] == "his-7"
    other = client.post("/api/checkout", json=_claim(), headers=AUTH, csrf=False)
    assert other.json()["seq"] == 2  # no basket id: a sale each time
    row = txn_of(service.ledger, other.json()["txn_id"])
    assert row is not None and row["operator"] == "api"  # the token's name


def test_a_basket_id_outlives_the_process(config: Path) -> None:
    """Stored in the sale's own unit of work: a new process (after a kill -9 between the commit
    and the answer) still finds it."""
    body = {**_claim(), "basket_id": "his-0002"}
    answers = []
    for _ in range(2):
        service = open_terminal(load_config(config), clock=_Clock())
        client = Client(create_app(service, hooks=Hooks()))
        answers.append(client.post("/api/checkout", json=body, headers=AUTH, csrf=False).json())
        client.close()
        assert service.ledger.head()[0] == 1
        service.ledger.close()
    assert answers[0] == answers[1] and answers[0]["seq"] == 1


def test_the_demo_default_generates_a_private_token(
    make_config: Callable[..., Path], clean_env: None
) -> None:
    config = load_config(make_config())
    assert config.terminal.demo and not config.web.api_token
    service = open_terminal(config, clock=_Clock())
    try:
        web = create_app(service, hooks=Hooks()).state.web
        path = config.data_dir / "api-token"
        assert web.api_token_path == path and path.stat().st_mode & 0o777 == 0o600
        assert path.read_text().strip() == web.api_token and len(web.api_token) >= 32
        again = create_app(service, hooks=Hooks()).state.web
        assert again.api_token == web.api_token  # kept, not made anew on each start
    finally:
        service.ledger.close()


# -- forms: CSRF and Origin -----------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused(client: Client) -> None:
    _sign_in(client)
    frag = {"x-fragment": "1"}
    bare = client.post("/scan", data={"text": "6910100000012"}, headers=frag, csrf=False)
    assert bare.status_code == 403
    forged = {**frag, "x-csrf-token": "guessed"}
    assert client.post("/scan", data={"text": "x"}, headers=forged, csrf=False).status_code == 403
    assert "阿莫西林" not in client.get("/counter").text
    fine = client.post("/scan", data={"text": "6910100000012"}, headers=frag)
    assert fine.status_code == 200 and "阿莫西林" in fine.text


def test_a_form_from_another_origin_is_refused_even_with_a_token(client: Client) -> None:
    _sign_in(client)
    for header in ({"origin": "http://evil.example"}, {"referer": "http://evil.example/x"}):
        answer = client.post("/scan", data={"text": "6910100000012"}, headers=header)
        assert answer.status_code == 403, header
    own = client.post(
        "/scan", data={"text": "6910100000012"}, headers={"origin": "http://testserver"}
    )
    assert own.status_code == 303


def test_the_sign_in_form_needs_its_token_too(client: Client) -> None:
    form = {"operator_id": CASHIER[0], "pin": CASHIER[1], "next": "/"}
    assert client.post("/login", data=form, csrf=False).status_code == 403
    assert client.get("/").status_code == 303  # not signed in
    assert client.post("/login", data=form).headers["location"] == "/"


# -- redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "/\t/x"],
)
def test_redirects_stay_on_this_site(client: Client, target: str) -> None:
    assert f'value="{target}"' not in client.get("/login", params={"next": target}).text
    assert _sign_in(client, next_=target) == "/"
    lang = client.get("/lang/en", headers={"referer": target})
    assert lang.status_code == 303 and lang.headers["location"] == "/"
    client.post("/logout")


def test_a_redirect_to_an_own_path_is_kept(client: Client) -> None:
    assert _sign_in(client, next_="/refund?q=1") == "/refund?q=1"
    lang = client.get("/lang/en", headers={"referer": "http://testserver/refund?q=1"})
    assert lang.headers["location"] == "/refund?q=1"


# -- roles ----------------------------------------------------------------------------------


def test_day_end_figures_are_a_supervisors_and_sync_and_events_a_cashiers(client: Client) -> None:
    assert client.get("/day.csv").status_code == 401
    assert client.get("/events").status_code == 401
    signed_out = client.post("/sync-now")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")
    _sign_in(client, CASHIER)
    assert client.get("/day.csv").status_code == 403
    day = client.get("/day")
    assert day.status_code == 303 and day.headers["location"].startswith("/?err=")
    assert client.post("/day/reconcile", data={"d": ""}).headers["location"].startswith("/?err=")
    assert client.post("/sync-now").status_code == 303  # not enrolled: said so, on the page
    client.post("/logout")
    _sign_in(client, SUPERVISOR)
    assert client.get("/day.csv").status_code == 200
    assert client.get("/day").status_code == 200


# -- the idle sign-out ----------------------------------------------------------------------


def test_an_idle_session_signs_out_and_polling_does_not_keep_it(
    client: Client, seconds: Seconds
) -> None:
    _sign_in(client)
    for _ in range(14):  # the page's background polling, every minute: not activity
        seconds.now += 60.0
        client.get("/status-bar")
        assert client.get("/counter").status_code == 200
    seconds.now += 59.0
    assert client.get("/").status_code == 200  # 14 min 59 s idle: still signed in; now active
    seconds.now += 15 * 60.0
    assert client.get("/counter").status_code == 200  # 15 minutes since: not yet
    seconds.now += 1.0
    assert client.get("/counter").status_code == 401  # past 15 minutes idle: signed out
    assert client.get("/").headers["location"] == "/login?next=/"


# -- the PIN lockout ------------------------------------------------------------------------


def test_the_last_tries_are_announced_and_the_lock_survives_a_restart(
    config: Path, seconds: Seconds
) -> None:
    service = open_terminal(load_config(config), clock=_Clock())
    seed_demo_operators(service)
    client = Client(create_app(service, hooks=Hooks(), clock=seconds))
    client.get("/lang/en")
    errors = []
    for _ in range(5):
        errors.append(_sign_in(client, (SUPERVISOR[0], "0000")))
    assert not any("left" in e for e in errors[:2])  # five tries: nothing said for two
    assert "2+tries+left+before+this+id+is+locked+for+5+minutes" in errors[2]
    assert "1+try+left" in errors[3] and "left" not in errors[4]
    client.close()
    service.ledger.close()

    service = open_terminal(load_config(config), clock=_Clock())  # a restart
    client = Client(create_app(service, hooks=Hooks(), clock=seconds))
    client.get("/lang/en")
    try:
        assert _sign_in(client, SUPERVISOR).startswith("/login?err=")  # the right PIN: locked
        seconds.now += 300.0
        assert _sign_in(client, SUPERVISOR) == "/"
    finally:
        client.close()
        service.ledger.close()


def test_a_non_loopback_bind_is_named_as_exposed() -> None:
    from terminal.cli.serve import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")  # noqa: S104
    assert not is_loopback("counter.example")


class _Reconciling:
    """The platform hook's reconciliation (what `SyncService.reconcile` answers, here fixed: its
    3202 with codes sold twice is tested against a real hub in test_trace_hub)."""

    def __init__(self, conflicts: list[dict[str, object]]) -> None:
        self.conflicts = conflicts

    def reconcile(self, day: date) -> dict[str, object]:
        totals = {"stmt_rslt": "0"}
        return {"setl_date": day.isoformat(), "totals": totals, "detail": {},
                "trace_conflicts": self.conflicts, "matches": True}  # fmt: skip


def test_the_day_page_shows_the_codes_the_platform_found_sold_twice(
    service: CheckoutService, seconds: Seconds
) -> None:
    conflict = {"code": "83456789012345678901", "first_txn_id": "H1-7", "second_txn_id": "H2-3",
                "first_fixmedins_code": "H33010000002", "second_fixmedins_code": "H33010000001",
                "hours_between": 5, "severity": "high"}  # fmt: skip
    hooks = Hooks()
    client = Client(create_app(service, hooks=hooks, clock=seconds))
    try:
        _sign_in(client, SUPERVISOR)
        hooks.platform = _Reconciling([conflict])  # (after the sign-in, which it would tell)
        day = NOW.date().isoformat()
        assert "trace-conflicts" not in client.get(f"/day?d={day}").text
        assert client.post("/day/reconcile", data={"d": day}).status_code == 303
        page = client.get(f"/day?d={day}").text
    finally:
        client.close()
    assert 'data-testid="trace-conflicts"' in page and "追溯码被重复销售" in page
    assert "83456789012345678901" in page and "H1-7" in page and "H2-3" in page
    assert "72 小时内在另一机构销售" in page
