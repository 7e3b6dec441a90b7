"""Cold start: a fresh container's first Create, against the floor program, as whole processes.

Each run spawns a new interpreter (see :mod:`bench.layout`) that imports the
built function and layer and handles one Create with two ExternalIdsFor: the
secret comes from Secrets Manager (moto's server), Spacelift is the loopback
emulator with no added latency, and the response is PUT to the capture server.
The same run of the floor program (:mod:`bench.floor`) follows, so drifts of
the machine hit both alike; the ratio of their medians is the figure.

The provider runs twice per round: without a table (no
``IDEMPOTENCY_TABLE``), and as deployed, with the idempotency table in moto,
against a floor that makes the same DynamoDB calls; and once more as deployed with
the template's ``Tracing: Active`` (X-Ray segments sent to a UDP sink), which
prices tracing against the same run without it. The Spacelift requests of
every run are counted at the emulator; the first round's are compared with the
floor's to prove both did the same work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.child import run_once
from bench.events import create_integration
from bench.layout import BENCH_DIR, LambdaLayout
from bench.services import STACKS, Services

COLD_STACKS = STACKS[:2]


@dataclass
class ColdRun:
    """One fresh process: wall time spawn to reap, peak RSS, and what Spacelift saw."""

    wall: float
    cpu: float
    maxrss_kb: int
    requests: int
    token_exchanges: int
    operations: list[tuple[str, ...]]
    import_seconds: float = 0.0
    handler_seconds: float = 0.0
    from_source: list[str] = field(default_factory=list)


@dataclass
class ColdResults:
    provider: list[ColdRun] = field(default_factory=list)
    floor: list[ColdRun] = field(default_factory=list)
    provider_table: list[ColdRun] = field(default_factory=list)
    floor_table: list[ColdRun] = field(default_factory=list)
    provider_traced: list[ColdRun] = field(default_factory=list)
    same_requests: bool = False


def _run(
    services: Services, layout: LambdaLayout, *, floor: bool, table: bool, traced: bool = False
) -> ColdRun:
    services.reset_spacelift()
    event = create_integration(services.responses, "bench-cold", COLD_STACKS)
    script = BENCH_DIR / ("floor.py" if floor else "container.py")
    args = ("--table",) if floor and table else ()
    exited = run_once(layout, script, services.environment(table=table, traced=traced), event, *args)
    answers = services.responses.for_request(event["RequestId"])
    if len(answers) != 1 or answers[0].status != "SUCCESS":
        reasons = [answer.reason for answer in answers]
        raise RuntimeError(f"cold Create ({script.name}, table={table}) was not answered SUCCESS: {reasons}")
    records = services.emulator.requests
    run = ColdRun(
        wall=exited.wall,
        cpu=exited.cpu,
        maxrss_kb=exited.maxrss_kb,
        requests=len(records),
        token_exchanges=services.emulator.token_exchanges,
        operations=[(r.operation_type or "", *r.root_fields, r.query or "") for r in records],
    )
    by_kind: dict[str, dict[str, Any]] = {}
    for message in exited.results:
        by_kind["ready" if "ready" in message else "exit" if "exit" in message else "event"] = message
    if "ready" in by_kind:  # the provider's container; the floor only reports its peak RSS
        run.import_seconds = float(by_kind["ready"]["import_seconds"])
        run.handler_seconds = float(by_kind["event"]["wall"])
        run.from_source = list(by_kind["exit"]["from_source"])
    return run


def measure(services: Services, layout: LambdaLayout, runs: int) -> ColdResults:
    """``runs`` rounds of provider, floor, provider with table, floor with table, provider with
    table and tracing; plus one discarded."""
    results = ColdResults()
    for round_number in range(runs + 1):
        provider = _run(services, layout, floor=False, table=False)
        floor = _run(services, layout, floor=True, table=False)
        provider_table = _run(services, layout, floor=False, table=True)
        floor_table = _run(services, layout, floor=True, table=True)
        provider_traced = _run(services, layout, floor=False, table=True, traced=True)
        if round_number == 0:  # warms the page cache and moto; checks the floor does the same work
            results.same_requests = provider.operations == floor.operations
            continue
        results.provider.append(provider)
        results.floor.append(floor)
        results.provider_table.append(provider_table)
        results.floor_table.append(floor_table)
        results.provider_traced.append(provider_traced)
    return results
