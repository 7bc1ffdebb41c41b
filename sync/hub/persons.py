"""The platform's persons and their accumulators (platform-api.md "Messages" 1101, "Platform
administration" for the persons file): loading the published persons file, 1101 person
information, and reading and writing a person's accumulators for a year."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from sync.hub import schema as t
from sync.hub import statements as q
from sync.hub._common import upsert
from sync.hub.errors import HubError, Refused
from sync.protocol.canonical import canonical_json

__all__ = [
    "accumulators_body",
    "accumulators_of",
    "load_persons",
    "person_info",
    "store_accumulators",
]


def load_persons(conn: Connection, persons: list[Any], year: int) -> None:
    """Store a published persons file: each person, and their accumulators for `year`."""
    for i, entry in enumerate(persons):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("person"), Mapping):
            raise HubError(f"persons[{i}]: expected {{person, accumulators}}")
        person = dict(entry["person"])
        psn_cert = person.get("psn_cert")
        if not isinstance(psn_cert, str):
            raise HubError(f"persons[{i}].person.psn_cert: missing")
        upsert(
            conn,
            t.persons,
            {"psn_cert": psn_cert},
            person=canonical_json(person).decode(),
            unregistered=False,
        )
        acc = entry.get("accumulators") or {}
        upsert(
            conn,
            t.accumulators,
            {"psn_cert": psn_cert, "year": year},
            body=canonical_json(acc).decode(),
        )


def person_info(conn: Connection, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """1101: the person and the accumulators the platform holds for them this year."""
    psn_cert = data.get("psn_cert")
    if not isinstance(psn_cert, str):
        raise Refused("bad_input", "input.psn_cert: missing (card_no lookups not offered)")
    row = conn.execute(select(t.persons).where(t.persons.c.psn_cert == psn_cert)).first()
    if row is None:
        raise Refused("unknown_person", f"{psn_cert[:6]}…: not known to the platform")
    return {
        "person": json.loads(row.person),
        "accumulators": accumulators_of(conn, psn_cert, now.year),
    }


def accumulators_of(conn: Connection, psn_cert: str, year: int) -> dict[str, Any]:
    """The person's accumulators (`{}` when the platform holds none for `year`)."""
    body = accumulators_body(conn, psn_cert, year)
    return json.loads(body) if body else {}


def accumulators_body(
    conn: Connection, psn_cert: str, year: int, *, for_update: bool = False
) -> str | None:
    """The stored accumulators, None when there is no row; `for_update` locks the row
    (PostgreSQL) until the transaction ends, so two devices' sales of one person advance
    it one after the other."""
    query = (
        q.ACCUMULATORS_FOR_UPDATE
        if for_update and conn.dialect.name == "postgresql"
        else q.ACCUMULATORS
    )
    body: str | None = query.scalar(conn, {"psn_cert": psn_cert, "year": year})
    return body


def store_accumulators(
    conn: Connection, psn_cert: str, year: int, acc: Any, *, exists: bool
) -> None:
    """Write a person's accumulators: update the row `accumulators_body` found, or insert one."""
    body = canonical_json(acc, strict=False).decode()  # built here from money strings
    if exists:
        q.UPDATE_ACCUMULATORS.run(conn, {"key_psn_cert": psn_cert, "key_year": year, "body": body})
    else:
        q.INSERT_ACCUMULATORS.run(conn, {"psn_cert": psn_cert, "year": year, "body": body})
