"""QR codes, Data Matrix (and 1D barcodes) from camera frames (ecard-qr.md "Replay and
display": codes down to about 2.5 px per module, light or dark mode, on a phone held in front of
the camera).

`decode_frame` runs `CASCADE` on the gray frame. Each attempt is a preprocessing and a decoder;
the first attempt that reads anything gives the result, every distinct payload it read (a frame
holding two QR codes gives both; one holding a QR code and a 1D barcode gives the QR code).
`decode_image_file` runs `STILL_CASCADE`, which adds steps a single still image can afford.

Data Matrix (trace-codes.md: GS1 codes on imported drugs; a GS1 symbol's FNC1 separators arrive
as GS in the payload) has steps of its own after the QR steps: zxing-cpp's Data Matrix finder
costs about 9 ms a frame with rotations, against 0.7 ms for the QR-only look, so QR frames
never pay for it. On 112 GS1 Data Matrix frames of drivers/qr/synth (`render_datamatrix`, every
distortion kind, seed 3; in brackets seed 7), read by: raw zxing-cpp (defaults, BGR) 99 (101);
upright 93, 1.3 ms; smoothed upright 88, 3.0 ms; with rotations 99 (101), 5.4 ms, every frame
raw zxing-cpp reads; thresholded 87, 10.9 ms. The three steps in that order read 110 (106);
with thresholding after them 110 (107), so thresholding is for still images only. The Data
Matrix steps come before pyzbar, which reads none, and a frame without a code pays them
(about 10 ms more).

The order was measured with `python -m bench qr`: 504 frames from drivers/qr/synth (14
distortion kinds, 640×480 and 1280×720, seed 2026); in brackets a 1008-frame run with seed 7.
Raw decoders, called once on the unprocessed frame:

    zxing-cpp (defaults)   97.6 % (95.8 %)   median  6.5 ms
    pyzbar                 80.6 % (82.0 %)            10.9 ms
    OpenCV                 41.9 % (44.6 %)            10.6 ms
    this cascade          100.0 % (100.0 %)           0.98 ms   = 0.15× the fastest raw

Each step alone (rate, median per 640×480 / 1280×720 frame, frames no other step reads):

    1 zxing-cpp, QR only    97.6 %   0.9 / 1.4 ms   0 (0)   reads 492 of 504 frames first
    2 … smoothed            87.5 %   0.9 / 1.7 ms   1 (0)   9 of the 12 left: moiré, noise
    3 … thresholded         96.4 %   1.8 / 4.2 ms   1 (1)   the other 3: glare, bright, blur
    4 pyzbar thresholded    82.9 %   4.5 / 11.8 ms  0 (3)   3 frames with seed 7
    5 zxing-cpp 1D only      0 %     3.2 / 4.6 ms   -       EAN-13 and co., for the caller

Why: zxing-cpp limited to QR and Micro QR is 7× faster than its default, whose 1D scanners cost
about 3 ms a frame, and alone reads almost everything; letting it try the inverted image too
(dark mode) costs about 0.1 ms a frame, less than a step of its own would. A light
blur (σ 1.2 px) takes out moiré and sensor noise; an adaptive threshold over ~4 modules takes
out glare, overexposure and soft focus. pyzbar only pays on a thresholded frame and only for QR
symbols (its 1D scanners cost time and print zbar assertions on stderr). 1D barcodes come last,
so only frames without a QR code pay for them.

Measured and left out of `CASCADE`:
- Downscaling large frames first (long side 960 px): 1.7 ms on 1280×720 against 1.4 ms as is,
  and no frame gained: zxing-cpp already tries downscaled copies itself (`try_downscale`), so
  no full-resolution fallback is needed either.
- Upscaling ×2 for small codes: 98.8 % alone but nothing the steps above miss, at 2–5 ms; and
  OpenCV's detector: 41.9 %, 10.5 ms (29 ms at 1280×720), nothing the others miss. Both end
  `STILL_CASCADE` in case a real photograph differs from the bench's.
- In development runs on the same kinds: CLAHE, an unsharp mask, zxing-cpp's global-histogram
  binarizer and pyzbar on the unprocessed, inverted or smoothed frame each read fewer frames
  than the steps kept and none they missed.

A frame without a code (most frames of a live camera) runs the whole cascade: 7.1 ms median at
640×480 against 3.2 ms for one raw zxing-cpp call, well inside a 30 fps frame period.
zxing-cpp reads in plain text mode so that payloads that are not UTF-8 come out unchanged.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import zxingcpp
from pyzbar import pyzbar
from pyzbar.pyzbar import ZBarSymbol

from terminal.errors import DriverError

__all__ = [
    "MAX_IMAGE_PIXELS",
    "Decoded",
    "QrError",
    "check_image_size",
    "decode_frame",
    "decode_image_file",
    "read_image",
]

log = logging.getLogger(__name__)

Image = np.ndarray
Corners = tuple[tuple[int, int], ...]


class QrError(DriverError):
    """A camera, video or image file could not give frames; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """One code: its payload bytes, the cascade step that read it (decoder and preprocessing,
    e.g. "zxing-cpp smoothed") and its corners in frame pixels, as that decoder lists them;
    zxing-cpp also gives its text (transcoded by the symbol's ECI or its guess) and symbology
    identifier (`]Q1`, `]d2`, …), which `drivers.qr.text.payload_text` uses."""

    data: bytes
    decoder: str
    corners: Corners | None = None
    text: str | None = None
    symbology: str | None = None


_QR_FORMATS = zxingcpp.BarcodeFormats(
    [zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.MicroQRCode]
)
_DM_FORMATS = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.DataMatrix])
_LINEAR_FORMATS = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.AllLinear])
_OPENCV = cv2.QRCodeDetector()
_HAS_DECODE_BYTES = hasattr(_OPENCV, "detectAndDecodeBytes")


def _gray(frame: Image) -> Image:
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 1:
        return frame[:, :, 0]
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _scaled(corners: Corners | None, scale: float) -> Corners | None:
    if corners is None or scale == 1:
        return corners
    return tuple((round(x / scale), round(y / scale)) for x, y in corners)


def zxing_qr(gray: Image) -> list[Decoded]:
    """zxing-cpp, QR and Micro QR only, both polarities: the cheap first look."""
    return _zxing(gray, _QR_FORMATS, invert=True)


def zxing_datamatrix(gray: Image) -> list[Decoded]:
    """zxing-cpp, Data Matrix only, upright (its finder tolerates tilt), both polarities."""
    return _zxing(gray, _DM_FORMATS, invert=True, rotate=False)


def zxing_datamatrix_rotated(gray: Image) -> list[Decoded]:
    """zxing-cpp, Data Matrix only, trying the rotations too: reads every frame raw zxing-cpp
    reads, at 5 ms a frame against 1 ms upright."""
    return _zxing(gray, _DM_FORMATS, invert=True)


def zxing_linear(gray: Image) -> list[Decoded]:
    """zxing-cpp, 1D barcodes only (EAN-13 and the like): scanning for them costs 3–5 ms."""
    return _zxing(gray, _LINEAR_FORMATS, invert=True)


def _zxing(
    gray: Image, formats: zxingcpp.BarcodeFormats, *, invert: bool, rotate: bool = True
) -> list[Decoded]:
    found = zxingcpp.read_barcodes(
        gray,
        formats=formats,
        try_rotate=rotate,
        try_invert=invert,
        text_mode=zxingcpp.TextMode.Plain,
    )
    out = []
    for r in found:
        p = r.position
        corners = tuple(
            (int(q.x), int(q.y)) for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
        )
        out.append(Decoded(bytes(r.bytes), "zxing-cpp", corners, r.text, r.symbology_identifier))
    return out


def zbar(gray: Image) -> list[Decoded]:
    """pyzbar (zbar), QR only: its 1D scanners cost time and print assertion noise on stderr."""
    try:
        found = pyzbar.decode(gray, symbols=[ZBarSymbol.QRCODE])
    except ValueError:
        # pyzbar 0.1.9 issue 139: an orientation of 4294967295 (unknown) is not an enum value
        return []
    except Exception as exc:  # noqa: BLE001 - zbar's own errors must not end the camera loop
        log.debug("pyzbar failed on a frame: %s", exc)
        return []
    return [
        Decoded(bytes(r.data), "pyzbar", tuple((int(p.x), int(p.y)) for p in r.polygon))
        for r in found
    ]


def opencv(gray: Image) -> list[Decoded]:
    """OpenCV's QRCodeDetector (one code per frame)."""
    try:
        if _HAS_DECODE_BYTES:
            data, points, _ = _OPENCV.detectAndDecodeBytes(gray)
            payload = bytes(data) if data else b""
        else:  # pragma: no cover - OpenCV before 4.11
            text, points, _ = _OPENCV.detectAndDecode(gray)
            payload = text.encode("utf-8") if text else b""
    except cv2.error as exc:
        log.debug("OpenCV QR detector failed on a frame: %s", exc)
        return []
    if not payload:
        return []
    corners = None
    if points is not None:
        corners = tuple((int(x), int(y)) for x, y in points.reshape(-1, 2))
    return [Decoded(payload, "opencv", corners)]


Decoder = Callable[[Image], list[Decoded]]
Prep = Callable[[Image], tuple[Image, float]]


def as_is(gray: Image) -> tuple[Image, float]:
    """The gray frame itself."""
    return gray, 1.0


def smoothed(gray: Image) -> tuple[Image, float]:
    """Moiré and sensor noise: a light blur that keeps modules of 2.5 px and more."""
    return cv2.GaussianBlur(gray, (0, 0), 1.2), 1.0


def thresholded(gray: Image) -> tuple[Image, float]:
    """Glare, washed-out and blurred frames: an adaptive threshold over about 4 modules."""
    binary = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 5
    )
    return binary, 1.0


def upscaled(gray: Image) -> tuple[Image, float]:
    """Small and blurred codes (2.5 px per module): twice the size, cubic."""
    return cv2.resize(gray, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC), 2.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """One step of the cascade: a preprocessing of the gray frame and a decoder."""

    name: str
    prep: Prep
    decoder: Decoder


# The order is the bench's (module docstring): cheapest first, each later step only for frames
# every earlier one missed.
CASCADE: tuple[Attempt, ...] = (
    Attempt("zxing-cpp", as_is, zxing_qr),
    Attempt("zxing-cpp smoothed", smoothed, zxing_qr),
    Attempt("zxing-cpp thresholded", thresholded, zxing_qr),
    Attempt("zxing-cpp datamatrix", as_is, zxing_datamatrix),
    Attempt("zxing-cpp datamatrix smoothed", smoothed, zxing_datamatrix),
    Attempt("zxing-cpp datamatrix rotated", as_is, zxing_datamatrix_rotated),
    Attempt("pyzbar thresholded", thresholded, zbar),
    Attempt("zxing-cpp barcodes", as_is, zxing_linear),
)
# A still image (`decode_image_file`, the CLI) is read once: it can afford the steps that read
# nothing the others missed on the bench's frames, in case a real photo differs.
STILL_CASCADE: tuple[Attempt, ...] = (
    *CASCADE,
    Attempt("zxing-cpp datamatrix thresholded", thresholded, zxing_datamatrix),
    Attempt("zxing-cpp upscaled", upscaled, zxing_qr),
    Attempt("opencv", as_is, opencv),
)


def run_cascade(frame: Image, cascade: tuple[Attempt, ...] = CASCADE) -> list[Decoded]:
    """The codes of the first attempt of `cascade` that finds any, distinct by payload."""
    if frame.size == 0:
        return []
    gray = _gray(frame)
    for attempt in cascade:
        img, scale = attempt.prep(gray)
        found = attempt.decoder(img)
        if found:
            return _distinct(found, attempt.name, scale)
    return []


def _distinct(found: list[Decoded], step: str, scale: float) -> list[Decoded]:
    """One `Decoded` per payload, named after the step, corners in the frame's pixels."""
    seen: dict[bytes, Decoded] = {}
    for d in found:
        if d.data not in seen:
            seen[d.data] = Decoded(d.data, step, _scaled(d.corners, scale), d.text, d.symbology)
    return list(seen.values())


def decode_frame(frame: Image) -> list[Decoded]:
    """Every distinct code in a BGR, BGRA or grayscale frame (empty when none is readable)."""
    return run_cascade(frame, CASCADE)


# 40 megapixels: a phone photo is 12-50 MP, a camera frame 0.3-2 MP; a code needs far fewer.
# A single-colour 20000×20000 PNG is 439 KB on disk and took OpenCV 40 s and 5.2 GB to decode.
MAX_IMAGE_PIXELS = 40_000_000
# 40 MP as an uncompressed 24-bit BMP is 120 MB: no image file to scan is larger
MAX_IMAGE_FILE_BYTES = 128 << 20


def image_size(data: bytes, path: Path) -> tuple[int, int]:
    """(width, height) from the header of an image file's bytes, without decoding its pixels
    (Pillow); `path` names the file in errors.

    QrError when Pillow cannot tell the size: OpenCV's own limit (OPENCV_IO_MAX_IMAGE_PIXELS,
    1 << 30 by default, read once when cv2 loads) is far above ours, so an image whose header we
    cannot read is not handed to it. Pillow's own bomb check (`Image.MAX_IMAGE_PIXELS`, 89.5 MP:
    a warning above it, an error above twice that, both at `open`) is above ours too; both are
    taken here as "too large"."""
    from PIL import Image as Pil
    from PIL import UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Pil.DecompressionBombWarning)
            with Pil.open(io.BytesIO(data)) as im:  # reads the header only
                width, height = im.size
    except Pil.DecompressionBombError as exc:  # its text gives the size: "Image size (N pixels)…"
        raise QrError(
            f"{path}: over the {MAX_IMAGE_PIXELS // 1_000_000} megapixel limit ({exc}): not "
            "decoded; give a smaller photo or a screenshot of the code"
        ) from None
    except UnidentifiedImageError:
        raise QrError(f"{path}: not an image OpenCV can read: give a PNG or JPEG file") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # plugins on a damaged header
        raise QrError(f"{path}: a damaged image header ({exc}): give a PNG or JPEG file") from None
    return int(width), int(height)


def check_image_size(width: int, height: int, what: str) -> None:
    """QrError when a `width`×`height` image is over MAX_IMAGE_PIXELS."""
    if width * height > MAX_IMAGE_PIXELS:
        raise QrError(
            f"{what}: {width}×{height} pixels is over the {MAX_IMAGE_PIXELS // 1_000_000} "
            "megapixel limit: not decoded; give a smaller photo or a screenshot of the code"
        )


def read_image(path: str | Path) -> Image:
    """An image file as a BGR frame; QrError naming the file when it is missing, no image, or
    over MAX_IMAGE_PIXELS (told from its header, before any pixel is decoded)."""
    p = Path(path)
    if not p.is_file():
        raise QrError(f"{p}: no such image file: check the path")
    try:
        with p.open("rb") as f:  # read once: the header checked is the one decoded
            raw = f.read(MAX_IMAGE_FILE_BYTES + 1)
    except OSError as exc:
        raise QrError(f"{p}: cannot be read ({exc.strerror}): check its permissions") from exc
    if len(raw) > MAX_IMAGE_FILE_BYTES:
        raise QrError(f"{p}: larger than {MAX_IMAGE_FILE_BYTES >> 20} MiB: not an image to scan")
    width, height = image_size(raw, p)
    check_image_size(width, height, str(p))
    data = np.frombuffer(raw, dtype=np.uint8)
    frame = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if frame is None:
        raise QrError(f"{p}: not an image OpenCV can read: give a PNG or JPEG file")
    check_image_size(frame.shape[1], frame.shape[0], str(p))  # a header that lied
    return frame


def decode_image_file(path: str | Path) -> list[Decoded]:
    """The codes in an image file; QrError when it is missing or not an image."""
    return run_cascade(read_image(path), STILL_CASCADE)
