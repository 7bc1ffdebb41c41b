"""Frame sources for the camera pipeline: a camera by index, a video file, image files, a folder,
or a function (the virtual phone). Each gives frames one at a time (`FrameSource`) and raises
`QrError` with what to do when it fails."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from drivers.qr.decode import QrError, check_image_size, read_image

__all__ = [
    "CallbackSource",
    "CameraSource",
    "Capture",
    "FolderSource",
    "FrameSource",
    "Image",
    "ImageSource",
    "VideoSource",
]

Image = np.ndarray
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm")
# consecutive failed reads before a camera counts as gone: a USB camera drops the odd frame
CAMERA_RETRIES = 5
CAMERA_RETRY_PAUSE = 0.05


class FrameSource(Protocol):
    """Frames one at a time: `read()` gives the next one, None at the end of a finite source,
    and raises QrError when the source fails."""

    name: str

    def read(self) -> Image | None: ...

    def close(self) -> None: ...


class Capture(Protocol):
    """The part of `cv2.VideoCapture` the sources use."""

    def isOpened(self) -> bool: ...  # noqa: N802 - OpenCV's name

    def read(self) -> tuple[bool, Image | None]: ...

    def release(self) -> None: ...


def _open_camera(index: int) -> Capture:
    return cv2.VideoCapture(index)


class CameraSource:
    """A camera by OpenCV index. It never ends: when it stops delivering frames (unplugged,
    taken by another program) `read` raises QrError after a few quick retries. A read on an
    unplugged V4L2 camera returns within OpenCV's own timeout; it blocks only the reader's
    thread. `open_capture` opens the capture (any `cv2.VideoCapture`-like object)."""

    def __init__(
        self, index: int, *, open_capture: Callable[[int], Capture] = _open_camera
    ) -> None:
        self.index = index
        self.name = f"camera:{index}"
        self._cap = open_capture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise QrError(
                f"camera {index} cannot be opened: check that it is plugged in, that no other "
                "program uses it, and the index (`ls /dev/video*`)"
            )

    def read(self) -> Image | None:
        for attempt in range(CAMERA_RETRIES):
            ok, frame = self._cap.read()
            if ok and frame is not None:
                return frame
            if attempt + 1 < CAMERA_RETRIES:
                time.sleep(CAMERA_RETRY_PAUSE)
        raise QrError(
            f"camera {self.index} stopped delivering frames: check the cable (or that no other "
            "program took the camera) and start the scan again"
        )

    def close(self) -> None:
        self._cap.release()


class VideoSource:
    """A video file, frame by frame; ends (None) at its last frame."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"video:{self.path}"
        if not self.path.is_file():
            raise QrError(f"{self.path}: no such video file: check the path")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise QrError(
                f"{self.path}: not a video OpenCV can read: give an AVI (MJPG) or MP4 file"
            )
        width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        try:
            check_image_size(width, height, str(self.path))
        except QrError:
            self._cap.release()
            raise

    @property
    def fps(self) -> float:
        """The frame rate the file declares (0 when it declares none)."""
        return float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)

    def read(self) -> Image | None:
        ok, frame = self._cap.read()
        return frame if ok and frame is not None else None

    def close(self) -> None:
        self._cap.release()


class ImageSource:
    """Image files in the order given; ends after the last one. Each is refused (QrError) over
    `MAX_IMAGE_PIXELS` before it is decoded (`read_image`)."""

    def __init__(self, paths: Sequence[str | Path], name: str = "images") -> None:
        self.paths = [Path(p) for p in paths]
        self.name = name
        self._next = 0

    def read(self) -> Image | None:
        if self._next >= len(self.paths):
            return None
        path = self.paths[self._next]
        self._next += 1
        return read_image(path)

    def close(self) -> None:
        self._next = len(self.paths)


class FolderSource(ImageSource):
    """The images of a folder (by suffix) in name order; ends after the last one."""

    def __init__(self, path: str | Path) -> None:
        folder = Path(path)
        if not folder.is_dir():
            raise QrError(f"{folder}: no such folder: check the path")
        files = sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        super().__init__(files, name=f"folder:{folder}")


class CallbackSource:
    """Frames from a function (the virtual phone): it returns a frame, or None to end."""

    def __init__(
        self,
        fn: Callable[[], Image | None],
        name: str = "callback",
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._fn = fn
        self._on_close = on_close
        self.name = name

    def read(self) -> Image | None:
        return self._fn()

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
