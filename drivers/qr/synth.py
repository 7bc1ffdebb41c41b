"""Deterministic camera frames of QR codes, for tests, the bench and the virtual-phone camera.

ecard-qr.md "Replay and display": issuers show the code at 4 px per module or more and the
terminal must read codes down to about 2.5 px per module. `photograph` puts a rendered code on a
phone screen (bezel, UI text lines, light or dark mode) held in front of the terminal's camera,
then applies what such a camera really sees, one kind at a time over a mild baseline (slight
tilt, focus blur, sensor noise, JPEG): every frame is meant to be readable by a good decoder.
Severities (`_shot`) sit at the hard end of what a counter camera sees: with them raw zxing-cpp
misses 2–4 % of frames (mostly moiré), raw pyzbar about 20 % and raw OpenCV over half
(`python -m bench qr`). The same `rng` always gives the same frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import qrcode
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q

__all__ = [
    "BASE45_ALPHABET",
    "KINDS",
    "distorted_corpus",
    "ecard_like_text",
    "gs1_trace_text",
    "photograph",
    "render_datamatrix",
    "render_qr",
]

BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
QUIET_MODULES = 4  # ISO/IEC 18004 quiet zone, rendered by `render_qr`

KINDS = (
    "plain",
    "perspective",
    "rotation",
    "blur",
    "motion",
    "noise",
    "dark",
    "bright",
    "glare",
    "moire",
    "inverted",
    "small",
    "large",
    "jpeg",
)

_EC = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}
Image = np.ndarray


def render_qr(text: str | bytes, module_px: int, ec: str = "M") -> Image:
    """The QR code of `text` as a grayscale image (black on white, 4-module quiet zone);
    bytes are encoded as they are (byte mode)."""
    if module_px < 1 or ec not in _EC:
        raise ValueError(f"module_px must be ≥ 1 and ec one of {sorted(_EC)}")
    qr = qrcode.QRCode(error_correction=_EC[ec], box_size=1, border=QUIET_MODULES)
    qr.add_data(text)
    qr.make(fit=True)
    modules = np.array(qr.get_matrix(), dtype=bool)
    img = np.where(modules, 0, 255).astype(np.uint8)
    return np.repeat(np.repeat(img, module_px, axis=0), module_px, axis=1)


def render_datamatrix(text: str, module_px: int, *, gs1: bool = False) -> Image:
    """The (square) Data Matrix of `text` as a grayscale image, black on white, with the same
    4-module quiet zone as `render_qr` (so `photograph` sizes it the same way). With `gs1`,
    `text` is a GS1 element string in parentheses, `(01)…(21)…`, encoded with FNC1."""
    import zxingcpp  # (only drivers/qr imports it; loaded here for the generator alone)

    if module_px < 1:
        raise ValueError("module_px must be ≥ 1")
    options = {"gs1": True} if gs1 else {}
    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.DataMatrix, **options)
    modules = np.array(zxingcpp.write_barcode_to_image(symbol, scale=1, add_quiet_zones=False))
    img = np.pad(modules, QUIET_MODULES, constant_values=255).astype(np.uint8)
    return np.repeat(np.repeat(img, module_px, axis=0), module_px, axis=1)


def gs1_trace_text(rng: np.random.Generator) -> str:
    """A GS1 drug package's element string: GTIN-14 (valid check digit), expiry, lot, serial."""
    body = "0" + "".join(str(d) for d in rng.integers(0, 10, 12))
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    gtin = body + str((10 - total % 10) % 10)
    lot = "".join(str(d) for d in rng.integers(0, 10, 6))
    serial = "".join(str(d) for d in rng.integers(0, 10, 12))
    return f"(01){gtin}(17)281231(10){lot}(21){serial}"


def ecard_like_text(rng: np.random.Generator, length: int | None = None) -> str:
    """`ESC1:` and 300–500 random Base45 characters: the shape of an e-card code's text."""
    n = int(rng.integers(300, 501)) if length is None else length
    return "ESC1:" + "".join(BASE45_ALPHABET[i] for i in rng.integers(0, 45, n))


@dataclass(frozen=True, slots=True)
class _Shot:
    """How one frame is taken: geometry, then light, then the camera."""

    ppm: float  # pixels per module in the frame
    angle: float  # degrees
    tilt: float  # degrees between the screen and the camera's image plane
    distance: float  # camera to screen, in code sides (closer: stronger perspective)
    blur: float  # gaussian sigma, px
    motion: float  # motion blur length, px
    noise: float  # sensor noise sigma, grey levels
    gain: float  # exposure: 1 is right
    lift: float  # black level raised by stray light (overexposure washes out)
    glare: float  # peak of the glare spot added, grey levels
    moire: float  # amplitude of the screen/sensor beat pattern, 0..1
    dark_mode: bool
    jpeg: int  # quality


def _shot(kind: str, rng: np.random.Generator, fit_ppm: float) -> _Shot:
    u = rng.uniform
    base = {
        "ppm": u(3.6, 5.5),
        "angle": u(-8, 8),
        "tilt": u(0, 15),
        "distance": u(2.0, 3.5),
        "blur": u(0.3, 0.7),
        "motion": 0.0,
        "noise": u(2, 5),
        "gain": u(0.8, 1.05),
        "lift": u(0, 15),
        "glare": 0.0,
        "moire": 0.0,
        "dark_mode": False,
        "jpeg": int(u(75, 92)),
    }
    if kind == "perspective":
        base["tilt"] = u(35, 50)
    elif kind == "rotation":
        base["angle"] = u(0, 360)
    elif kind == "blur":
        base["blur"] = u(0.3, 0.45) * base["ppm"]
    elif kind == "motion":
        base["motion"] = u(0.7, 1.2) * base["ppm"]
    elif kind == "noise":
        base["noise"] = u(20, 35)
    elif kind == "dark":
        base["gain"], base["noise"] = u(0.1, 0.2), u(3, 6)
    elif kind == "bright":
        base["gain"], base["lift"] = u(1.5, 2.2), u(90, 150)
    elif kind == "glare":
        base["glare"] = u(180, 260)
    elif kind == "moire":
        base["moire"] = u(0.3, 0.5)
    elif kind == "inverted":
        base["dark_mode"] = True
    elif kind == "small":
        base["ppm"] = u(2.5, 3.0)
        base["blur"] = u(0.3, 0.5)
    elif kind == "large":
        base["ppm"] = fit_ppm * u(0.92, 1.0)
    elif kind == "jpeg":
        base["jpeg"] = int(u(5, 12))
    elif kind != "plain":
        raise ValueError(f"unknown distortion kind {kind!r}: one of {', '.join(KINDS)}")
    if kind != "small":
        base["ppm"] = min(float(base["ppm"]), fit_ppm)
    return _Shot(**base)  # type: ignore[arg-type]


def _module_px(code: Image) -> float:
    """Source pixels per module of a `render_qr` image (its quiet zone is 4 modules)."""
    diag = np.diagonal(code)
    dark = np.flatnonzero(diag < 128)
    if dark.size == 0 or dark[0] == 0:
        return max(1.0, float(code.shape[0]) / 33)
    return float(dark[0]) / QUIET_MODULES


def _scene(rng: np.random.Generator, w: int, h: int) -> Image:
    """A desk and a shop counter, out of focus: smooth colour with some texture."""
    small = rng.uniform(40, 200, (4, 5, 3)).astype(np.float32)
    scene = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    texture = cv2.GaussianBlur(rng.normal(0, 18, (h, w)).astype(np.float32), (0, 0), 3)
    return scene + texture[:, :, None]


def _phone(code: Image, rng: np.random.Generator, dark_mode: bool) -> tuple[Image, Image]:
    """The phone (BGR float) with `code` on its screen, and the corners of the code in it."""
    c = code.shape[0]
    screen_w = int(c * rng.uniform(1.12, 1.35))
    screen_h = int(screen_w * rng.uniform(1.75, 2.0))
    bezel = max(4, int(screen_w * 0.05))
    paper, ink = (float(rng.uniform(20, 35)), 215.0) if dark_mode else (245.0, 25.0)
    screen = np.full((screen_h, screen_w), paper, np.float32)
    x0, y0 = (screen_w - c) // 2, int(screen_h * 0.42 - c / 2)
    # dark mode: light modules on a dark screen (the quiet zone turns dark with it)
    darkness = 1.0 - code.astype(np.float32) / 255.0
    screen[y0 : y0 + c, x0 : x0 + c] = paper + (ink - paper) * darkness
    line_h = max(3, c // 22)
    for y in (y0 - 3 * line_h, y0 - int(1.5 * line_h), y0 + c + line_h, y0 + c + 3 * line_h):
        if 0 <= y and y + line_h < screen_h:
            x1 = x0 + int(c * rng.uniform(0.4, 1.0))
            screen[y : y + line_h, x0:x1] = (paper + ink) / 2
    phone = np.full((screen_h + 2 * bezel, screen_w + 2 * bezel), 18.0, np.float32)
    phone[bezel:-bezel, bezel:-bezel] = screen
    ox, oy = x0 + bezel, y0 + bezel
    corners = np.array([[ox, oy], [ox + c, oy], [ox + c, oy + c], [ox, oy + c]], np.float32)
    return cv2.cvtColor(phone, cv2.COLOR_GRAY2BGR), corners


def _placement(
    shot: _Shot, rng: np.random.Generator, side: float, modules: float, w: int, h: int
) -> Image:
    """Where the code's corners land in the frame: tilted, rotated, inside the frame."""
    half = side / 2
    local = np.array([[-half, -half], [half, -half], [half, half], [-half, half]], np.float64)
    # a pinhole camera looking at the screen tilted by `tilt` about a random in-plane axis
    axis = rng.uniform(0, math.pi)
    ax = np.array([math.cos(axis), math.sin(axis), 0.0])
    phi = math.radians(shot.tilt)
    pts = np.column_stack([local, np.zeros(4)])
    # Rodrigues' rotation about `ax` (in the screen plane, so ax·p = 0 never matters)
    pts = (
        pts * math.cos(phi)
        + np.cross(ax, pts) * math.sin(phi)
        + np.outer(pts @ ax, ax) * (1 - math.cos(phi))
    )
    depth = shot.distance * side
    local = pts[:, :2] * (depth / (depth + pts[:, 2:3]))
    local += rng.uniform(-0.01, 0.01, local.shape) * side
    t = math.radians(shot.angle)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    local = local @ rot.T
    # the symbol itself (not its quiet zone) stays inside the frame with a module to spare
    inner = local * (modules - 2 * QUIET_MODULES + 2) / modules
    lo, hi = inner.min(axis=0), inner.max(axis=0)
    cx = rng.uniform(-lo[0], max(-lo[0], w - hi[0]))
    cy = rng.uniform(-lo[1], max(-lo[1], h - hi[1]))
    placed: Image = (local + [cx, cy]).astype(np.float32)
    return placed


def _fit_ppm(modules: float, w: int, h: int, angle_room: float = 1.0) -> float:
    return 0.98 * min(w, h) / ((modules - 2 * QUIET_MODULES + 2) * angle_room)


def photograph(
    code_img: Image,
    rng: np.random.Generator,
    *,
    kind: str | None = None,
    frame_size: tuple[int, int] = (640, 480),
) -> Image:
    """A BGR camera frame (`frame_size` = width, height) of `code_img` shown on a phone,
    distorted by `kind` (one of `KINDS`; a random one when None)."""
    if kind is None:
        kind = KINDS[int(rng.integers(len(KINDS)))]
    w, h = frame_size
    gray = code_img if code_img.ndim == 2 else cv2.cvtColor(code_img, cv2.COLOR_BGR2GRAY)
    src_ppm = _module_px(gray)
    modules = gray.shape[0] / src_ppm
    shot = _shot(kind, rng, _fit_ppm(modules, w, h))
    room = abs(math.cos(math.radians(shot.angle))) + abs(math.sin(math.radians(shot.angle)))
    ppm = shot.ppm if kind == "small" else min(shot.ppm, _fit_ppm(modules, w, h, room))
    side = max(8, round(gray.shape[0] * ppm / src_ppm))
    # the camera integrates light over each pixel: area resampling, then a near-1:1 warp
    code = cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA)
    phone, corners = _phone(code, rng, shot.dark_mode)
    dst = _placement(shot, rng, float(side), modules, w, h)
    warp = cv2.getPerspectiveTransform(corners, dst)
    frame = _scene(rng, w, h)
    cv2.warpPerspective(
        phone, warp, (w, h), frame, cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT
    )
    mask = cv2.warpPerspective(np.ones(phone.shape[:2], np.float32), warp, (w, h))
    return _expose(frame, mask, dst, shot, rng)


def _expose(frame: Image, mask: Image, dst: Image, shot: _Shot, rng: np.random.Generator) -> Image:
    """Light on the screen, then the lens, the sensor and the encoder."""
    h, w = frame.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if shot.moire:
        # the screen's pixel grid beating with the sensor's: a slow slanted fringe pattern
        period = rng.uniform(0.8, 1.6) * shot.ppm
        theta = rng.uniform(0, math.pi)
        phase = (xx * math.cos(theta) + yy * math.sin(theta)) * (2 * math.pi / period)
        beat = 0.5 + 0.5 * np.sin(phase + rng.uniform(0, 2 * math.pi))
        frame *= (1 - shot.moire * beat * mask)[:, :, None]
    if shot.glare:
        centre = dst.mean(axis=0) + rng.uniform(-0.25, 0.25, 2) * (dst.max(0) - dst.min(0))
        radius = rng.uniform(0.12, 0.22) * float(np.ptp(dst[:, 0]))
        spot = np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * radius**2))
        frame += (shot.glare * spot * mask)[:, :, None]
    vignette = 1 - 0.25 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)
    frame = frame * (shot.gain * vignette)[:, :, None] + shot.lift
    if shot.blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), shot.blur)
    if shot.motion >= 1:
        frame = cv2.filter2D(frame, -1, _motion_kernel(shot.motion, rng.uniform(0, 180)))
    frame += rng.normal(0, shot.noise, frame.shape).astype(np.float32)
    out = np.clip(frame, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, shot.jpeg])
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
    return out if decoded is None else decoded


def _motion_kernel(length: float, angle: float) -> Image:
    size = int(math.ceil(length)) | 1
    line = np.zeros((size, size), np.float32)
    line[size // 2, :] = 1
    rot = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), angle, 1.0)
    kernel: Image = cv2.warpAffine(line, rot, (size, size))
    return kernel / float(kernel.sum())


def distorted_corpus(texts: Iterable[str], n: int, seed: int) -> Iterator[tuple[str, Image]]:
    """`n` frames `(kind, frame)` cycling through `KINDS` and `texts`; every fourth round of
    kinds is a 1280×720 frame, the rest 640×480. The same arguments give the same frames."""
    pool = list(texts)
    if not pool:
        raise ValueError("distorted_corpus needs at least one text")
    rendered: dict[str, Image] = {}
    for i in range(n):
        text = pool[i % len(pool)]
        kind = KINDS[i % len(KINDS)]
        size = (1280, 720) if (i // len(KINDS)) % 4 == 3 else (640, 480)
        if text not in rendered:
            rendered[text] = render_qr(text, 8)
        rng = np.random.default_rng([seed, i])
        yield kind, photograph(rendered[text], rng, kind=kind, frame_size=size)
