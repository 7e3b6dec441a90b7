"""The one table: a row per figure, printed as text and written as Markdown.

Every timed figure is the median of its runs with the spread (min-max) beside
it, because a 2-core machine shared with other work has outliers that a mean
would smear over every figure. Counts (requests, token exchanges) are exact.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass

COLUMNS = (
    "Figure",
    "Median",
    "Spread (min-max)",
    "Target",
    "Ratio to floor",
    "Spacelift requests",
    "Terraform provider",
    "Met",
)


@dataclass(frozen=True)
class Row:
    """One figure. ``met`` is None where there is no target (context rows)."""

    figure: str
    median: str
    spread: str = ""
    target: str = ""
    ratio: str = ""
    requests: str = ""
    #: What the Terraform provider spends for the same (create, read-back, one query per external ID).
    terraform: str = ""
    met: bool | None = None

    def cells(self) -> tuple[str, ...]:
        verdict = "" if self.met is None else ("yes" if self.met else "**no**")
        return (
            self.figure,
            self.median,
            self.spread,
            self.target,
            self.ratio,
            self.requests,
            self.terraform,
            verdict,
        )


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def timed(
    figure: str,
    seconds: Sequence[float],
    *,
    target: str = "",
    ratio: str = "",
    requests: str = "",
    met: bool | None = None,
) -> Row:
    """A row of times: median, and min-max of the runs."""
    spread = f"{min(seconds) * 1000:.1f}-{max(seconds) * 1000:.1f} ms (n={len(seconds)})" if seconds else ""
    return Row(figure, ms(median(seconds)), spread, target, ratio, requests, met=met)


def mib(kilobytes: Sequence[int]) -> tuple[str, str]:
    values = [kb / 1024 for kb in kilobytes]
    return f"{median(values):.1f} MiB", f"{min(values):.1f}-{max(values):.1f} MiB (n={len(values)})"


def machine() -> str:
    return (
        f"Python {platform.python_version()} ({sys.implementation.name}), {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs"
    )


def text_table(rows: Sequence[Row]) -> str:
    """Aligned columns for the terminal."""
    cells = [COLUMNS, *(row.cells() for row in rows)]
    widths = [max(len(line[index]) for line in cells) for index in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(rows: Sequence[Row]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(COLUMNS), line(["---"] * len(COLUMNS)), *(line(row.cells()) for row in rows)])


def today() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
