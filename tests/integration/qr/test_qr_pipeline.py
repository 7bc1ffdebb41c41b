"""The QR pipeline on real rendered and distorted frames, fed the way a camera feeds it.

Codes are rendered with qrcode (error correction M) from ESC1-shaped texts, photographed by
drivers/qr/synth with each distortion kind, written to files and read back through FolderSource,
VideoSource or CameraSource into QrReader, as the terminal reads them.
"""

from __future__ import annotations

import io
import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import zxingcpp

from drivers.qr.capture import (
    CallbackSource,
    CameraSource,
    FolderSource,
    ImageSource,
    QrReader,
    VideoSource,
    WedgeScanner,
)
from drivers.qr.decode import QrError, decode_frame, decode_image_file
from drivers.qr.synth import KINDS, ecard_like_text, photograph, render_qr
from terminal.errors import DriverError
from tests.conftest import MEDPOS

EVENT_KEYS = {"latency_ms", "decoder", "source"}
WAIT = 60.0  # seconds any one event may take before the test fails (never reached when working)


def texts(seed: int, n: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [ecard_like_text(rng) for _ in range(n)]


def frame_of(text: str | bytes, seed: int, kind: str = "plain", **kw: Any) -> np.ndarray:
    return photograph(render_qr(text, 8), np.random.default_rng(seed), kind=kind, **kw)


def read_all(reader: QrReader) -> list[dict[str, Any]]:
    with reader:
        return list(reader.events(timeout=WAIT))


@pytest.mark.parametrize("kind", KINDS)
def test_every_distortion_kind_reads_through_a_folder_source(kind: str, tmp_path: Path) -> None:
    wanted = texts(KINDS.index(kind), 3)
    for i, text in enumerate(wanted):
        size = (1280, 720) if i == 2 else (640, 480)
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), frame_of(text, 100 + i, kind, frame_size=size))
    events = read_all(QrReader(FolderSource(tmp_path), dedup_seconds=0))
    assert [e["text"] for e in events] == wanted
    for event in events:
        assert set(event) == {"text"} | EVENT_KEYS
        assert event["source"] == f"folder:{tmp_path}"
        assert event["latency_ms"] >= 0


def test_a_video_of_phones_reads_each_code_once(tmp_path: Path) -> None:
    wanted = texts(7, 4)
    path = tmp_path / "phones.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 15, (640, 480))
    for i, (text, kind) in enumerate(
        zip(wanted, ["plain", "rotation", "inverted", "small"], strict=True)
    ):
        frame = frame_of(text, 200 + i, kind)
        for _ in range(3):  # a code stays in view for a few frames
            writer.write(frame)
    writer.write(np.full((480, 640, 3), 128, np.uint8))  # and then nothing is shown
    writer.release()
    events = read_all(QrReader(VideoSource(path), dedup_seconds=3600))
    assert [e["text"] for e in events] == wanted
    assert {e["source"] for e in events} == {f"video:{path}"}


def test_a_frame_with_two_codes_gives_both() -> None:
    first, second = texts(11, 2)
    frame = np.hstack([frame_of(first, 1), frame_of(second, 2)])
    assert {d.data.decode() for d in decode_frame(frame)} == {first, second}


def test_an_ean13_barcode_gives_its_digits() -> None:
    bars = np.asarray(
        zxingcpp.create_barcode("4006381333931", zxingcpp.BarcodeFormat.EAN13).to_image(scale=3)
    )
    frame = np.full((480, 640), 235, np.uint8)
    frame[150 : 150 + bars.shape[0], 120 : 120 + bars.shape[1]] = bars
    found = decode_frame(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    assert [d.data for d in found] == [b"4006381333931"]


def test_a_qr_code_that_is_not_an_ecard_gives_its_text() -> None:
    found = decode_frame(frame_of("https://example.org/menu?table=7", 5, "perspective"))
    assert [d.data for d in found] == [b"https://example.org/menu?table=7"]


def test_grayscale_and_bgra_frames_read_like_bgr() -> None:
    (text,) = texts(12, 1)
    bgr = frame_of(text, 3)
    for frame in (
        bgr,
        cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY),
        cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA),
    ):
        assert [d.data.decode() for d in decode_frame(frame)] == [text]
    assert decode_frame(np.zeros((0, 0), np.uint8)) == []


def test_a_frame_without_a_code_gives_nothing() -> None:
    blank = photograph(np.full((600, 600), 255, np.uint8), np.random.default_rng(4), kind="plain")
    assert decode_frame(blank) == []


def _video(path: Path, frames: list[np.ndarray]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 15, (640, 480))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def test_a_camera_that_stops_mid_stream_ends_the_reader_with_a_clear_error(
    tmp_path: Path,
) -> None:
    # a real cv2.VideoCapture that delivers two frames and then no more, as an unplugged camera
    (text,) = texts(13, 1)
    video = _video(tmp_path / "cam.avi", [frame_of(text, 6)] * 2)
    source = CameraSource(3, open_capture=lambda _: cv2.VideoCapture(str(video)))
    errors: list[QrError] = []
    reader = QrReader(source, dedup_seconds=3600, on_error=errors.append).start()
    events = reader.events(timeout=WAIT)
    assert next(events)["text"] == text
    with pytest.raises(QrError, match=r"camera 3 stopped delivering frames: check the cable"):
        next(events)
    reader.stop()
    assert reader.done.is_set()
    assert isinstance(reader.error, DriverError)
    assert errors == [reader.error]


def test_a_camera_that_cannot_be_opened_says_so(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-device.avi")
    with pytest.raises(QrError, match=r"camera 9 cannot be opened: check that it is plugged in"):
        CameraSource(9, open_capture=lambda _: cv2.VideoCapture(missing))


def test_a_failing_frame_function_ends_the_reader_with_a_qr_error() -> None:
    def broken() -> np.ndarray:
        raise OSError("virtual phone gone")

    reader = QrReader(CallbackSource(broken, name="phone")).start()
    with pytest.raises(QrError, match="phone failed .*virtual phone gone"):
        list(reader.events(timeout=WAIT))


def test_the_same_code_within_the_dedup_window_is_reported_once() -> None:
    a, b = texts(14, 2)
    frames = {a: frame_of(a, 7), b: frame_of(b, 8)}
    # (time, code in view): a stays in view, b passes, a is hidden 4 s and shown again
    script = iter([(0.0, a), (1.0, a), (2.0, b), (2.5, a), (6.5, a), (7.0, b)])
    now = [0.0]

    def next_frame() -> np.ndarray | None:
        for t, text in script:
            now[0] = t
            return frames[text]
        return None

    reader = QrReader(CallbackSource(next_frame), dedup_seconds=3.0, clock=lambda: now[0])
    assert [e["text"] for e in read_all(reader)] == [a, b, a, b]


def test_events_can_go_to_a_callback_and_stop_joins_the_thread() -> None:
    (text,) = texts(15, 1)
    frame = frame_of(text, 9)
    got: list[dict[str, Any]] = []
    first = threading.Event()

    def deliver(event: dict[str, Any]) -> None:
        got.append(event)
        first.set()

    reader = QrReader(CallbackSource(lambda: frame), on_event=deliver, dedup_seconds=3600).start()
    assert first.wait(WAIT)
    reader.stop()
    assert not reader._thread.is_alive()  # noqa: SLF001 - the join is the point
    assert [e["text"] for e in got] == [text]
    with pytest.raises(RuntimeError):
        next(reader.events())


def test_a_wedge_scanner_line_becomes_an_event() -> None:
    typed = (
        "ESC1:6BFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3HSOVUX8\r\n\n\r\nhttps://x.example\n4006381333931"
    )
    events = read_all_wedge(WedgeScanner(io.StringIO(typed), name="wedge:kbd"))
    assert [e["text"] for e in events] == [
        "ESC1:6BFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3HSOVUX8",
        "https://x.example",
        "4006381333931",
    ]
    assert {(e["decoder"], e["source"]) for e in events} == {("wedge", "wedge:kbd")}
    assert all(set(e) == {"text"} | EVENT_KEYS for e in events)


def read_all_wedge(scanner: WedgeScanner) -> list[dict[str, Any]]:
    with scanner:
        return list(scanner.events(timeout=WAIT))


def test_a_wedge_scanner_dedups_when_asked() -> None:
    scanner = WedgeScanner(io.StringIO("A\nA\nB\n"), dedup_seconds=60)
    assert [e["text"] for e in read_all_wedge(scanner)] == ["A", "B"]


def test_an_image_file_that_is_missing_or_not_an_image_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(QrError, match=r"nothere\.png: no such image file: check the path"):
        decode_image_file(tmp_path / "nothere.png")
    junk = tmp_path / "notes.png"
    junk.write_text("not an image", encoding="utf-8")
    with pytest.raises(QrError, match=r"notes\.png: not an image .*: give a PNG or JPEG file"):
        decode_image_file(junk)
    with pytest.raises(QrError, match=r"no such folder"):
        FolderSource(tmp_path / "nothere")
    with pytest.raises(QrError, match=r"no such video file"):
        VideoSource(tmp_path / "nothere.avi")
    reader = QrReader(ImageSource([junk]))
    with pytest.raises(QrError, match="notes.png"):
        read_all(reader)


# ---- medpos qr decode, from the outside ----------------------------------------------------


def medpos(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([MEDPOS, *args], capture_output=True, timeout=120, check=False)


@pytest.fixture
def images(tmp_path: Path) -> dict[str, tuple[Path, bytes]]:
    first, second = texts(16, 2)
    payloads: dict[str, str | bytes] = {
        "ecard": first,
        "lines": "line one\nline two",
        "binary": b"\xff\xfe\x00\x81ESC",
        "also": second,
    }
    out = {}
    for i, (name, payload) in enumerate(payloads.items()):
        path = tmp_path / f"{name}.jpg"
        cv2.imwrite(str(path), frame_of(payload, 300 + i, KINDS[i]))
        out[name] = (path, payload if isinstance(payload, bytes) else payload.encode())
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((480, 640, 3), 240, np.uint8))
    out["blank"] = (blank, b"")
    return out


def test_qr_decode_prints_each_code_raw_in_file_order(images: dict[str, Any]) -> None:
    names = ["also", "lines", "binary", "ecard"]
    done = medpos("qr", "decode", *(str(images[n][0]) for n in names))
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"".join(images[n][1] + b"\n" for n in names)
    assert done.stderr == b""


def test_qr_decode_json_gives_file_and_text_or_base64(images: dict[str, Any]) -> None:
    names = ["ecard", "binary"]
    done = medpos("qr", "decode", "--json", *(str(images[n][0]) for n in names))
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        {"file": str(images["ecard"][0]), "text": images["ecard"][1].decode()},
        {"file": str(images["binary"][0]), "bytes_b64": "//4AgUVTQw=="},
    ]


def test_qr_decode_exits_1_and_names_the_image_without_a_code(images: dict[str, Any]) -> None:
    blank, ecard = images["blank"][0], images["ecard"][0]
    done = medpos("qr", "decode", str(blank), str(ecard))
    assert done.returncode == 1
    assert done.stdout == images["ecard"][1] + b"\n"
    assert f"{blank}: no code found".encode() in done.stderr
    missing = medpos("qr", "decode", "--json", str(blank.parent / "gone.png"))
    assert missing.returncode == 1
    assert missing.stdout == b""
    assert b"gone.png: no such image file" in missing.stderr


def test_qr_watch_prints_one_json_line_per_new_code(tmp_path: Path) -> None:
    wanted = texts(17, 3)
    for i, text in enumerate(wanted):
        cv2.imwrite(str(tmp_path / f"{i}.png"), frame_of(text, 400 + i, "rotation"))
    done = medpos("qr", "watch", "--folder", str(tmp_path), "--dedup", "0")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["text"] for e in events] == wanted
    assert {e["source"] for e in events} == {f"folder:{tmp_path}"}
    first = medpos("qr", "watch", "--folder", str(tmp_path), "--dedup", "0", "--count", "1")
    assert [json.loads(line)["text"] for line in first.stdout.splitlines()] == wanted[:1]
