"""Scale: many Creates at once from concurrent containers against a rate-limited Spacelift.

``containers`` container processes (the built function, as in :mod:`bench.cold`)
stand for Lambda running that many copies at once; each handles its share of
the Creates one after another, as a Lambda container does. Processes and not
threads, because the provider keeps a per-container token and account cache in
module globals, and one container never runs two events at once.

The containers first import the function (Lambda's init phase) and report
ready; then every event is released together, so the first Create of every
container (token exchange, account lookup, create) hits the emulator at the
same moment. The emulator answers 429 with ``Retry-After`` beyond ``rps``
requests a second. Every Create must be answered SUCCESS; the figure is how
long the whole batch took, how many token exchanges it cost (one per
container) and how many 429s the provider had to retry through.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench import events
from bench.child import Child
from bench.layout import BENCH_DIR, LambdaLayout
from bench.services import STACKS, Services


@dataclass
class ScaleResults:
    creates: int
    containers: int
    rps: float
    succeeded: int
    seconds: float
    requests: int
    throttled: int
    token_exchanges: int


def measure(
    services: Services, layout: LambdaLayout, creates: int, containers: int, rps: float
) -> ScaleResults:
    services.reset_spacelift()
    environment = services.environment()
    children = [Child(layout, BENCH_DIR / "container.py", environment) for _ in range(containers)]
    for child in children:
        child.read()  # imported: the init phase is over
    batches: list[list[dict[str, object]]] = [[] for _ in children]
    for index in range(creates):
        event = events.create_integration(services.responses, f"bench-scale-{index}", STACKS[:2])
        batches[index % containers].append(event)
    services.emulator.reset_counters()
    services.emulator.faults.rate_limit(rps)
    started = time.perf_counter()
    try:
        for child, batch in zip(children, batches, strict=True):
            for event in batch:
                child.write({"event": event})
        for child in children:
            child.finish()
        seconds = time.perf_counter() - started
    finally:
        services.emulator.faults.rate_limit(None)
    succeeded = 0
    for batch in batches:
        for event in batch:
            answers = services.responses.for_request(str(event["RequestId"]))
            succeeded += len(answers) == 1 and answers[0].status == "SUCCESS"
    records = services.emulator.requests
    return ScaleResults(
        creates=creates,
        containers=containers,
        rps=rps,
        succeeded=succeeded,
        seconds=seconds,
        requests=len(records),
        throttled=sum(1 for record in records if record.status == 429),
        token_exchanges=services.emulator.token_exchanges,
    )
