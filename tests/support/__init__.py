"""Helpers that start real services for integration tests: PostgreSQL and the fault proxy."""

from __future__ import annotations

from tests.support.postgres import PostgresServer, PostgresUnavailableError, start_postgres
from tests.support.proxy import FaultProxy, start_fault_proxy

__all__ = [
    "FaultProxy",
    "PostgresServer",
    "PostgresUnavailableError",
    "start_fault_proxy",
    "start_postgres",
]
