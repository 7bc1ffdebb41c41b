"""Readers: frames from a source (`drivers.qr.sources`) or lines from a scanner → code events.

An event is `{"text" | "bytes_b64": payload, "latency_ms": float, "decoder": str, "source": str}`:
`text` when the payload is UTF-8, else `bytes_b64` (standard Base64). `latency_ms` is the time from
the frame (or scanned line) arriving to its event being handed over. Readers run in a background
thread and never block the caller: events go to a callback (called on the reader's thread) or to
a queue read with `events()`. A source that fails ends the reader with a `QrError` that says what
to do; `events()` raises it, `on_error` receives it, `error` holds it.

The same payload seen again within `dedup_seconds` of its last sighting is not reported again, so
a phone held in front of the camera gives one event, and showing it again later gives another.
"""

from __future__ import annotations

import base64
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, TextIO

import cv2

from drivers.qr.decode import Decoded, QrError, decode_frame
from drivers.qr.sources import (
    CallbackSource,
    CameraSource,
    FolderSource,
    FrameSource,
    Image,
    ImageSource,
    VideoSource,
)

__all__ = [
    "CallbackSource",
    "CameraSource",
    "FolderSource",
    "FrameSource",
    "ImageSource",
    "QrReader",
    "VideoSource",
    "WedgeScanner",
    "frame_jpeg",
    "payload_fields",
]

log = logging.getLogger(__name__)


def frame_jpeg(frame: Image, quality: int = 60) -> bytes | None:
    """A camera frame as JPEG bytes (the page's view of the camera), None if it cannot be coded."""
    ok, jpg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return jpg.tobytes() if ok else None


Event = dict[str, Any]


def payload_fields(data: bytes) -> dict[str, str]:
    """`{"text": …}` when `data` is UTF-8, else `{"bytes_b64": …}`."""
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"bytes_b64": base64.b64encode(data).decode("ascii")}


_END = object()


class _EventPump:
    """A background thread that turns what it reads into de-duplicated events."""

    def __init__(
        self,
        source_name: str,
        *,
        on_event: Callable[[Event], None] | None,
        on_error: Callable[[QrError], None] | None,
        dedup_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self.source_name = source_name
        self.error: QrError | None = None
        self.queue: queue.Queue[Any] = queue.Queue()
        self._on_event = on_event
        self._on_error = on_error
        self._dedup = dedup_seconds
        self._clock = clock
        self._last_seen: dict[bytes, float] = {}
        self._stop = threading.Event()
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._main, name=source_name, daemon=True)

    def start(self) -> _EventPump:
        """Start reading in the background; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop and wait for it (at most `timeout` seconds)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s: still blocked in a read after %.1f s", self.source_name, timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Events as they come until the source ends or the reader stops; raises the QrError
        that ended it. `timeout` (seconds) bounds each wait: `queue.Empty` when it runs out."""
        if self._on_event is not None:
            raise RuntimeError("events go to the on_event callback of this reader")
        while True:
            item = self.queue.get(timeout=timeout)
            if item is _END:
                self.queue.put(_END)  # a second events() ends at once too
                if self.error is not None:
                    raise self.error
                return
            yield item

    def __enter__(self) -> _EventPump:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _main(self) -> None:
        try:
            self._loop()
        except QrError as exc:
            self._fail(exc)
        except Exception as exc:  # noqa: BLE001 - the thread must end with a clear outcome
            log.exception("%s failed", self.source_name)
            err = QrError(f"{self.source_name} failed ({exc}): check the source and start again")
            err.__cause__ = exc
            self._fail(err)
        finally:
            self._cleanup()
            self.queue.put(_END)
            self.done.set()

    def _fail(self, exc: QrError) -> None:
        self.error = exc
        log.warning("%s", exc)
        if self._on_error is not None:
            self._on_error(exc)

    def _emit(self, data: bytes, decoder: str, started: float) -> None:
        now = self._clock()
        last = self._last_seen.get(data)
        self._last_seen[data] = now
        if last is not None and now - last < self._dedup:
            return
        if len(self._last_seen) > 256:  # forget codes not seen for a while
            self._last_seen = {
                k: t for k, t in self._last_seen.items() if now - t < self._dedup or k == data
            }
        event: Event = payload_fields(data)
        event["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        event["decoder"] = decoder
        event["source"] = self.source_name
        if self._on_event is not None:
            self._on_event(event)
        else:
            self.queue.put(event)

    def _loop(self) -> None:
        raise NotImplementedError

    def _cleanup(self) -> None:
        pass


class QrReader(_EventPump):
    """Reads `source` in a background thread, decodes every frame and reports each new code.

    `fps` caps the reading rate (a camera paces itself; a video or folder is read as fast as it
    decodes unless `fps` is set). The source is closed when the reader ends."""

    def __init__(
        self,
        source: FrameSource,
        *,
        on_event: Callable[[Event], None] | None = None,
        on_error: Callable[[QrError], None] | None = None,
        dedup_seconds: float = 3.0,
        fps: float | None = None,
        decode: Callable[[Image], list[Decoded]] = decode_frame,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            source.name,
            on_event=on_event,
            on_error=on_error,
            dedup_seconds=dedup_seconds,
            clock=clock,
        )
        self.source = source
        self._period = 1.0 / fps if fps else 0.0
        self._decode = decode

    def start(self) -> QrReader:
        super().start()
        return self

    def __enter__(self) -> QrReader:
        return self.start()

    def _loop(self) -> None:
        next_due = time.monotonic()
        while not self.stopping:
            frame = self.source.read()
            if frame is None:
                return
            started = time.perf_counter()
            try:
                found = self._decode(frame)
            except Exception:  # noqa: BLE001 - one bad frame must not end the stream
                log.exception("%s: decoding a frame failed", self.source_name)
                found = []
            for code in found:
                self._emit(code.data, code.decoder, started)
            if self._period:
                next_due += self._period
                self._stop.wait(max(0.0, next_due - time.monotonic()))

    def _cleanup(self) -> None:
        try:
            self.source.close()
        except Exception:  # noqa: BLE001 - closing must not hide the outcome
            log.exception("%s: closing failed", self.source_name)


class WedgeScanner(_EventPump):
    """A keyboard-wedge scanner: it types each code then Enter. Reads `stream` line by line in a
    background thread; CR/LF are stripped, empty lines ignored. A thread blocked on a terminal
    read cannot be interrupted: `stop` returns after its timeout and the thread ends with the
    stream (it is a daemon thread)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        name: str = "wedge",
        on_event: Callable[[Event], None] | None = None,
        on_error: Callable[[QrError], None] | None = None,
        dedup_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            name, on_event=on_event, on_error=on_error, dedup_seconds=dedup_seconds, clock=clock
        )
        self._stream = stream

    def start(self) -> WedgeScanner:
        super().start()
        return self

    def __enter__(self) -> WedgeScanner:
        return self.start()

    def _loop(self) -> None:
        while not self.stopping:
            try:
                line = self._stream.readline()
            except (OSError, ValueError) as exc:
                raise QrError(
                    f"{self.source_name}: the scanner input failed ({exc}): plug the scanner in "
                    "again and restart the scan"
                ) from exc
            if line == "":
                return  # end of stream
            started = time.perf_counter()
            text = line.rstrip("\r\n")
            if text:
                self._emit(text.encode("utf-8"), "wedge", started)
