"""The web face reads the ledger through its named queries (terminal/ledger/reports.py): no SQL
text in any of its modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import terminal.web

WEB = Path(terminal.web.__file__).parent
SQL = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA)\b.*\b(FROM|INTO|SET|TABLE)\b|^\s*PRAGMA\b"
)


def _strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def test_no_module_of_the_web_holds_sql() -> None:
    modules = sorted(WEB.rglob("*.py"))
    assert len(modules) > 10
    found = {
        str(path.relative_to(WEB)): text
        for path in modules
        for text in _strings(path)
        if SQL.search(text)
    }
    assert found == {}


def test_the_check_sees_sql() -> None:
    assert SQL.search("SELECT seq, hash FROM ledger WHERE txn_id = ?")
    assert SQL.search("UPDATE OUTBOX SET next_at = 0")
    assert not SQL.search("select a sale from the list")  # words, as SQL is written uppercase
