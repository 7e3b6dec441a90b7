"""The import path of a Lambda container, rebuilt from the ``sam build`` output.

A python3.13 Lambda container imports, in this order: the function's code
(``/var/task``), the layers (``/opt/python``), then the runtime's own packages
(boto3, botocore and their dependencies), then the standard library. The
benchmark's children get exactly that, and nothing else:

* the interpreter runs with ``-I -S``: no ``PYTHON*`` variables, no user or
  virtualenv ``site-packages`` (which hold a second copy of everything and would
  hide a missing layer dependency or a slow import);
* ``sys.path`` is the build's function directory, the layer's ``python/``
  directory and a *runtime* directory of symlinks to the virtualenv's copies of
  what the real runtime ships (:data:`RUNTIME_PACKAGES`), prepended to the
  standard library, by the child itself (:mod:`bench.container`, :mod:`bench.floor`);
* ``sys.dont_write_bytecode`` is set, as ``/var/task`` and ``/opt`` are
  read-only: a module without precompiled bytecode is compiled on every cold
  start, as it would be in Lambda, instead of being cached after the first run.

The layer's ``urllib3`` and ``jmespath`` come before the runtime's, as in Lambda.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

#: What the python3.13 runtime provides outside the standard library (boto3 and its dependencies).
RUNTIME_PACKAGES = ("boto3", "botocore", "jmespath", "dateutil", "six.py", "s3transfer", "urllib3")

#: The variable through which a child learns its import path (``-I`` ignores PYTHONPATH).
PATH_VARIABLE = "BENCH_SYS_PATH"

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent.parent


@dataclass(frozen=True)
class LambdaLayout:
    """The directories a child imports from, in Lambda's order."""

    function_dir: Path
    layer_dir: Path
    runtime_dir: Path

    @classmethod
    def create(cls, build_dir: Path, scratch: Path) -> LambdaLayout:
        """The layout of ``build_dir`` (a ``sam build`` output), with a runtime directory in ``scratch``."""
        function_dir = build_dir / "ProviderFunction"
        layer_dir = build_dir / "DependenciesLayer" / "python"
        for needed in (function_dir / "app.py", layer_dir / "aws_lambda_powertools"):
            if not needed.exists():
                raise SystemExit(f"{needed} is missing: run `make build` (sam build) first")
        runtime_dir = scratch / "runtime"
        runtime_dir.mkdir(parents=True, exist_ok=True)
        site_packages = _site_packages()
        for name in RUNTIME_PACKAGES:
            link = runtime_dir / name
            if not link.exists():
                link.symlink_to(site_packages / name)
        return cls(function_dir, layer_dir, runtime_dir)

    @property
    def sys_path(self) -> str:
        return os.pathsep.join(str(p) for p in (self.function_dir, self.layer_dir, self.runtime_dir))

    def command(self, script: Path, *args: str) -> list[str]:
        """The command line of a child: isolated interpreter, no site, the script and its arguments."""
        return [sys.executable, "-I", "-S", str(script), *args]


def _site_packages() -> Path:
    """Where this interpreter's boto3 lives (the virtualenv's site-packages)."""
    import boto3

    return Path(boto3.__file__).resolve().parent.parent
