"""`medpos qr decode` and `medpos qr watch` (ecard-qr.md "The commands")."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from terminal.cli._common import Context, emit_json, fail, open_terminal

__all__ = ["register"]


def register(sub: Any) -> None:
    qr = sub.add_parser("qr", help="read QR codes from images, a camera, a video or a folder")
    qs = qr.add_subparsers(dest="qr_command", metavar="ACTION", required=True)
    decode = qs.add_parser("decode", help="print the codes (QR, Data Matrix) in image files")
    decode.add_argument("files", nargs="+", metavar="FILE", help="image files (PNG, JPEG, …)")
    decode.add_argument(
        "--json",
        action="store_true",
        help='one JSON object per code: {"file", "text"}, or {"file", "bytes_b64"} for a '
        "payload that is not text",
    )
    decode.set_defaults(func=_decode)
    watch = qs.add_parser("watch", help="print each new code from a source as a JSON line")
    where = watch.add_mutually_exclusive_group()
    where.add_argument("--camera", type=int, metavar="N", help="camera index (/dev/videoN)")
    where.add_argument("--video", metavar="FILE", help="a video file")
    where.add_argument("--folder", metavar="DIR", help="a folder of images, read in name order")
    where.add_argument(
        "--scanner", action="store_true", help="a keyboard-wedge scanner typing into stdin"
    )
    watch.add_argument("--count", type=int, default=0, help="stop after N events (0: never)")
    watch.add_argument(
        "--dedup", type=float, metavar="S", help="report a code again after S s unseen ([qr])"
    )
    watch.add_argument("--fps", type=float, help="read at most F frames per second")
    watch.set_defaults(func=_watch)


def _decode(args: argparse.Namespace, ctx: Context) -> int:
    """Each code's text, by the symbol's ECI or the character set a QR reader infers
    (drivers/qr/text.py); a payload that is not text in any of them goes out as its bytes
    (`bytes_b64` with --json)."""
    import base64

    from drivers.qr.decode import QrError, decode_image_file
    from drivers.qr.text import payload_text

    status = 0
    for path in args.files:
        try:
            codes = decode_image_file(path)
        except QrError as exc:
            status = fail(str(exc), 1)
            continue
        if not codes:
            status = fail(f"{path}: no code found in this image", 1)
            continue
        for code in codes:
            text = payload_text(code.data, reader_text=code.text, symbology=code.symbology)
            if args.json:
                field = (
                    {"text": text}
                    if text is not None
                    else {"bytes_b64": base64.b64encode(code.data).decode("ascii")}
                )
                emit_json({"file": path, **field})
            else:
                # text as UTF-8; a payload that is not text goes out as its bytes, unchanged
                out = text.encode("utf-8") if text is not None else code.data
                sys.stdout.flush()
                sys.stdout.buffer.write(out + b"\n")
                sys.stdout.buffer.flush()
    return status


def _source(args: argparse.Namespace, ctx: Context) -> Any:
    """The source named on the command line, else the one `[qr] source` chooses (the embedded
    default's virtual phone included), or None for "none"."""
    from terminal.bootstrap import open_named_source

    if args.camera is not None or args.video or args.folder:
        return open_named_source(camera=args.camera, video=args.video, folder=args.folder)
    return open_terminal(ctx, None).open_frame_source()


def _watch(args: argparse.Namespace, ctx: Context) -> int:
    from drivers.qr.capture import QrReader, WedgeScanner

    dedup = args.dedup if args.dedup is not None else ctx.config.qr.dedup_window_s
    reader: Any
    if args.scanner:
        reader = WedgeScanner(sys.stdin, name="scanner", dedup_seconds=dedup).start()
    else:
        source = _source(args, ctx)
        if source is None:
            return fail(
                '[qr] source is "none": give --camera N, --video FILE, --folder DIR or '
                "--scanner, or choose a source in config.toml",
                2,
            )
        reader = QrReader(source, dedup_seconds=dedup, fps=args.fps).start()
    seen = 0
    try:
        for event in reader.events():
            emit_json(event)
            seen += 1
            if args.count and seen >= args.count:
                break
    finally:
        reader.stop()
    return 0
