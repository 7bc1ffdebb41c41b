"""Bundles: the outbox carried by hand (platform-api.md "Field and fleet additions").

A bundle is `{"format": "medpos-bundle/1", "dev_no", "created_at", "messages": [envelope…],
"sha256"}`; its answer `{"format": "medpos-acks/1", "dev_no", "results": [response…], "refdata":
[wrapper…], "sha256"}`. `sha256` is the hex SHA-256 of the canonical JSON of `messages` (of
`results` in an answer). Both sides use this module: the terminal writes bundles and reads
answers, the platform the other way round. A bundle's file is written atomically (`write_atomic`:
a 0600 temporary file, fsync, rename, fsync of the directory), so a power cut leaves either the
whole file under its final name or none.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sync.protocol.canonical import canonical_json

__all__ = [
    "ANSWER_FORMAT",
    "BUNDLE_CHUNK",
    "BUNDLE_FORMAT",
    "MAX_BUNDLE_BYTES",
    "BundleError",
    "answer_name",
    "bundle_name",
    "check_answer",
    "check_bundle",
    "digest",
    "make_answer",
    "make_bundle",
    "message_seq",
    "write_atomic",
]

BUNDLE_FORMAT = "medpos-bundle/1"
ANSWER_FORMAT = "medpos-acks/1"
# messages processed per database transaction (the batch limit of /fsi/api/batch)
BUNDLE_CHUNK = 500
# a bundle file or `POST /fsi/api/bundle` body: the CLI's file limit (docs/field.md), more than
# /fsi/api/batch's 8 MiB since a bundle carries days of sales in one body
MAX_BUNDLE_BYTES = 32 << 20


class BundleError(ValueError):
    """A bundle or answer that is not one, or was edited: the message says what and where."""


def digest(items: Sequence[Any]) -> str:
    """Hex SHA-256 of the canonical JSON of `items` (a bundle's messages, an answer's results)."""
    return hashlib.sha256(canonical_json(list(items), strict=False)).hexdigest()


def make_bundle(
    dev_no: str, created_at: str, messages: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """A bundle of signed envelopes, with its `sha256`."""
    msgs = [dict(m) for m in messages]
    return {
        "format": BUNDLE_FORMAT,
        "dev_no": dev_no,
        "created_at": created_at,
        "messages": msgs,
        "sha256": digest(msgs),
    }


def make_answer(
    dev_no: str, results: Sequence[Mapping[str, Any]], refdata: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The answer bundle of a bundle of device `dev_no`: one response per message, in order."""
    out = [dict(r) for r in results]
    return {
        "format": ANSWER_FORMAT,
        "dev_no": dev_no,
        "results": out,
        "refdata": [dict(r) for r in refdata],
        "sha256": digest(out),
    }


def _check(obj: object, fmt: str, items: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise BundleError("not a bundle: the file is not a JSON object")
    if obj.get("format") != fmt:
        raise BundleError(f"format: {obj.get('format')!r} is not {fmt!r}")
    if not isinstance(obj.get("dev_no"), str) or not obj["dev_no"]:
        raise BundleError("dev_no: missing")
    if not isinstance(obj.get(items), list):
        raise BundleError(f"{items}: a list is required")
    if not isinstance(obj.get("sha256"), str):
        raise BundleError("sha256: missing")
    if digest(obj[items]) != obj["sha256"]:
        raise BundleError(
            f"sha256 does not match the {items}: the file was changed or damaged after it was "
            "written; take the original file again"
        )
    return obj


def check_bundle(obj: object) -> dict[str, Any]:
    """The bundle when its format, `dev_no`, `messages` and `sha256` hold; BundleError else."""
    bundle = _check(obj, BUNDLE_FORMAT, "messages")
    if not isinstance(bundle.get("created_at"), str):
        raise BundleError("created_at: missing")
    return bundle


def check_answer(obj: object) -> dict[str, Any]:
    """The answer bundle when its format, `dev_no`, `results` and `sha256` hold."""
    answer = _check(obj, ANSWER_FORMAT, "results")
    if not isinstance(answer.get("refdata"), list):
        raise BundleError("refdata: a list is required")
    if not all(isinstance(r, dict) for r in answer["results"]):
        raise BundleError("results: each is a response object")
    return answer


def message_seq(envelope: object) -> int | None:
    """The ledger `seq` an upload or reversal envelope carries, else None."""
    data = envelope.get("input") if isinstance(envelope, Mapping) else None
    ledger = data.get("ledger") if isinstance(data, Mapping) else None
    seq = ledger.get("seq") if isinstance(ledger, Mapping) else None
    return seq if type(seq) is int else None


def _span(messages: Sequence[object]) -> str:
    seqs = [s for s in map(message_seq, messages) if s is not None]
    return f"{min(seqs)}-{max(seqs)}" if seqs else "0-0"


def bundle_name(dev_no: str, messages: Sequence[object]) -> str:
    """`<dev_no>-<first seq>-<last seq>.medpos.json`."""
    return f"{dev_no}-{_span(messages)}.medpos.json"


def answer_name(dev_no: str, messages: Sequence[object]) -> str:
    """The answer's file name beside its bundle's: `<dev_no>-<first>-<last>.medpos-acks.json`."""
    return f"{dev_no}-{_span(messages)}.medpos-acks.json"


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` (mode 0600) so that a crash leaves the whole file or none under
    that name: a temporary file beside it, fsync, rename over, fsync of the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    if os.name == "posix":
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _sweep(path: Path) -> None:
    """Remove the temporary files a writer of `path` killed mid-write left (its pid is gone)."""
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        pid = leftover.name.removeprefix(f".{path.name}.").removesuffix(".tmp")
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            leftover.unlink(missing_ok=True)
        except OSError:  # another user's live process: not ours to remove
            continue
