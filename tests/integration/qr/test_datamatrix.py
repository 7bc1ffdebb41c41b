"""GS1 Data Matrix (trace codes on drug packages) through the camera pipeline and `medpos qr
decode`: rendered, photographed on a phone and distorted with OpenCV (drivers/qr/synth), every
distortion kind, and read at least as well as raw zxing-cpp reads the same frames."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp

from drivers.qr.decode import decode_frame
from drivers.qr.synth import KINDS, gs1_trace_text, photograph, render_datamatrix, render_qr
from tests.conftest import MEDPOS


def payload(element_string: str) -> bytes:
    """The bytes a GS1 Data Matrix of `(01)…(17)…(10)…(21)…` carries: FNC1 as GS."""
    parts = element_string.replace("(", " ").split()
    fields = [parts[i].split(")")[0] + parts[i].split(")")[1] for i in range(len(parts))]
    # (10) is variable length: a GS ends it before (21)
    return "".join(f + ("\x1d" if f.startswith("10") else "") for f in fields).encode()


@pytest.fixture(scope="module")
def frames() -> list[tuple[str, bytes, np.ndarray]]:
    rng = np.random.default_rng(15)
    out = []
    for i in range(len(KINDS)):  # every kind once, the two frame sizes in turn
        kind = KINDS[i % len(KINDS)]
        text = gs1_trace_text(rng)
        size = (640, 480) if i % 2 else (1280, 720)
        frame = photograph(render_datamatrix(text, 8, gs1=True), rng, kind=kind, frame_size=size)
        out.append((kind, payload(text), frame))
    return out


def test_the_pipeline_reads_every_data_matrix_raw_zxing_cpp_reads_and_more(
    frames: list[tuple[str, bytes, np.ndarray]],
) -> None:
    raw_read = pipeline_read = 0
    for kind, expected, frame in frames:
        raw = {
            bytes(r.bytes) for r in zxingcpp.read_barcodes(frame, text_mode=zxingcpp.TextMode.Plain)
        }
        ours = {d.data for d in decode_frame(frame)}
        assert raw <= ours, kind
        assert ours <= {expected}, kind  # nothing misread
        raw_read += expected in raw
        pipeline_read += expected in ours
    assert pipeline_read >= raw_read
    assert pipeline_read >= len(frames) - 2  # (raw zxing-cpp misses some moiré and glare)


def test_a_qr_frame_still_stops_at_the_qr_steps(
    frames: list[tuple[str, bytes, np.ndarray]],
) -> None:
    rng = np.random.default_rng(16)
    frame = photograph(render_qr("ESC1:ABC", 8), rng, kind="plain")
    [code] = decode_frame(frame)
    assert (code.data, code.decoder) == (b"ESC1:ABC", "zxing-cpp")
    [dm] = decode_frame(frames[0][2])
    assert dm.decoder.startswith("zxing-cpp datamatrix") and dm.symbology == "]d2"


def test_qr_decode_prints_text_by_charset_and_base64_only_for_binary(tmp_path: Path) -> None:
    rng = np.random.default_rng(17)
    gs1 = gs1_trace_text(rng)
    kanji = zxingcpp.create_barcode("お薬テスト", zxingcpp.BarcodeFormat.QRCode)  # Kanji mode
    kanji_img = np.pad(
        np.array(zxingcpp.write_barcode_to_image(kanji, scale=8)), 40, constant_values=255
    )
    images = {
        "sjis-bytes": render_qr("お薬手帳".encode("shift_jis"), 8),  # byte mode, no ECI
        "sjis-kanji": kanji_img,
        "datamatrix": render_datamatrix(gs1, 8, gs1=True),
        "binary": render_qr(b"\xff\xfe\x00\x81ESC", 8),
    }
    paths = []
    for name, img in images.items():
        paths.append(str(tmp_path / f"{name}.png"))
        cv2.imwrite(paths[-1], img)
    plain = subprocess.run(
        [MEDPOS, "qr", "decode", *paths], capture_output=True, timeout=120, check=False
    )
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout == b"".join(
        [
            "お薬手帳\n".encode(),
            "お薬テスト\n".encode(),
            payload(gs1) + b"\n",
            b"\xff\xfe\x00\x81ESC\n",  # not text: its bytes as they are
        ]
    )
    done = subprocess.run(
        [MEDPOS, "qr", "decode", "--json", *paths], capture_output=True, timeout=120, check=False
    )
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        {"file": paths[0], "text": "お薬手帳"},
        {"file": paths[1], "text": "お薬テスト"},
        {"file": paths[2], "text": payload(gs1).decode()},
        {"file": paths[3], "bytes_b64": "//4AgUVTQw=="},
    ]
