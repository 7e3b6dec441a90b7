"""``python -m bench``: measure every figure, print the table, write it to docs/performance.md.

``--quick`` runs each figure once or twice and a small scale test: it checks
that the benchmark works (``tests/test_bench.py``), its times mean little.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import cold, scale, sizes, warm
from bench.build import sam_build
from bench.document import write_document
from bench.figures import Figures, notes, rows, summary
from bench.layout import ROOT, LambdaLayout
from bench.report import machine, text_table, today
from bench.services import Services

LATENCY_SECONDS = 0.05
SCALE_RPS = 50.0


@dataclass(frozen=True)
class Mode:
    name: str
    cold_runs: int
    warm_runs: int
    scale_runs: int
    scale_creates: int
    scale_containers: int


FULL = Mode("full", cold_runs=11, warm_runs=15, scale_runs=3, scale_creates=200, scale_containers=20)
QUICK = Mode("quick", cold_runs=1, warm_runs=2, scale_runs=1, scale_creates=20, scale_containers=4)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one or two runs per figure, 20 scale Creates")
    parser.add_argument("--build", action="store_true", help="run sam build into --build-dir first")
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--json", type=Path, help="also write the request counts and sizes as JSON")
    options = parser.parse_args(argv)
    mode = QUICK if options.quick else FULL

    if options.build:
        print(f"sam build into {options.build_dir} ...", flush=True)
        sam_build(options.build_dir)
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch, Services() as services:
        layout = LambdaLayout.create(options.build_dir, Path(scratch))
        print(f"{mode.name} benchmark of {options.build_dir} on {machine()}", flush=True)
        print(
            f"cold start: {mode.cold_runs} rounds of provider/floor, without and with the table", flush=True
        )
        cold_results = cold.measure(services, layout, mode.cold_runs)
        print(f"warm: {mode.warm_runs} timed Creates at {LATENCY_SECONDS * 1000:g} ms/request", flush=True)
        warm_results = warm.measure(services, layout, mode.warm_runs, LATENCY_SECONDS)
        print(f"scale: {mode.scale_runs} x {mode.scale_creates} Creates", flush=True)
        scale_results = [
            scale.measure(services, layout, mode.scale_creates, mode.scale_containers, SCALE_RPS)
            for _ in range(mode.scale_runs)
        ]
        figures = Figures(cold_results, warm_results, sizes.measure(layout), scale_results)

    table = rows(figures)
    print()
    print(f"{today()}, {mode.name} mode, {machine()}")
    print(text_table(table))
    print("\n".join(notes(figures)))
    write_document(options.output, table, notes(figures), mode.name)
    print(f"\nwritten to {options.output}")
    if options.json:
        options.json.write_text(json.dumps(summary(figures), indent=2, default=str))


if __name__ == "__main__":
    main()
