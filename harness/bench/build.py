"""``sam build`` of the template, so the benchmark measures the artifacts that would ship.

``make bench`` and ``tests/test_bench.py`` run ``python -m bench --build``, which
builds with the same ``sam build`` as ``make build``, but into a directory of
its own: the benchmark never measures a stale build, nor one that a concurrent
``make build`` is rewriting (``sam build`` deletes the layer before refilling it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.layout import ROOT


def sam_build(build_dir: Path) -> None:
    """Build the template into ``build_dir`` (python3.13 from this virtualenv, no Docker)."""
    venv_bin = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
    command = [
        str(venv_bin / "sam"),
        "build",
        "--template-file",
        str(ROOT / "template.yaml"),
        "--build-dir",
        str(build_dir),
        "--cache-dir",
        str(build_dir.parent / f"{build_dir.name}-cache"),
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"sam build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
