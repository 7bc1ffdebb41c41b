"""The dependency direction of STYLE.md, checked by walking every module's imports (AST)."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("terminal", "drivers", "sync")


def _modules() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            name = ".".join(rel.parts).removesuffix(".__init__")
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            imports: set[str] = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    imports.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    imports.add(node.module)
                elif isinstance(node, ast.ImportFrom) and node.level > 0:
                    base = name.split(".")
                    if not path.name == "__init__.py":
                        base = base[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    imports.add(".".join(base + ([node.module] if node.module else [])))
            found[name] = imports
    return found


MODULES = _modules()


def _offenders(where: str, allowed: Callable[[str, str], bool]) -> list[str]:
    bad = []
    for module, imports in MODULES.items():
        if module == where or module.startswith(where + "."):
            bad += [f"{module} imports {imp}" for imp in imports if not allowed(module, imp)]
    return bad


def _top(name: str) -> str:
    return name.split(".")[0]


def test_the_settlement_engine_imports_the_standard_library_only() -> None:
    def allowed(_: str, imp: str) -> bool:
        return (
            _top(imp) in sys.stdlib_module_names
            or imp == "terminal.errors"
            or imp.startswith("terminal.settlement")
        )

    assert _offenders("terminal.settlement", allowed) == []


@pytest.mark.parametrize("where", ["drivers", "sync.protocol"])
def test_drivers_and_the_protocol_import_nothing_from_terminal_but_errors(where: str) -> None:
    def allowed(_: str, imp: str) -> bool:
        return _top(imp) != "terminal" or imp == "terminal.errors"

    assert _offenders(where, allowed) == []


def test_the_hub_uses_only_the_engine_and_the_errors_from_terminal() -> None:
    def allowed(_: str, imp: str) -> bool:
        return _top(imp) != "terminal" or imp.startswith(("terminal.settlement", "terminal.errors"))

    assert _offenders("sync.hub", allowed) == []


@pytest.mark.parametrize(
    ("library", "owner"),
    [
        ("smartcard", "drivers.card.pcsc"),
        ("sqlite_utils", "terminal.ledger"),
        ("httpx", "sync"),
        ("prometheus_client", "sync.metrics"),
        ("cv2", "drivers.qr"),
        ("pyzbar", "drivers.qr"),
        ("zxingcpp", "drivers.qr"),
        ("fpdf", "drivers.printer.pdf"),
    ],
)
def test_each_third_party_adapter_is_imported_in_one_place(library: str, owner: str) -> None:
    bad = [
        f"{module} imports {imp}"
        for module, imports in MODULES.items()
        for imp in imports
        if _top(imp) == library and not (module == owner or module.startswith(owner + "."))
    ]
    assert bad == []


@pytest.mark.parametrize(
    "domain",
    [
        "terminal.settlement",
        "terminal.identity",
        "terminal.risk",
        "terminal.ledger",
        "terminal.checkout",
    ],
)
def test_the_core_never_imports_the_entrypoints(domain: str) -> None:
    def allowed(_: str, imp: str) -> bool:
        return not imp.startswith(("terminal.web", "terminal.cli"))

    assert _offenders(domain, allowed) == []


def test_the_domain_does_not_reach_up_into_checkout() -> None:
    bad = []
    for domain in ("terminal.settlement", "terminal.identity", "terminal.risk", "terminal.ledger"):
        bad += _offenders(domain, lambda _m, imp: not imp.startswith("terminal.checkout"))
    assert bad == []


def test_the_walk_sees_the_packages() -> None:
    # guards the checks above against passing on an empty walk
    assert "terminal.ledger.unit" in MODULES
    assert "sqlite_utils" in MODULES["terminal.ledger.schema"]


# -- the ledger is closed: SQL text lives in the ledger (terminal) and the hub's store (platform) --

_SQL = re.compile(
    r"\b(SELECT\s.+?\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|CREATE\s+(TABLE|INDEX|TRIGGER)|DROP\s+(TABLE|INDEX|TRIGGER)|PRAGMA\s+\w+|BEGIN\s+IMMEDIATE)\b",
    re.DOTALL,
)
SQL_HOMES = ("terminal.ledger", "sync.hub")


def _strings(path: Path) -> list[tuple[int, str]]:
    """Every string constant of a module (f-string parts too), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def _module_paths() -> dict[str, Path]:
    paths = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            paths[".".join(rel.parts).removesuffix(".__init__")] = path
    return paths


def _in(module: str, homes: tuple[str, ...]) -> bool:
    return any(module == h or module.startswith(h + ".") for h in homes)


def test_sql_is_written_only_in_the_ledger_and_the_hubs_store() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line}: {text.strip()[:60]!r}"
        for module, path in _module_paths().items()
        if not _in(module, SQL_HOMES)
        for line, text in _strings(path)
        if _SQL.search(text)
    ]
    assert bad == []


def test_the_sql_check_sees_sql() -> None:
    # guards the check above against a pattern that matches nothing
    assert _SQL.search("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")
    assert _SQL.search("UPDATE outbox SET attempts = 0")
    assert not _SQL.search("select the card application (INS_SELECT)")
    ledger_sql = [t for _, t in _strings(ROOT / "terminal/ledger/store.py") if _SQL.search(t)]
    assert ledger_sql


def test_only_the_ledger_opens_sqlite() -> None:
    bad = [
        f"{module} imports {imp}"
        for module, imports in MODULES.items()
        for imp in imports
        if _top(imp) == "sqlite3" and not _in(module, ("terminal.ledger",))
    ]
    assert bad == []


def test_only_the_entrypoints_ask_the_composition_root() -> None:
    bad = [
        f"{module} imports {imp}"
        for module, imports in MODULES.items()
        for imp in imports
        if imp.startswith("terminal.bootstrap")
        and not _in(module, ("terminal.cli", "terminal.web", "terminal.bootstrap"))
    ]
    assert bad == []


# -- rooms stay small ---------------------------------------------------------------------------

MAX_LINES = 400


def test_no_module_outside_tests_is_over_400_lines() -> None:
    too_long = []
    for folder in (*PACKAGES, "bench", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert too_long == []
