"""Sizes of what would be uploaded: the function's zip and the layer's zip.

Both are zipped in memory the way ``sam deploy`` packages them (deflate, the
layer with its ``python/`` prefix, bytecode included), so the figures are the
bytes Lambda downloads into a new container. The layer's biggest top-level
packages are listed too, to show where its weight is.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.layout import LambdaLayout


@dataclass
class Sizes:
    function_zip: int
    function_files: int
    layer_zip: int
    layer_files: int
    layer_unzipped: int
    #: Compressed bytes per top-level entry of the layer, biggest first.
    layer_packages: list[tuple[str, int]] = field(default_factory=list)


def _zip(root: Path, prefix: str) -> tuple[int, int, Counter[str]]:
    """Zipped size, file count, and compressed bytes per top-level entry."""
    buffer = io.BytesIO()
    per_entry: Counter[str] = Counter()
    files = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                relative = path.relative_to(root)
                archive.write(path, f"{prefix}{relative}")
                per_entry[relative.parts[0]] += archive.getinfo(f"{prefix}{relative}").compress_size
                files += 1
    return len(buffer.getvalue()), files, per_entry


def _package(entry: str) -> str:
    """``requests-2.34.2.dist-info`` and ``requests`` count as one package."""
    return (
        entry.split("-", maxsplit=1)[0].removesuffix(".py")
        if entry.endswith(".dist-info")
        else entry.removesuffix(".py")
    )


def measure(layout: LambdaLayout) -> Sizes:
    function_zip, function_files, _ = _zip(layout.function_dir, "")
    layer_zip, layer_files, per_entry = _zip(layout.layer_dir, "python/")
    packages: Counter[str] = Counter()
    for entry, size in per_entry.items():
        packages[_package(entry)] += size
    unzipped = sum(path.stat().st_size for path in layout.layer_dir.rglob("*") if path.is_file())
    return Sizes(function_zip, function_files, layer_zip, layer_files, unzipped, packages.most_common(6))
