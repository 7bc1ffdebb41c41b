"""Where adapters are chosen (STYLE.md): the terminal's one composition root.

`build_terminal(config)` is the whole terminal as a `Terminal`: the ledger (created with the
device key on first start; a configuration change recorded in the audit log; the embedded
default's demo reference data seeded on first start when `[terminal] demo = true`), the checkout
service over it and, when the terminal is enrolled, the sync service over an HTTP client to the
platform, given to checkout as its `PlatformLink` (the 1101 fetch before a sale; the two hold no
reference to each other). `medpos serve` and `medpos run` then ask it for the rest: demo
operators, the virtual cards, the embedded platform and the background sync loop
(`start_counter`), the printer (`open_printer`), the camera (`open_frame_source`, `start_camera`)
and the card watch once the page's counter exists (`watch_cards`). `Terminal.close()` releases
everything it opened, newest first.

`open_terminal(config)` is the checkout service alone, linked to no platform unless given one
(tests and benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sync.client.http import HttpPlatform, platform_client
from terminal._compose.devices import (
    CodeSink,
    open_frame_source,
    open_named_source,
    open_printer,
    start_qr_reader,
    start_virtual_cards,
)
from terminal._compose.platform import (
    SyncLoop,
    enrol_with_local_hub,
    prepare_local_hub,
    start_local_hub,
)
from terminal._compose.seed import prune_replay, record_start, seed_demo_data, seed_demo_trust_list
from terminal.checkout.breaker import QuietAfterFailure
from terminal.checkout.clock import Clock, SystemClock
from terminal.checkout.service import CheckoutService, PlatformLink
from terminal.checkout.syncing import SyncService
from terminal.config import Config
from terminal.ledger import SqliteLedger

__all__ = [
    "CodeSink",
    "Terminal",
    "build_terminal",
    "open_named_source",
    "open_platform",
    "open_terminal",
    "seed_demo_data",
    "seed_demo_trust_list",
]

Say = Callable[[str], None]


def open_platform(
    config: Config,
    url: str | None = None,
    *,
    ledger: SqliteLedger | None = None,
    clock: Clock | None = None,
) -> HttpPlatform:
    """The platform at `url` (default `[platform] url`) over an HTTP client with `[platform]
    timeout_s`, fetching reference data signed by `ledger`'s device key (`X-Dev-Time` from
    `clock`, the terminal's); the caller closes it."""
    device = None if ledger is None else (config.terminal.dev_no, ledger.key.sign_b64)
    terminal_clock = clock or SystemClock()
    return HttpPlatform(
        platform_client(url or config.platform.url, timeout_s=config.platform.timeout_s),
        device=device,
        clock=lambda: terminal_clock.now().timestamp(),
    )


def _open_ledger(config: Config, db_path: Path | None) -> SqliteLedger:
    return SqliteLedger.open(db_path or config.db_path, dev_no=config.terminal.dev_no)


def _enrolled(config: Config, ledger: SqliteLedger) -> bool:
    return bool(ledger.get_meta("root_public_key") or config.platform.root_public_key)


class Terminal:
    """The terminal built from one configuration; each part an attribute, `close()` the end.

    `service` is the checkout service; `sync` the sync service when there is a platform to talk
    to (None otherwise); `loop`, `printer`, `demo_slot` and `camera` are set by `start_counter`.
    """

    def __init__(self, config: Config, ledger: SqliteLedger, clock: Clock) -> None:
        self.config = config
        self.ledger = ledger
        self.clock = clock
        self.sync: SyncService | None = None
        self.service = CheckoutService(config, ledger, clock)
        self.loop: SyncLoop | None = None
        self.printer: Callable[[Any], str] | None = None
        self.demo_slot: Any = None  # the embedded default's DemoCardSlot under `medpos run`
        self.camera: Any = None  # the QR pipeline's frame source, once started
        self._closers: list[Callable[[], None]] = [ledger.close]

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run `closer` at `close()`, newest first."""
        self._closers.append(closer)

    def close(self) -> None:
        """Stop and close every part, newest first."""
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def data_dir(self) -> Path:
        """The directory of the ledger (its demo issuer key, the local hub's database)."""
        return self.ledger.path.parent

    def connect(self, url: str | None = None, *, link: bool = False) -> SyncService:
        """A sync service over this ledger and a new client to the platform at `url`; with
        `link`, also the checkout service's platform link for the 1101 fetch."""
        transport = open_platform(self.config, url, ledger=self.ledger, clock=self.clock)
        self.on_close(transport.close)
        sync = SyncService(self.ledger, self.config, self.clock, transport)
        if link:
            self.sync = sync
            self._link(sync)
        return sync

    def _link(self, link: PlatformLink) -> None:
        self.service.platform = link

    # -- what `medpos serve` and `medpos run` add ----------------------------------------------

    def start_counter(self, *, run: bool, say: Say) -> None:
        """The counter's parts: demo operators, and under `run` the virtual cards (with
        `[card] virtual`) and the local platform (with `[platform] embedded`); the background
        sync loop whenever there is a platform, asked through a link that stays quiet for a
        while after it failed to answer."""
        from terminal.checkout.operators import seed_demo_operators

        if self.config.terminal.demo:
            seed_demo_operators(self.service)
        if run and self.config.card.virtual:
            today = self.service.local_now().date()
            self.demo_slot = start_virtual_cards(self.config, today, self.on_close, say)
        if run and self.config.platform.embedded:
            self._start_local_platform(say)
        elif self.sync is not None:
            self.loop = self._start_sync_loop(say)
        if self.sync is not None:
            self._link(QuietAfterFailure(self.sync))

    def open_printer(self, say: Say) -> Callable[[Any], str] | None:
        """The receipt printer of `[printer]` (None for "none"): Receipt → where it went."""
        self.printer = open_printer(self.config, say)
        return self.printer

    def _start_local_platform(self, say: Say) -> None:
        db = prepare_local_hub(self.config, self.data_dir, self.service.local_now())
        hub = start_local_hub(self.config, db)
        self.on_close(hub.terminate)
        sync = self.sync or self.connect(link=True)
        enrol_with_local_hub(sync, self.data_dir, say)
        self.loop = self._start_sync_loop(say)
        platform = self.config.platform
        say(
            f"platform: local reference platform at {platform.url}, syncing every "
            f"{platform.sync_interval_s:g} s"
        )

    def _start_sync_loop(self, say: Say) -> SyncLoop:
        path = self.ledger.path

        def open_sync() -> tuple[SyncService, Callable[[], None]]:
            # the loop's own database connection and client: it runs beside the counter
            ledger = _open_ledger(self.config, path)
            transport = open_platform(self.config, ledger=ledger, clock=self.clock)

            def close() -> None:
                transport.close()
                ledger.close()

            return SyncService(ledger, self.config, self.clock, transport), close

        loop = SyncLoop(open_sync, self.config.platform.sync_interval_s, say).start()
        self.on_close(loop.stop)
        return loop

    def open_frame_source(self, *, on_demand: bool = False) -> Any:
        """The frame source of `[qr] source` (None for "none"); raises MedposError when the
        camera, video or folder cannot be opened."""
        today = self.service.local_now().date()
        return open_frame_source(self.config, self.data_dir, today, on_demand=on_demand)

    def start_camera(self, source: Any, sink: CodeSink) -> Any:
        """The QR pipeline over `source` in the background, reporting to `sink`."""
        self.camera = source
        return start_qr_reader(self.config, source, sink, self.on_close)

    def watch_cards(self, counter: Any) -> Any:
        """The card watch on `[card] reader` feeding `counter` (None without a reader)."""
        if not self.config.card.reader:
            return None
        from terminal.checkout.hardware import CardWatch

        watch = CardWatch(self.service, counter).start()
        self.on_close(watch.stop)
        return watch


def build_terminal(
    config: Config, *, db_path: Path | None = None, clock: Clock | None = None
) -> Terminal:
    """The terminal of `config` (its ledger at `db_path`, default `config.db_path`), linked to
    the platform when it is enrolled; the caller closes it."""
    ledger = _open_ledger(config, db_path)
    terminal = Terminal(config, ledger, clock or SystemClock())
    try:
        _start(terminal.service)
        if _enrolled(config, ledger):
            # an enrolled terminal asks the platform for a person's accumulators before a sale,
            # within [platform] presettle_wait_s, and settles offline when it does not answer
            terminal.connect(link=True)
    except BaseException:
        terminal.close()
        raise
    return terminal


def open_terminal(
    config: Config,
    *,
    db_path: Path | None = None,
    clock: Clock | None = None,
    platform: PlatformLink | None = None,
) -> CheckoutService:
    """The checkout service over this terminal's ledger, linked to `platform` if given and to
    nothing else; the caller closes `service.ledger`."""
    clock = clock or SystemClock()
    ledger = _open_ledger(config, db_path)
    try:
        service = CheckoutService(config, ledger, clock, platform)
        _start(service)
    except BaseException:
        ledger.close()
        raise
    return service


def _start(service: CheckoutService) -> None:
    """What every start does with the ledger: record the configuration, seed the demo data on
    first start, forget expired e-card token ids."""
    config, ledger = service.config, service.ledger
    now = service.local_now()
    record_start(ledger, config, now)
    if config.terminal.demo and ledger.get_refdata("policy") is None:
        seed_demo_data(service)
    if config.terminal.demo and ledger.get_refdata("trustlist") is None:
        seed_demo_trust_list(service)
    prune_replay(ledger, service.clock.now(), config.ecard.clock_tolerance_s)
