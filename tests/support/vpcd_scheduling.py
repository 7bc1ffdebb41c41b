"""The scheduler of the `vpcd` group (tests/support/grouping.py), for pytest-xdist."""

from __future__ import annotations

from xdist.scheduler import LoadGroupScheduling

from tests.support.grouping import ONE_WORKER_MODULES, VPCD, in_vpcd_paths

__all__ = ["VpcdGroupScheduling"]


class VpcdGroupScheduling(LoadGroupScheduling):  # type: ignore[misc]  # xdist has no type hints
    """`--dist loadgroup`, with every node id under VPCD_PATHS in the `vpcd` work unit."""

    def _split_scope(self, nodeid: str) -> str:
        scope: str = super()._split_scope(nodeid)
        if scope == nodeid and in_vpcd_paths(nodeid):
            return VPCD
        module = nodeid.split("::", 1)[0]
        if scope == nodeid and module in ONE_WORKER_MODULES:
            return module  # the module's tests share one module-scoped server
        return scope
