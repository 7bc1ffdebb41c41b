"""The two lock files agree with pyproject.toml. The Debian package installs
`packaging/requirements-runtime.lock` with `--require-hashes`, which fails on any package the lock
leaves out, so it must hold every runtime dependency and everything they need, at the versions
`requirements.lock` (what `make setup` and the tests install) pins."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT

_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^ \\]+)")


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _read(path: str) -> tuple[dict[str, str], dict[str, set[str]]]:
    """(version by package, the packages each is needed by) of a pip-compile lock."""
    pins: dict[str, str] = {}
    needed_by: dict[str, set[str]] = {}
    current = ""
    in_via = False
    for line in (ROOT / path).read_text(encoding="utf-8").splitlines():
        pinned = _PIN.match(line)
        if pinned:
            current = _name(pinned[1])
            pins[current] = pinned[2]
            needed_by[current] = set()
            in_via = False
            continue
        text = line.strip()
        if text.startswith("# via"):
            rest = text.removeprefix("# via").strip()
            in_via = not rest
            if rest:
                needed_by[current].add(rest)
        elif in_via and text.startswith("#   "):
            needed_by[current].add(text.removeprefix("#").strip())
        elif not text.startswith("#"):
            in_via = False
    return pins, needed_by


def _runtime_roots() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_name(re.split(r"[\[=<>!~; ]", dep, maxsplit=1)[0]) for dep in project["dependencies"]}


def test_the_runtime_lock_holds_every_runtime_dependency_and_what_they_need() -> None:
    pins, needed_by = _read("requirements.lock")
    runtime = _runtime_roots()
    grown = True
    while grown:  # what a runtime package needs is runtime too
        more = {
            p
            for p, parents in needed_by.items()
            if p not in runtime and any(_name(q.split(" ")[0]) in runtime for q in parents)
        }
        runtime |= more
        grown = bool(more)
    runtime_pins, _ = _read("packaging/requirements-runtime.lock")
    assert set(runtime_pins) == runtime, "run `make lock`"
    assert {p: pins[p] for p in runtime} == runtime_pins, "run `make lock`"
