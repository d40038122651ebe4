"""The README's "The guide in the code": every module and test it names exists.

Each row is `| promise | kept by | proved by |`. A backticked name after a link must be in the
linked file: a test function for a test file, any name the module uses for a module.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## The guide in the code"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_.]*)`")


@dataclass(frozen=True)
class Reference:
    row: str
    column: str
    path: str
    names: tuple[str, ...]


def section(readme: str) -> str:
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    return readme[start : end if end != -1 else len(readme)]


def rows(text: str) -> list[list[str]]:
    """The body rows of the section's tables, as cells (header and separator rows left out)."""
    found = []
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith("| ---"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if cells[0] in ("the guide says", "the contract's rule"):
            continue
        found.append(cells)
    return found


def references(cell: str, row: str, column: str) -> list[Reference]:
    """Each link of `cell` with the backticked names that follow it, up to the next link."""
    links = list(LINK.finditer(cell))
    found = []
    for index, link in enumerate(links):
        end = links[index + 1].start() if index + 1 < len(links) else len(cell)
        names = tuple(NAME.findall(cell[link.end() : end]))
        found.append(Reference(row, column, link.group(1), names))
    return found


def all_references() -> list[Reference]:
    found = []
    for cells in rows(section((ROOT / "README.md").read_text(encoding="utf-8"))):
        assert len(cells) == 3, f"a row of the map has {len(cells)} cells: {cells[0]}"
        found += references(cells[1], cells[0], "kept by")
        found += references(cells[2], cells[0], "proved by")
    return found


def test_every_promise_names_a_module_and_a_test() -> None:
    table = rows(section((ROOT / "README.md").read_text(encoding="utf-8")))
    assert len(table) >= 20  # the guide's promises and the contract's rules
    for promise, kept_by, proved_by in table:
        assert LINK.search(kept_by) or "every service" in kept_by, f"nothing keeps: {promise}"
        proofs = references(proved_by, promise, "proved by")
        assert proofs, f"nothing proves: {promise}"
        assert all(p.path.startswith("tests/") and p.names for p in proofs), (
            f"a proof names no test: {promise}"
        )


@pytest.mark.parametrize("reference", all_references(), ids=lambda r: f"{r.path}:{','.join(r.names)}")
def test_each_named_module_and_test_exists(reference: Reference) -> None:
    path = ROOT / reference.path
    assert path.is_file(), f"{reference.path} (for: {reference.row}) is gone"
    source = path.read_text(encoding="utf-8")
    if reference.column == "proved by":
        tests = {
            node.name
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        }
        missing = [name for name in reference.names if name not in tests]
    else:
        missing = [name for name in reference.names if not re.search(rf"\b{re.escape(name)}\b", source)]
    assert missing == [], f"{reference.path} no longer has {missing} (for: {reference.row})"


def test_the_check_notices_a_missing_test() -> None:
    cell = "[`a.py`](tests/unit/test_guide_map.py) `test_no_such_test`"
    [reference] = references(cell, "row", "proved by")
    assert reference.names == ("test_no_such_test",)
    with pytest.raises(AssertionError, match="no longer has"):
        test_each_named_module_and_test_exists(reference)
    gone = Reference("row", "kept by", "libs/common/src/common/no_such_module.py", ())
    with pytest.raises(AssertionError, match="is gone"):
        test_each_named_module_and_test_exists(gone)
