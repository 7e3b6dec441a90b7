"""Counts a test run reports in docs/reliability.md (see conftest's pytest_sessionfinish)."""

from __future__ import annotations

from collections import Counter

counts: Counter[str] = Counter()


def add(name: str, n: int = 1) -> None:
    counts[name] += n
