"""The code's shape: SQL and asyncpg only in `db/` packages, no import cycle in any package.

Read with the standard library's `ast`, so nothing is imported or run.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    path.name: path
    for src in sorted([*ROOT.glob("libs/*/src"), *ROOT.glob("services/*/src")])
    for path in src.iterdir()
    if (path / "__init__.py").exists()
}
# A statement, not a word: "DELETE" alone is also an HTTP method.
SQL = re.compile(
    r"^\s*(SELECT\s.+\sFROM\s|SELECT\s+(pg_\w+|\d|EXISTS)|INSERT\s+INTO\s|UPDATE\s+\w+\s.*\bSET\s|DELETE\s+FROM\s"
    r"|WITH\s+\w+\s+AS\s*\(|LISTEN\s|NOTIFY\s|(CREATE|ALTER|DROP)\s+(TABLE|INDEX|VIEW|ROLE)\s|TRUNCATE\s)",
    re.DOTALL,
)
# Modules still importing asyncpg at run time outside `db/`: each is being changed by another
# piece of work this round. This list may only shrink.
ASYNCPG_OUTSIDE_DB_PENDING = {
    "order_poller/guard.py",
    "order_poller/poller.py",
    "order_poller/download.py",
    "status_writer/store_flush.py",
    "status_writer/flusher.py",
}


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES.values() for p in package.rglob("*.py"))


def _package_root(path: Path) -> Path:
    """The `src` folder that holds `path`'s package."""
    return next(p for p in PACKAGES.values() if path.is_relative_to(p)).parent


def name_of(path: Path) -> str:
    """`package/…/module.py`."""
    return path.relative_to(_package_root(path)).as_posix()


def outside_db(path: Path) -> bool:
    return "db" not in path.relative_to(_package_root(path)).parts


def _runtime_imports(tree: ast.Module) -> list[tuple[str, int]]:
    """(module, line) of each import that runs: not under `if TYPE_CHECKING:`."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def test_the_scan_sees_every_package() -> None:
    assert {
        "common",
        "auth_gateway",
        "order_poller",
        "status_writer",
        "connector",
        "bigcommerce_sandbox",
    } <= set(PACKAGES)
    assert SQL.match("SELECT id FROM channels WHERE id = $1")
    assert SQL.match("\nUPDATE outbox o\n   SET attempts = 1")
    assert not SQL.match("DELETE")
    assert not SQL.match("Select the store you want")
    assert not SQL.match("Create an empty store (not yet installed).")


@pytest.mark.parametrize("path", [p for p in modules() if outside_db(p)], ids=name_of)
def test_no_sql_outside_db_packages(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    statements = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value)
    ]
    assert statements == [], f"{name_of(path)}: SQL at lines {statements}; it belongs in a db/ module"


@pytest.mark.parametrize("path", [p for p in modules() if outside_db(p)], ids=name_of)
def test_asyncpg_is_imported_only_by_db_packages(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = [line for module, line in _runtime_imports(tree) if module.split(".")[0] == "asyncpg"]
    if name_of(path) in ASYNCPG_OUTSIDE_DB_PENDING:
        return
    assert lines == [], (
        f"{name_of(path)} imports asyncpg at lines {lines}: type-only imports go under TYPE_CHECKING"
    )


def test_the_pending_list_names_only_modules_that_still_import_asyncpg() -> None:
    by_name = {name_of(p): p for p in modules()}
    for name in ASYNCPG_OUTSIDE_DB_PENDING:
        assert name in by_name, f"{name} is gone: remove it from the list"
        imports = _runtime_imports(ast.parse(by_name[name].read_text(encoding="utf-8")))
        assert any(m.split(".")[0] == "asyncpg" for m, _ in imports), (
            f"{name} is clean: remove it from the list"
        )
