"""The benchmark works: ``python -m bench --quick`` runs end to end on a fresh build.

It builds with ``sam build`` into a temporary directory (never a stale
``.aws-sam/build``), runs every figure once or twice and writes its table to a
temporary file, not to docs/performance.md. Only what is not a timing is
asserted: that every figure has its row, and the request counts it targets
(they are counted at the emulator, so they are exact on any machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: One row per figure of the benchmark (prefixes of the table's first column).
FIGURES = (
    "Round trips: cold Create, 2 ExternalIdsFor",
    "Round trips: warm Create, 0 ExternalIdsFor",
    "Round trips: warm Create, 2 ExternalIdsFor",
    "Round trips: warm Create, 5 ExternalIdsFor",
    "Round trips: warm Update",
    "Round trips: warm Delete",
    "Round trips: attachment Create",
    "Round trips: token exchanges of a warm container",
    "Cold start: provider, first Create",
    "Cold start: floor",
    "Cold start CPU",
    "Cold start with IDEMPOTENCY_TABLE",
    "Cold start with Tracing Active (X-Ray)",
    "Cold start: floor + the table's 4 DynamoDB calls",
    "Floor and provider send the same GraphQL requests",
    "Shipped modules imported without bytecode",
    "Warm Create at 50.0 ms/request",
    "Warm Create: time beyond requests x 50.0 ms and the PUT",
    "Warm Create: handler CPU per event",
    "Warm Create: response PUT",
    "Warm Create with IDEMPOTENCY_TABLE",
    "Peak RSS: cold Create",
    "Peak RSS: floor",
    "Function zip",
    "Layer zip",
    "Scale: 20 Creates, 4 containers, 50 req/s limit: succeeded",
    "Scale: token exchanges",
    "Scale: 429 answers retried through",
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """The quick benchmark's Markdown table and its JSON counts."""
    work = tmp_path_factory.mktemp("bench")
    document, counts = work / "performance.md", work / "counts.json"
    command = [
        sys.executable,
        "-m",
        "bench",
        "--quick",
        "--build",
        "--build-dir",
        str(work / "build"),
        "--output",
        str(document),
        "--json",
        str(counts),
    ]
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "harness")}
    result = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False, timeout=840
    )
    assert result.returncode == 0, f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-6000:]}"
    loaded: dict[str, Any] = json.loads(counts.read_text())
    return document.read_text(), loaded


pytestmark = pytest.mark.timeout(900)  # sam build may fetch the layer's wheels


def test_the_table_has_every_figure(quick_run: tuple[str, dict[str, Any]]) -> None:
    document, _ = quick_run
    first_cells = [line.split("|")[1].strip() for line in document.splitlines() if line.startswith("| ")]
    for figure in FIGURES:
        assert any(cell.startswith(figure) for cell in first_cells), f"no row for {figure!r}"
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in document
    assert "quick mode" in document


def test_round_trips_are_as_targeted(quick_run: tuple[str, dict[str, Any]]) -> None:
    _, counts = quick_run
    # A cold container: the token exchange, the account lookup, the create.
    assert set(counts["cold_requests"]) == {3}
    assert set(counts["cold_token_exchanges"]) == {1}
    assert set(counts["cold_requests_with_table"]) == {3}
    assert set(counts["cold_requests_traced"]) == {3}
    assert counts["warm_first_requests"] == 3
    assert counts["warm_first_token_exchanges"] == 1
    # A warm container: one request per Create (whatever the number of external IDs),
    # Update, Delete and attachment Create, and no further token exchange.
    assert set(counts["warm_create_requests"]) == {1}
    assert set(counts["warm_create_requests_with_table"]) == {1}
    assert counts["round_trips"] == {
        "create-0": 1,
        "create-2": 1,
        "create-5": 1,
        "update": 1,
        "attachment": 1,
        "delete": 1,
    }
    assert counts["warm_later_token_exchanges"] == 0


def test_the_floor_does_the_same_work(quick_run: tuple[str, dict[str, Any]]) -> None:
    _, counts = quick_run
    assert counts["same_requests"] is True
    assert counts["floor_requests"] == counts["cold_requests"]


def test_the_build_ships_bytecode(quick_run: tuple[str, dict[str, Any]]) -> None:
    _, counts = quick_run
    assert counts["compiled_from_source"] == []


def test_every_create_at_scale_succeeds_with_one_exchange_per_container(
    quick_run: tuple[str, dict[str, Any]],
) -> None:
    _, counts = quick_run
    for run in counts["scale"]:
        assert run["succeeded"] == run["creates"]
        assert run["token_exchanges"] == run["containers"]
        # Every request was either answered or throttled and retried: a Create (plus, per
        # container, an exchange and an account lookup) is never sent twice once answered.
        assert run["requests"] - run["throttled"] == run["creates"] + 2 * run["containers"]


def test_sizes_are_reported(quick_run: tuple[str, dict[str, Any]]) -> None:
    _, counts = quick_run
    assert counts["function_zip"] > 0
    assert counts["layer_zip"] > counts["function_zip"]
