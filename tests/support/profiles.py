"""Hypothesis profiles, chosen by the HYPOTHESIS_PROFILE environment variable.

`ci` (the default, what `make test` runs): bounded example counts, no deadline (a busy two-core
machine makes per-example timings meaningless) and derandomized, so a run tests the same examples
every time: a red build is always the change's doing, never a new random draw, and a failure
reproduces by running the same test again. Finding new examples is the `deep` profile's job.

`deep` (`make fuzz`): random, the full example counts of every property and many more for the
properties that take Hypothesis' default, with the example database on so that a failure found
once is tried first the next time.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["CI", "DEEP", "PROFILE_VARIABLE", "examples", "load_profile"]

PROFILE_VARIABLE = "HYPOTHESIS_PROFILE"
CI = "ci"
DEEP = "deep"
# A property that asks for more examples than this runs this many under `ci`.
CI_BOUND = 200
_DEFAULTS = {CI: 100, DEEP: 2000}


def profile_name() -> str:
    """The profile this run uses: HYPOTHESIS_PROFILE, `ci` when unset."""
    name = os.environ.get(PROFILE_VARIABLE, CI)
    if name not in _DEFAULTS:
        raise ValueError(f"{PROFILE_VARIABLE}={name!r}: use one of {', '.join(_DEFAULTS)}")
    return name


def load_profile() -> str:
    """Register both profiles and load the chosen one; its name."""
    settings.register_profile(
        CI,
        max_examples=_DEFAULTS[CI],
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
    )
    settings.register_profile(
        DEEP,
        max_examples=_DEFAULTS[DEEP],
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    name = profile_name()
    settings.load_profile(name)
    return name


def examples(full: int, *, ci: int = CI_BOUND) -> int:
    """How many examples a property with `full` examples tries: all of them (at least the deep
    default) under `deep`, at most `ci` under `ci`."""
    if profile_name() == DEEP:
        return max(full, _DEFAULTS[DEEP])
    return min(full, ci)
