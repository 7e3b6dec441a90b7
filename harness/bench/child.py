"""Driving a child process (a container or the floor program) and timing it as a whole.

A child is timed from just before it is spawned until it has been reaped. Its
peak RSS is what it reports itself on its last line (``VmHWM``, see
:func:`bench.container.peak_rss_kb`): ``wait4``'s ``ru_maxrss`` would include the
benchmark's own size, which Linux carries over ``fork`` and ``exec``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench.layout import PATH_VARIABLE, LambdaLayout


class ChildFailed(Exception):
    """A child exited badly or broke the protocol; the message has its stderr."""


@dataclass
class Exited:
    """How a child ended: wall time from spawn to reap, peak RSS, CPU time, and what it reported."""

    wall: float
    maxrss_kb: int
    #: User + system CPU seconds of the child (from ``wait4``: steadier than wall time on a busy machine).
    cpu: float
    results: list[dict[str, Any]] = field(default_factory=list)


class Child:
    """A running child speaking :mod:`bench.container`'s line protocol (or reading one event)."""

    def __init__(self, layout: LambdaLayout, script: Path, environment: dict[str, str], *args: str) -> None:
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish()
        env = {**environment, PATH_VARIABLE: layout.sys_path}
        self.started = time.perf_counter()
        self._process = subprocess.Popen(
            layout.command(script, *args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            text=True,
        )

    def write(self, message: dict[str, Any]) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(message) + "\n")
        self._process.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self.finish()  # raises with the child's stderr
            raise ChildFailed("the child closed its output early")
        message: dict[str, Any] = json.loads(line)
        return message

    def send(self, event: dict[str, Any]) -> dict[str, Any]:
        """Deliver one event and wait for its result line."""
        self.write({"event": event})
        return self.read()

    def finish(self) -> Exited:
        """Close the input, collect the remaining lines, reap the child."""
        assert self._process.stdin is not None and self._process.stdout is not None
        if not self._process.stdin.closed:
            self._process.stdin.close()
        rest = self._process.stdout.read()
        _, status, usage = os.wait4(self._process.pid, 0)
        ended = time.perf_counter()
        self._process.returncode = os.waitstatus_to_exitcode(status)
        self._process.stdout.close()
        if self._process.returncode != 0:
            self._stderr.seek(0)
            error = self._stderr.read().decode(errors="replace")[-4000:]
            raise ChildFailed(f"child exited {self._process.returncode}:\n{error}")
        self._stderr.close()
        results = [json.loads(line) for line in rest.splitlines() if line.strip()]
        peaks = [int(result["maxrss_kb"]) for result in results if "maxrss_kb" in result]
        cpu = usage.ru_utime + usage.ru_stime
        return Exited(ended - self.started, max(peaks, default=0), cpu, results)


def run_once(
    layout: LambdaLayout, script: Path, environment: dict[str, str], event: dict[str, Any], *args: str
) -> Exited:
    """Spawn a child, give it one event and end of input at once, and time it until it is reaped."""
    child = Child(layout, script, environment, *args)
    child.write({"event": event})
    return child.finish()
