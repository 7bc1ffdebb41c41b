"""Coverage is measured in the fast ring alone: the tracer runs only while a test under tests/unit
runs, and is stopped for every other test's setup, call and teardown.

`make test` asks for 100 % branch coverage of terminal/settlement (the Makefile's COVERAGE), and
tests/unit reaches it by itself: `make unit` holds it to the same 100 %. Under coverage's tracer
every Python call in the test process pays, measured or not, and the integration and e2e tests run
much of the terminal in that process (the CLI through `main`, the 2,000 sales of the fault drill):
two Hypothesis modules took 10.3 s traced against 5.0 s untraced on this machine. What a test
asserts does not change; only who is counted for the 100 %: tests/unit, as `make unit` already
required.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

__all__ = ["COVERED", "CoverageScope"]

COVERED = "tests/unit/"


class CoverageScope:
    """Registered by tests/conftest.py when pytest-cov is active."""

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        import coverage

        cov = None if item.nodeid.startswith(COVERED) else coverage.Coverage.current()
        if cov is not None:
            cov.stop()
        try:
            yield
        finally:
            if cov is not None:
                cov.start()
