"""docs/reliability.md's fault matrix cannot drift: every row names a test that exists, and every
test of the fault suites has a row."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

DOC = Path(__file__).parent.parent / "docs" / "reliability.md"
FAULT_SUITES = [
    "test_faults",
    "test_exactly_once",
    "test_responder",
    "test_secrets",
    "test_hostile_input",
    "test_rollback_cases",
    "test_ownership",
    "test_api_unknowns",
    "test_adoption_rollbacks",
]


def matrix_tests() -> list[tuple[str, str]]:
    block = DOC.read_text().split("<!-- matrix:start -->")[1].split("<!-- matrix:end -->")[0]
    return re.findall(r"`tests/(\w+)\.py::(\w+)`", block)


def test_every_row_names_a_test_that_exists() -> None:
    rows = matrix_tests()
    assert len(rows) >= 30
    for module, name in rows:
        assert callable(getattr(importlib.import_module(f"tests.{module}"), name, None)), f"{module}::{name}"


def test_every_fault_test_has_a_row() -> None:
    documented = set(matrix_tests())
    for module in FAULT_SUITES:
        tests = {
            name for name in vars(importlib.import_module(f"tests.{module}")) if name.startswith("test_")
        }
        missing = {name for name in tests if (module, name) not in documented}
        assert not missing, f"add rows to docs/reliability.md for {module}: {sorted(missing)}"
