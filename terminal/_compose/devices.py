"""The counter's devices chosen by the configuration: the receipt printer (`[printer]`), the
camera's frame source and QR pipeline (`[qr]`), and the embedded default's virtual cards (pcscd
with vpcd, the demo PSAM and a demo person's card). Each opener registers what stops it with
`on_close` and tells the cashier what it did through `say`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from terminal.config import Config

__all__ = [
    "CodeSink",
    "open_frame_source",
    "open_printer",
    "start_qr_reader",
    "start_virtual_cards",
]

Say = Callable[[str], None]
OnClose = Callable[[Callable[[], None]], None]


class CodeSink(Protocol):
    """Where the QR pipeline reports: its events and errors, and the last frame it read."""

    frame: Any

    def on_event(self, event: dict[str, Any]) -> None: ...

    def on_error(self, exc: Exception) -> None: ...


def open_printer(config: Config, say: Say) -> Callable[[Any], str] | None:
    """The receipt printer of `[printer]`: Receipt → where it went (raises PrinterError); None
    for "none". A printer that cannot be opened gives a function that says why at each receipt:
    no printer must not stop sales."""
    cfg = config.printer
    if cfg.kind == "none":
        return None
    from drivers.printer import PrinterError
    from drivers.printer import open_printer as open_device

    try:
        printer = open_device(
            cfg.kind,
            path=config.resolve(cfg.path),
            host=cfg.host,
            port=cfg.port,
            usb_vendor=cfg.usb_vendor,
            usb_product=cfg.usb_product,
            width=cfg.width,
        )
    except PrinterError as exc:
        say(f"printer: {exc}")
        failure = str(exc)

        def cannot_print(receipt: Any) -> str:
            raise PrinterError(failure)

        return cannot_print

    def print_receipt(receipt: Any) -> str:
        result = printer.print(receipt)
        # file names only: the folder is in config.toml, the counter's panel is narrow
        return ", ".join(w.rsplit("/", 1)[-1] for w in result.where) or result.kind

    return print_receipt


def open_frame_source(config: Config, data_dir: Path, today: date, *, on_demand: bool) -> Any:
    """The camera pipeline's frame source chosen by `[qr] source`, or None for "none".

    "virtual" is the embedded default's virtual phone: demo e-card codes signed by this data
    directory's demo issuer, photographed as a phone screen.
    """
    qr = config.qr
    if qr.source == "none":
        return None
    if qr.source == "camera":
        return open_named_source(camera=qr.camera_index)
    if qr.source == "video":
        return open_named_source(video=config.resolve(qr.video_path))
    if qr.source == "folder":
        return open_named_source(folder=config.resolve(qr.folder_path))
    from drivers.qr.capture import CallbackSource
    from terminal.demo import demo_people
    from terminal.demo.ecard import demo_issuer_key
    from terminal.demo.phone import VirtualPhone

    phone = VirtualPhone(demo_issuer_key(data_dir), demo_people(today), on_demand=on_demand)
    source = CallbackSource(phone.frame, "virtual phone")
    setattr(source, "phone", phone)  # noqa: B010 - the page's demo control of the phone
    return source


def open_named_source(
    *, camera: int | None = None, video: str | Path | None = None, folder: str | Path | None = None
) -> Any:
    """The frame source named: a camera by index, a video file, or a folder of images."""
    from drivers.qr.capture import CameraSource, FolderSource, VideoSource

    if camera is not None:
        return CameraSource(camera)
    if video:
        return VideoSource(video)
    if folder:
        return FolderSource(folder)
    raise ValueError("name a camera, a video or a folder")


def start_qr_reader(config: Config, source: Any, sink: CodeSink, on_close: OnClose) -> Any:
    """The QR pipeline over `source` in the background, reporting to `sink`."""
    from drivers.qr.capture import QrReader
    from terminal.checkout.hardware import FrameTap

    def keep(frame: Any) -> None:
        sink.frame = frame

    reader = QrReader(
        FrameTap(source, keep),
        on_event=sink.on_event,
        on_error=sink.on_error,
        dedup_seconds=config.qr.dedup_window_s,
        # a camera paces itself; the virtual phone and recorded frames are read at 10 per second
        fps=None if config.qr.source == "camera" else 10.0,
    ).start()
    on_close(reader.stop)
    return reader


def start_virtual_cards(config: Config, today: date, on_close: OnClose, say: Say) -> Any:
    """pcscd with vpcd, the demo PSAM in slot 1 and the first demo person's card in slot 0; the
    demo card slot (`DemoCardSlot`)."""
    from drivers.card.pcsc import card_atr
    from drivers.card.virtual import serve_in_thread
    from drivers.card.virtual.card import card_from_dict
    from drivers.card.virtual.demo import psam_doc
    from drivers.card.virtual.stack import ensure_pcscd
    from terminal.checkout.hardware import DemoCardSlot
    from terminal.demo import demo_people

    pcscd = ensure_pcscd()
    if pcscd is not None:
        on_close(pcscd.terminate)
    people = demo_people(today)
    person = people[0]
    psam = serve_in_thread(card_from_dict(psam_doc()), 35964)
    slot = DemoCardSlot(people, today, config.card.reader, 35963)
    slot.insert(0)
    on_close(slot.remove)
    on_close(psam.close)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # pcscd polls its readers: wait until both are seen
        if card_atr(config.card.reader) and card_atr(config.card.sam):
            break
        time.sleep(0.05)
    say(
        f"virtual card of {person.name} ({person.card_no}) in '{config.card.reader}', "
        f"demo PSAM in '{config.card.sam}'"
    )
    return slot
