"""The fleet console's operators (docs/operations.md "Fleet console"): a name and a password kept
as a scrypt hash in the hub's database, set by `medpos hub operator add`.

scrypt (hashlib, OpenSSL) with N=2**15, r=8, p=1 (OWASP's minimum is N=2**17 at p=1 with r=8 for
interactive logins costing ~100 ms; 2**15 keeps a sign-in near 100 ms on the terminal-class CPU the
reference hub runs on, and the parameters are stored with each hash so they can be raised). The
stored form: `scrypt$N$r$p$salt_hex$key_hex`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from sqlalchemy import Engine, select

from sync.hub import schema as t
from sync.hub._common import upsert
from sync.hub.errors import HubError

__all__ = ["MIN_PASSWORD", "add_operator", "hash_password", "password_ok", "verify_operator"]

MIN_PASSWORD = 12
_N, _R, _P = 2**15, 8, 1
# a hash to compare against for an unknown name: the answer takes as long as for a known one
_DUMMY = ""


def hash_password(password: str, *, n: int = _N, r: int = _R, p: int = _P) -> str:
    """The stored form of `password` under a fresh salt."""
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, n, r, p)
    return f"scrypt${n}${r}${p}${salt.hex()}${key.hex()}"


def password_ok(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` was made from (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        got = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(got, bytes.fromhex(key))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r * p, dklen=32
    )


def add_operator(engine: Engine, clock: Callable[[], float], name: str, password: str) -> bool:
    """Store operator `name` with `password` (replacing its password when it exists); whether
    the operator is new. HubError for a name or password the console would not take."""
    if not name or len(name) > 64 or not name.isprintable() or name.strip() != name:
        raise HubError("operator name: 1 to 64 printable characters, no surrounding spaces")
    if len(password) < MIN_PASSWORD:
        raise HubError(f"operator password: at least {MIN_PASSWORD} characters")
    stored = hash_password(password)
    with engine.begin() as conn:
        known = conn.execute(select(t.operators.c.name).where(t.operators.c.name == name)).first()
        upsert(
            conn,
            t.operators,
            {"name": name},
            password_hash=stored,
            created_at=int(clock()),
        )
    return known is None


def verify_operator(engine: Engine, name: str, password: str) -> bool:
    """Whether `name` is an operator and `password` is theirs."""
    global _DUMMY
    with engine.connect() as conn:
        stored = conn.execute(
            select(t.operators.c.password_hash).where(t.operators.c.name == name)
        ).scalar()
    if stored is None:
        _DUMMY = _DUMMY or hash_password(secrets.token_hex(8))
        password_ok(password, _DUMMY)
        return False
    return password_ok(password, stored)
