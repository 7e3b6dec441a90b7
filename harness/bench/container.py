"""One Lambda container: run as a child, it imports the built function and handles events.

Run by :mod:`bench.cold`, :mod:`bench.warm` and :mod:`bench.scale` as
``python -I -S harness/bench/container.py`` with the import path in ``BENCH_SYS_PATH``
(see :mod:`bench.layout`). It uses the standard library only until it imports
``app``, so what it measures is the function's own cost.

Protocol: the parent writes one JSON object per line on stdin, ``{"event": {...}}``;
the container answers on its original stdout one JSON line per event (wall and
CPU seconds of ``app.handler``, and how long the response PUT took). The first
line it writes is ``{"ready": ...}`` (after the import), the last, at end of
input, ``{"exit": ...}`` with the peak RSS and the bytecode check. The
function's own log lines (Powertools writes JSON to stdout) go to the file named
by ``BENCH_LOG``, by default ``/dev/null``.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402 - the clock starts before any import
import os  # noqa: E402
import sys  # noqa: E402
from typing import Any, TextIO  # noqa: E402


class Context:
    """The Lambda context as the runtime passes it (the parts the provider reads)."""

    function_name = "spacelift-cfn-provider"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:spacelift-cfn-provider"
    memory_limit_in_mb = 128
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name = "/aws/lambda/spacelift-cfn-provider"
    log_stream_name = "2026/11/22/[$LATEST]bench"

    def __init__(self, timeout_seconds: float) -> None:
        self.deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self.deadline - time.monotonic()) * 1000), 0)


def _channel() -> TextIO:
    """The original stdout, for results; fd 1 (where the function logs) goes to BENCH_LOG."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    log = os.open(os.environ.get("BENCH_LOG") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.close(log)
    return channel


def _timed_put(timings: list[float]) -> None:
    """Time the response PUT by wrapping the responder's one sending function."""
    responder = sys.modules.get("spacelift_cfn.responder")
    if responder is None:  # the provider failed to import; app answers by itself
        return
    send = responder.__dict__["put_response"]

    def put_response(url: str, body: bytes, deadline: Any) -> bool:
        start = time.perf_counter()
        try:
            return bool(send(url, body, deadline))
        finally:
            timings.append(time.perf_counter() - start)

    responder.__dict__["put_response"] = put_response


def peak_rss_kb() -> int:
    """This process's peak RSS since its ``exec`` (``VmHWM``).

    Not ``getrusage``: Linux carries the ``ru_maxrss`` of the forked copy of the
    parent over the ``exec``, so a child of a 120 MB benchmark reports 120 MB.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _from_source(directories: list[str]) -> list[str]:
    """Modules of ``directories`` imported without bytecode (compiled at import)."""
    found = []
    for name, module in list(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        origin, cached = getattr(spec, "origin", None), getattr(spec, "cached", None)
        if not origin or not origin.endswith(".py") or not origin.startswith(tuple(directories)):
            continue
        if not cached or not os.path.exists(cached):
            found.append(name)
    return sorted(found)


def main() -> None:
    directories = [path for path in os.environ["BENCH_SYS_PATH"].split(os.pathsep) if path]
    sys.path[:0] = directories
    sys.dont_write_bytecode = True  # /var/task and /opt are read-only in Lambda
    channel = _channel()
    import app

    imported = time.perf_counter()
    puts: list[float] = []
    _timed_put(puts)
    channel.write(json.dumps({"ready": True, "import_seconds": imported - STARTED}) + "\n")
    for line in sys.stdin:
        command = json.loads(line)
        puts.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        app.handler(command["event"], Context(float(command.get("timeout", 120))))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        channel.write(json.dumps({"wall": wall, "cpu": cpu, "put": sum(puts), "puts": len(puts)}) + "\n")
    shipped = directories[:2]  # the function and the layer; the runtime's are not ours
    channel.write(
        json.dumps(
            {
                "exit": True,
                "maxrss_kb": peak_rss_kb(),
                "modules": len(sys.modules),
                "from_source": _from_source(shipped),
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
