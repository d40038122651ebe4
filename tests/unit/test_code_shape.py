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
    assert lines == [], (
        f"{name_of(path)} imports asyncpg at lines {lines}: type-only imports go under TYPE_CHECKING"
    )


def module_name(path: Path) -> str:
    parts = list(path.relative_to(_package_root(path)).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: str) -> dict[str, set[str]]:
    """Each module of `package` → the modules of `package` it imports, wherever the import stands.

    Deferred imports (inside a function) and imports for type checking only count too: a cycle
    closed by either still ties the modules into one. `from package import module` points at the
    module; `from package.module import name` at the module.
    """
    paths = {module_name(p): p for p in PACKAGES[package].rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")[: len(name.split(".")) - node.level + int(is_package)]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.add(submodule if submodule in paths else base)
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert cycles(graph) == [["p.a", "p.b", "p.c"]]
    assert cycles({"p.a": {"p.b"}, "p.b": set()}) == []


def test_the_graph_holds_deferred_and_type_only_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def build():\n    from pkg.b import thing\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"
    )
    monkeypatch.setitem(PACKAGES, "pkg", package)
    graph = import_graph("pkg")
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}
    assert cycles(graph) == [["pkg.a", "pkg.b"]]


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_cycle_in_any_package(package: str) -> None:
    graph = import_graph(package)
    assert len(graph) > 1
    assert cycles(graph) == []


# Taking, renewing and releasing a lease or a job's turn: `common.leases` is the one place that does
# it (`db/` modules hold the statements; the migration runner's lock is one of them). The poll lease's
# statements are the poller's, wrapped into a `common.leases.RowLease` by `order_poller.guard`.
LEASE_MACHINERY = {
    "common.db.leases": {"acquire_lease", "renew_lease", "release_lease"},
    "common.db.advisory_locks": {"try_lock", "lock", "unlock"},
    "order_poller.db.schedule": {"renew_poll_lease", "release_poll_lease"},
}
LEASE_MODULES = {"common/leases.py", "order_poller/guard.py"}


def lease_machinery_used(tree: ast.Module) -> list[str]:
    used = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in LEASE_MACHINERY:
            used += [alias.name for alias in node.names if alias.name in LEASE_MACHINERY[node.module]]
        elif isinstance(node, ast.ImportFrom) and node.module == "common.db":
            used += [f"common.db.{a.name}" for a in node.names if f"common.db.{a.name}" in LEASE_MACHINERY]
        elif isinstance(node, ast.Import):
            used += [alias.name for alias in node.names if alias.name in LEASE_MACHINERY]
    return used


def test_the_lease_check_sees_each_way_in() -> None:
    tree = ast.parse(
        "from common.db.advisory_locks import WEBHOOK_CHECK, try_lock\n"
        "from common.db import leases\nimport common.db.advisory_locks\n"
    )
    assert lease_machinery_used(tree) == ["try_lock", "common.db.leases", "common.db.advisory_locks"]


@pytest.mark.parametrize(
    "path", [p for p in modules() if outside_db(p) and name_of(p) not in LEASE_MODULES], ids=name_of
)
def test_leases_and_job_turns_are_taken_only_through_common_leases(path: Path) -> None:
    used = lease_machinery_used(ast.parse(path.read_text(encoding="utf-8")))
    assert used == [], f"{name_of(path)} uses {used} directly: take leases and job turns with common.leases"
