"""The CDK construct library's build outputs (cdk/), for the tests that use them.

``make cdk`` builds them: jsii's assembly in cdk/build/.jsii, the npm package and the Python wheel
in dist/cdk/. The tests ask make for them once per session, so an unchanged library is not built
again (``make test`` has built it already) and a changed one is.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "cdk" / "build"
DIST = ROOT / "dist" / "cdk"
#: jsii prints a banner on Node 20, which it supports past Node 20's end of life.
NODE_ENV = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


@dataclass(frozen=True)
class Packages:
    assembly: dict[str, Any]
    wheel: Path
    npm_tarball: Path
    lib: Path


@functools.cache
def built() -> Packages:
    result = subprocess.run(
        ["make", "--no-print-directory", "cdk"],
        cwd=ROOT,
        env=os.environ | NODE_ENV,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"make cdk failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    (wheel,) = (DIST / "python").glob("spacelift_cfn_cdk-*.whl")
    (tarball,) = (DIST / "js").glob("spacelift-cfn-cdk@*.jsii.tgz")
    assembly = json.loads((BUILD / ".jsii").read_text())
    return Packages(assembly=assembly, wheel=wheel, npm_tarball=tarball, lib=BUILD / "lib")
