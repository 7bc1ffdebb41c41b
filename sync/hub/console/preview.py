"""What publishing a reference-data file would change (docs/operations.md "Fleet console"):
entries added, removed and changed against the newest published version, by the key each kind's
entries are known by; the policy as a text diff. Pure: documents in, a summary out."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SHOWN", "Preview", "preview"]

SHOWN = 50  # entries listed of each change; the counts are whole


@dataclass(frozen=True, slots=True)
class Preview:
    """Counts of entries added, removed and changed, the first `SHOWN` keys of each, and for a
    policy the unified diff's lines."""

    added: int = 0
    removed: int = 0
    changed: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)
    diff: list[str] = field(default_factory=list)


def _entries(kind: str, document: Any) -> dict[str, str]:
    """`key → canonical text` of a document's entries."""
    items: Iterable[Any]
    keys: tuple[str, ...]
    if kind == "catalogue":
        items, keys = document, ("code",)
    elif kind == "persons":
        items = document
        return {
            str((e.get("person") or {}).get("psn_cert")): json.dumps(e, sort_keys=True)
            for e in items
            if isinstance(e, Mapping)
        }
    elif kind == "hotlist":
        items, keys = document.get("entries", []), ("kind", "value")
    else:  # trustlist: its keys, by key id when it names one
        items = document.get("keys", document.get("entries", []))
        keys = ("kid",) if all(isinstance(e, Mapping) and "kid" in e for e in items) else ()
    out: dict[str, str] = {}
    for n, e in enumerate(items):
        text = json.dumps(e, sort_keys=True, ensure_ascii=False)
        key = ":".join(str(e.get(k)) for k in keys) if keys and isinstance(e, Mapping) else str(n)
        out[key] = text
    return out


def preview(kind: str, old: Any, new: Any) -> Preview:
    """What replacing `old` (None: nothing published yet) with `new` changes."""
    if kind == "policy":
        lines = list(
            difflib.unified_diff(
                (old or "").splitlines(), str(new).splitlines(), "published", "upload", lineterm=""
            )
        )
        plus = sum(1 for x in lines if x.startswith("+") and not x.startswith("+++"))
        minus = sum(1 for x in lines if x.startswith("-") and not x.startswith("---"))
        return Preview(added=plus, removed=minus, diff=lines[:400])
    before = _entries(kind, old) if old is not None else {}
    after = _entries(kind, new)
    added = [k for k in after if k not in before]
    removed = [k for k in before if k not in after]
    changed = [k for k in after if k in before and before[k] != after[k]]
    return Preview(
        added=len(added),
        removed=len(removed),
        changed=len(changed),
        examples={"added": added[:SHOWN], "removed": removed[:SHOWN], "changed": changed[:SHOWN]},
    )
