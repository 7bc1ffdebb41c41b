"""The fleet's heartbeats (platform-api.md "Field and fleet additions", 9201): a device says how
its outbox, chain and reference data stand; the platform keeps the latest per device for the
fleet console (`sync/hub/console/`).

The platform notes since when the device lacks a published reference-data version
(`refdata_behind_since`), and whether the heartbeat's chain head is behind the last entry it
stored of that device (`rolled_back`: the device's database went back).
"Latest" is by the envelope's `inf_time`: a heartbeat that arrives
after a newer one (carried in a bundle, or a retry) changes nothing. `parked` is the number of
parked outbox entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from sync.hub import schema as t
from sync.hub._common import Message, need
from sync.hub.errors import Refused
from sync.protocol.canonical import canonical_json
from sync.protocol.envelope import parse_inf_time

__all__ = ["HEARTBEAT_INFNO", "fleet_gauges", "heartbeat", "refdata_held"]

HEARTBEAT_INFNO = "9201"


def heartbeat(conn: Connection, message: Message, inf_time: str) -> dict[str, Any]:
    """9201: keep `message`'s heartbeat as its device's latest unless a newer one is kept."""
    row = _heartbeat_row(message.data)
    platform_seq = conn.execute(
        select(func.max(t.entry_keys.c.seq)).where(t.entry_keys.c.dev_no == message.dev_no)
    ).scalar()
    row.update(
        received_at=int(message.now.timestamp()),
        sent_at=inf_time,
        refdata_behind_since=_behind_since(conn, json.loads(row["refdata"])),
        platform_seq=platform_seq or 0,
        rolled_back=row["chain_seq"] < (platform_seq or 0),
    )
    held = conn.execute(
        select(t.heartbeats.c.sent_at).where(t.heartbeats.c.dev_no == message.dev_no)
    ).first()
    if held is None:
        conn.execute(insert(t.heartbeats).values(dev_no=message.dev_no, **row))
    elif held.sent_at <= inf_time:
        conn.execute(
            update(t.heartbeats).where(t.heartbeats.c.dev_no == message.dev_no).values(**row)
        )
    return {}


def _behind_since(conn: Connection, held: Mapping[str, int]) -> int | None:
    """The `issued_at` of the oldest version published after the one the device holds, of any
    kind (a kind it does not hold at all: its first version); None when it holds the newest of
    each. The console's "reference data too old" is this, long ago."""
    r = t.refdata.c
    rows = conn.execute(select(r.kind, r.version, r.issued_at)).all()
    newer = [issued for kind, version, issued in rows if version > held.get(kind, 0)]
    return min(newer, default=None)


def _heartbeat_row(data: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of a heartbeat's input; `bad_input` naming the first field that is wrong."""
    queue = need(data, "queue", int)
    parked = need(data, "parked", int)
    if queue < 0 or parked < 0:
        raise Refused("bad_input", "input.queue, input.parked: counts, not negative")
    head = need(data, "chain_head", Mapping)
    seq, hash_ = head.get("seq"), head.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise Refused("bad_input", "input.chain_head.seq: missing or not a count")
    if not isinstance(hash_, str) or len(hash_) != 64:
        raise Refused("bad_input", "input.chain_head.hash: missing or not 64 hex digits")
    refdata = need(data, "refdata", Mapping)
    for kind, version in refdata.items():
        if not isinstance(version, int) or isinstance(version, bool) or len(kind) > 16:
            raise Refused("bad_input", f"input.refdata.{kind}: not a version number")
    app_version = need(data, "app_version", str)
    if len(app_version) > 32:
        raise Refused("bad_input", "input.app_version: longer than 32 characters")
    return {
        "queue": queue,
        "parked": parked,
        "chain_seq": seq,
        "chain_hash": hash_,
        "refdata": canonical_json(dict(refdata)).decode(),
        "app_version": app_version,
        "oldest_unsynced_at": _local_time(data, "oldest_unsynced_at"),
        "offline_since": _local_time(data, "offline_since"),
    }


def _local_time(data: Mapping[str, Any], field: str) -> str | None:
    """An optional `yyyy-MM-dd HH:mm:ss` field, checked; None when absent."""
    if field not in data:
        return None
    value = data[field]
    try:
        parse_inf_time(value)
    except (TypeError, ValueError):
        raise Refused("bad_input", f"input.{field}: not yyyy-MM-dd HH:mm:ss") from None
    return str(value)


def refdata_held(row: Any) -> dict[str, int]:
    """The `{kind: version}` a stored heartbeat row names."""
    held: dict[str, int] = json.loads(row.refdata)
    return held


def fleet_gauges(
    engine: Engine, clock: Callable[[], float], tz: tzinfo
) -> list[tuple[str, str, float, dict[str, str]]]:
    """The fleet's figures for `/metrics`, aggregated in the database from the heartbeats:
    devices, devices silent for a day, sales queued, the oldest unsynced sale's age, the age of
    the newest heartbeat (the platform's last word from its fleet)."""
    now = clock()
    hb = t.heartbeats.c
    with engine.connect() as conn:
        enrolled = conn.execute(select(func.count()).select_from(t.devices)).scalar_one()
        queued, oldest, newest, silent = conn.execute(
            select(
                func.coalesce(func.sum(hb.queue), 0),
                func.min(hb.oldest_unsynced_at),
                func.max(hb.received_at),
                func.count().filter(hb.received_at < int(now) - 24 * 3600),
            )
        ).one()
    gauges: list[tuple[str, str, float, dict[str, str]]] = [
        ("medpos_fleet_devices", "Enrolled devices", float(enrolled), {}),
        (
            "medpos_fleet_silent_devices",
            "Devices whose last heartbeat is over a day old",
            float(silent),
            {},
        ),
        (
            "medpos_fleet_queue",
            "Sales queued on the devices (their last heartbeats)",
            float(queued),
            {},
        ),
    ]
    if oldest is not None:
        at = datetime.strptime(oldest, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
        gauges.append(
            (
                "medpos_fleet_oldest_unsynced_age_seconds",
                "Age of the oldest unsynced sale any device reported",
                max(0.0, now - at.timestamp()),
                {},
            )
        )
    if newest is not None:
        gauges.append(
            (
                "medpos_fleet_last_heartbeat_age_seconds",
                "Seconds since the newest heartbeat arrived",
                max(0.0, now - newest),
                {},
            )
        )
    return gauges
