"""The medpos exception tree: one root, one base per package.

::

    MedposError
    ├── ConfigError                      terminal/config: a bad config.toml or override
    ├── InvalidInputError(source, path)  terminal/settlement: a bad policy, catalogue or claim
    ├── NoSchemeError                    terminal/settlement: no scheme of the policy matches
    ├── LedgerError                      terminal/ledger
    │   ├── LedgerCorruptError           a chain, hash, signature or anchor that disagrees
    │   └── LedgerBusyError              the database is locked by another writer
    ├── CheckoutError                    terminal/checkout: a refused or impossible operation
    ├── IdentityError(code)              terminal/identity: a card or code that does not identify
    ├── DriverError                      drivers/*
    │   ├── ReaderError, CardRemovedError, ApduError(sw)   drivers/card
    │   ├── QrError                                          drivers/qr
    │   └── PrinterError                                     drivers/printer
    ├── SyncError                        sync/*
    └── HubError                         sync/hub (sync/hub/errors.py): platform administration

This module imports nothing, so `drivers/` and `sync/` may import it without depending on the rest
of `terminal/` (the one exception to the dependency direction; tests/unit/test_imports.py).
Every message says what happened and what to do.
"""

from __future__ import annotations

__all__ = [
    "CheckoutError",
    "ConfigError",
    "DriverError",
    "IdentityError",
    "InvalidInputError",
    "LedgerBusyError",
    "LedgerCorruptError",
    "LedgerError",
    "MedposError",
    "NoSchemeError",
    "SyncError",
]


class MedposError(Exception):
    """Root of every error medpos raises on purpose."""


class ConfigError(MedposError):
    """config.toml (or an override) is invalid: the message names the file, key and expectation."""


class InvalidInputError(MedposError):
    """A policy, catalogue or claim is invalid; `source` names the file, `path` the field."""

    def __init__(self, source: str, path: str, message: str) -> None:
        self.source = source
        self.path = path
        self.message = message
        super().__init__(f"{source}: {path}: {message}" if path else f"{source}: {message}")


class NoSchemeError(MedposError):
    """No scheme of the policy applies to this person and visit."""


class LedgerError(MedposError):
    """The ledger could not do what was asked."""


class LedgerCorruptError(LedgerError):
    """The ledger's chain, a hash, a signature or an anchor disagrees."""


class LedgerBusyError(LedgerError):
    """Another process holds the database lock."""


class CheckoutError(MedposError):
    """A checkout operation was refused or is impossible; `code` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class IdentityError(MedposError):
    """A card or e-card code did not identify a person; `code` is the spec's error code."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class DriverError(MedposError):
    """Hardware (card reader, camera, printer) failed."""


class SyncError(MedposError):
    """Talking to the platform failed."""
