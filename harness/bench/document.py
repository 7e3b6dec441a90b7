"""Writing the table into docs/performance.md without touching what people wrote there.

The measured part sits between two HTML comments; a run replaces only that
part, so the explanations and findings around it stay. A file without the
markers (or none) gets a short skeleton around the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.report import Row, machine, markdown_table, today

BEGIN = "<!-- bench:begin (written by `make bench`; edit around it) -->"
END = "<!-- bench:end -->"

SKELETON = f"""# Performance

What a stack waits on when it uses this provider, measured by `make bench`.

{BEGIN}
{END}
"""


def measured_block(rows: Sequence[Row], notes: Sequence[str], mode: str) -> str:
    return "\n".join(
        [
            BEGIN,
            "",
            f"Measured {today()} by `make bench` ({mode} mode) on {machine()}.",
            "",
            markdown_table(rows),
            "",
            *(f"- {note}" for note in notes),
            "",
            END,
        ]
    )


def write_document(path: Path, rows: Sequence[Row], notes: Sequence[str], mode: str) -> None:
    text = path.read_text() if path.exists() else SKELETON
    if BEGIN not in text or END not in text:
        text = text.rstrip() + "\n\n" + SKELETON.split("\n", 3)[3]
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head + measured_block(rows, notes, mode) + tail)
