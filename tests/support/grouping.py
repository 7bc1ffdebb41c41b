"""The `vpcd` group: every test on the machine-wide pcscd/vpcd runs on one pytest-xdist worker,
one after another, while the other workers run everything else.

pcscd is one daemon per machine and vpcd's virtual readers listen on fixed ports (35963, 35964),
so two such tests at once move each other's cards. Which tests they are is decided by path (the
only place the card fixtures are defined is one of the paths), in two places that agree:
tests/conftest.py marks the collected items (`vpcd`, and `xdist_group("vpcd")`) and refuses a test
that reaches pcscd from anywhere else; the scheduler below, in the controlling process, which sees
node ids only, puts every node id under these paths in one work unit. It does so itself because
pytest-xdist 3.8 carries `xdist_group` to its scheduler by appending "@group" to node ids, which
pytest 9.2's structured node ids silently ignore (pytest-xdist issue 1386).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ONE_WORKER_MODULES",
    "VPCD",
    "VPCD_FIXTURES",
    "VPCD_PATHS",
    "VpcdGroupPlugin",
    "in_vpcd_paths",
]

VPCD = "vpcd"
# Node id prefixes: the card integration tests, the cashier's pages in Chromium on `medpos run`
# with the demo cards, the web e2e tests on `medpos run`, the card monitor's tests. The pages and
# web tests on an app or `medpos serve` without a card reader (test_tender_ui, test_cross_origin,
# test_web_self_pay, test_web_trust) reach no pcscd and run beside everything else.
# Modules whose tests share a module-scoped server: all on one worker, so it starts once.
ONE_WORKER_MODULES = (
    "tests/e2e/test_his_api.py",
    "tests/integration/sync/test_hub_trust.py",  # `shared_platform` (tests/integration/sync)
)
VPCD_PATHS = (
    "tests/integration/card/",
    "tests/ui/test_cashier_ui.py",
    "tests/ui/test_counter_trust.py",
    "tests/e2e/test_web_core.py",
    "tests/unit/card/test_monitor.py",
)
# Fixtures that reach pcscd or a vpcd slot (tests/integration/card/conftest.py).
VPCD_FIXTURES = frozenset({"pcscd", "insert", "psam"})


def in_vpcd_paths(nodeid: str) -> bool:
    """True for a node id (rootdir-relative) under one of VPCD_PATHS."""
    return nodeid.startswith(VPCD_PATHS)


class VpcdGroupPlugin:
    """Registered by tests/conftest.py when pytest-xdist is active."""

    @staticmethod
    def pytest_xdist_make_scheduler(config: Any, log: Any) -> Any:
        if config.getvalue("dist") != "loadgroup":
            return None
        # imported here: the benches import tests.conftest's helpers without pytest-xdist
        from tests.support.vpcd_scheduling import VpcdGroupScheduling

        return VpcdGroupScheduling(config, log)
