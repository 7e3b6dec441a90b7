"""Warm containers: round trips per request type, and the time beyond Spacelift's latency.

One container process (the built function, as in :mod:`bench.cold`) handles a
first Create (which pays the token exchange and the account lookup), then:

* **overhead**: with ``latency`` seconds added by the emulator to every answer,
  timed Creates with two ExternalIdsFor. The container times ``app.handler``
  (wall and CPU) and, by wrapping the responder's one sending function, the
  response PUT. The overhead is ``wall - PUT - requests x latency``: all the
  time the stack waits that is neither Spacelift's nor the PUT's, including the
  emulator's own processing. That share is measured apart: the floor program
  (:mod:`bench.floor` ``--warm``) sends the same create mutation at no latency
  and times the answer with a client that does nothing else; the net overhead
  subtracts it, since the injected latency stands for Spacelift's whole answer
  time. The CPU time is the handler's own work per event (the emulator runs in
  the benchmark's process, not the container's);
* **round trips**, at no latency: Creates with 0, 2 and 5 ExternalIdsFor, an
  Update, a Delete and an attachment Create, each counted at the emulator.

:func:`measure` does both for a container without the idempotency table, and
the overhead again for one with it (as deployed: four DynamoDB calls to moto
per Create on top).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench import events
from bench.child import Child, run_once
from bench.layout import BENCH_DIR, LambdaLayout
from bench.services import STACKS, Services

WARM_STACKS = STACKS[:2]
#: ExternalIdsFor counts whose Creates are counted (each must cost one request).
EXTERNAL_ID_COUNTS = (0, 2, 5)


@dataclass
class Timed:
    """One timed warm Create."""

    wall: float
    cpu: float
    put: float
    requests: int
    overhead: float


@dataclass
class WarmResults:
    latency: float
    first_requests: int = 0
    first_token_exchanges: int = 0
    creates: list[Timed] = field(default_factory=list)
    creates_with_table: list[Timed] = field(default_factory=list)
    #: Token exchanges after the first Create (a warm container reuses its token: 0).
    later_token_exchanges: int = 0
    #: The same create mutation's answer time at no latency, from the floor's bare client.
    service_times: list[float] = field(default_factory=list)
    round_trips: dict[str, int] = field(default_factory=dict)


class _Container:
    """A container process plus the services, answering one event at a time."""

    def __init__(self, services: Services, layout: LambdaLayout, *, table: bool) -> None:
        self.services = services
        self.child = Child(layout, BENCH_DIR / "container.py", services.environment(table=table))
        self.child.read()  # ready
        self.token_exchanges = 0

    def handle(self, event: dict[str, object]) -> tuple[dict[str, float], int, str]:
        """Send ``event``; its timing, the Spacelift requests it made, and its PhysicalResourceId."""
        self.services.emulator.reset_counters()
        timing = self.child.send(event)
        self.token_exchanges += self.services.emulator.token_exchanges
        answers = self.services.responses.for_request(str(event["RequestId"]))
        if len(answers) != 1 or answers[0].status != "SUCCESS":
            raise RuntimeError(f"{event['RequestType']} was not answered SUCCESS: {answers}")
        return timing, self.services.emulator.request_count(), answers[0].physical_id

    def timed_creates(self, runs: int, latency: float, prefix: str) -> list[Timed]:
        results = []
        self.services.emulator.faults.latency = latency
        try:
            for index in range(runs):
                event = events.create_integration(self.services.responses, f"{prefix}-{index}", WARM_STACKS)
                timing, requests, _ = self.handle(event)
                overhead = timing["wall"] - timing["put"] - requests * latency
                results.append(Timed(timing["wall"], timing["cpu"], timing["put"], requests, overhead))
        finally:
            self.services.emulator.faults.latency = 0.0
        return results

    def close(self) -> None:
        self.child.finish()


def measure(services: Services, layout: LambdaLayout, runs: int, latency: float) -> WarmResults:
    services.reset_spacelift()
    results = WarmResults(latency)
    responses = services.responses
    container = _Container(services, layout, table=False)
    try:
        _, results.first_requests, _ = container.handle(
            events.create_integration(responses, "bench-first", WARM_STACKS)
        )
        results.first_token_exchanges = container.token_exchanges
        results.creates = container.timed_creates(runs, latency, "bench-warm")

        trips = results.round_trips
        for count in EXTERNAL_ID_COUNTS:
            name = f"bench-trips-{count}"
            _, trips[f"create-{count}"], made = container.handle(
                events.create_integration(responses, name, STACKS[:count])
            )
        _, trips["update"], _ = container.handle(
            events.update_integration(responses, name, STACKS[:count], made)
        )
        _, trips["attachment"], _ = container.handle(events.create_attachment(responses, made, STACKS[0]))
        doomed = "bench-trips-doomed"
        _, _, doomed_id = container.handle(events.create_integration(responses, doomed, WARM_STACKS))
        _, trips["delete"], _ = container.handle(
            events.delete_integration(responses, doomed, WARM_STACKS, doomed_id)
        )
        results.later_token_exchanges = container.token_exchanges - results.first_token_exchanges
    finally:
        container.close()

    services.reset_spacelift()
    event = events.create_integration(responses, "bench-floor-warm", WARM_STACKS)
    floor = run_once(layout, BENCH_DIR / "floor.py", services.environment(), event, "--warm", str(runs))
    results.service_times = next(result["warm"] for result in floor.results if "warm" in result)

    with_table = _Container(services, layout, table=True)
    try:
        with_table.handle(events.create_integration(responses, "bench-first-table", WARM_STACKS))
        results.creates_with_table = with_table.timed_creates(runs, latency, "bench-warm-table")
    finally:
        with_table.close()
    return results
