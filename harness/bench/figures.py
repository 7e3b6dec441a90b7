"""From measurements to the table's rows, each with its target.

Kept apart from the measuring so that what a row claims (its target and
whether it is met) can be read in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.cold import ColdResults, ColdRun
from bench.report import Row, median, mib, ms, timed
from bench.scale import ScaleResults
from bench.sizes import Sizes
from bench.warm import EXTERNAL_ID_COUNTS, WarmResults

#: Cold start may take this many times the floor's time.
COLD_RATIO_TARGET = 1.3
#: Warm Create: at most this much beyond the requests' injected latency and the PUT.
WARM_OVERHEAD_TARGET = 0.005
#: Peak RSS of a cold Create, so that MemorySize 128 is honest.
RSS_TARGET_MIB = 100


@dataclass(frozen=True)
class Figures:
    cold: ColdResults
    warm: WarmResults
    sizes: Sizes
    scale: list[ScaleResults]


def terraform_requests(external_ids: int) -> int:
    """The Terraform provider's Create: the create, a read-back, and one query per external ID."""
    return 2 + external_ids


def round_trip_rows(cold: ColdResults, warm: WarmResults) -> list[Row]:
    cold_requests = {run.requests for run in cold.provider}
    cold_exchanges = {run.token_exchanges for run in cold.provider}
    trips = warm.round_trips
    rows = [
        Row(
            "Round trips: cold Create, 2 ExternalIdsFor",
            _one(cold_requests),
            target="token exchange + 1 account lookup + 1",
            requests=f"{_one(cold_requests)} ({_one(cold_exchanges)} token exchange)",
            terraform=f"{terraform_requests(2)} + token",
            met=cold_requests == {3} and cold_exchanges == {1},
        )
    ]
    for count in EXTERNAL_ID_COUNTS:
        requests = trips[f"create-{count}"]
        rows.append(
            Row(
                f"Round trips: warm Create, {count} ExternalIdsFor",
                str(requests),
                target="1",
                requests=str(requests),
                terraform=str(terraform_requests(count)),
                met=requests == 1,
            )
        )
    for name, label in (
        ("update", "warm Update"),
        ("delete", "warm Delete"),
        ("attachment", "attachment Create"),
    ):
        rows.append(
            Row(
                f"Round trips: {label}",
                str(trips[name]),
                target="1",
                requests=str(trips[name]),
                met=trips[name] == 1,
            )
        )
    rows.append(
        Row(
            "Round trips: token exchanges of a warm container after its first event",
            str(warm.later_token_exchanges),
            target="0",
            met=warm.later_token_exchanges == 0,
        )
    )
    return rows


def paired_ratio(runs: Sequence[ColdRun], floors: Sequence[ColdRun]) -> float:
    """Median of each round's provider/floor ratio.

    Provider and floor run back to back in every round, so a round's ratio
    cancels what the machine was doing at the time; the median of the ratios
    is steadier on a shared machine than the ratio of the two medians.
    """
    return median([run.wall / floor.wall for run, floor in zip(runs, floors, strict=True)])


def cold_rows(cold: ColdResults) -> list[Row]:
    floor = median(_walls(cold.floor))
    provider = median(_walls(cold.provider))
    ratio = paired_ratio(cold.provider, cold.floor)
    floor_cpu = median([run.cpu for run in cold.floor])
    provider_cpu = median([run.cpu for run in cold.provider])
    traced = cold.provider + cold.provider_table + cold.provider_traced
    compiled = sorted({name for run in traced for name in run.from_source})
    return [
        timed(
            "Cold start: provider, first Create (fresh process)",
            _walls(cold.provider),
            target=f"≤ {COLD_RATIO_TARGET}x floor",
            ratio=f"{ratio:.2f}x paired ({provider / floor:.2f}x of medians)",
            requests=str(_one({run.requests for run in cold.provider})),
            met=ratio <= COLD_RATIO_TARGET,
        ),
        timed(
            "Cold start: floor (boto3, secret, same requests with the stdlib)",
            _walls(cold.floor),
            ratio="1.00x",
            requests=str(_one({run.requests for run in cold.floor})),
        ),
        timed(
            "Cold start CPU (user+sys): provider",
            [run.cpu for run in cold.provider],
            ratio=f"{provider_cpu / floor_cpu:.2f}x floor CPU ({ms(floor_cpu)})",
        ),
        timed(
            "Cold start: provider's import of app (init phase)", [run.import_seconds for run in cold.provider]
        ),
        timed("Cold start: provider's first event (handler)", [run.handler_seconds for run in cold.provider]),
        timed(
            "Cold start with IDEMPOTENCY_TABLE (as deployed)",
            _walls(cold.provider_table),
            ratio=f"{paired_ratio(cold.provider_table, cold.floor):.2f}x floor; "
            f"{paired_ratio(cold.provider_table, cold.floor_table):.2f}x floor+table (paired)",
            requests=str(_one({run.requests for run in cold.provider_table})),
        ),
        timed(
            "Cold start with Tracing Active (X-Ray), with the table",
            _walls(cold.provider_traced),
            ratio=f"{paired_ratio(cold.provider_traced, cold.provider_table):.2f}x the same without tracing "
            f"(paired); {paired_ratio(cold.provider_traced, cold.floor):.2f}x floor",
            requests=str(_one({run.requests for run in cold.provider_traced})),
        ),
        timed(
            "Cold start: floor + the table's 4 DynamoDB calls",
            _walls(cold.floor_table),
            ratio=f"{paired_ratio(cold.floor_table, cold.floor):.2f}x (paired)",
        ),
        Row(
            "Floor and provider send the same GraphQL requests",
            "yes" if cold.same_requests else "no",
            target="yes",
            met=cold.same_requests,
        ),
        Row(
            "Shipped modules imported without bytecode",
            str(len(compiled)) + (f" ({', '.join(compiled[:5])})" if compiled else ""),
            target="0",
            met=not compiled,
        ),
    ]


def warm_rows(warm: WarmResults) -> list[Row]:
    latency = ms(warm.latency)
    overheads = [create.overhead for create in warm.creates]
    service = median(warm.service_times)
    requests = _one({create.requests for create in warm.creates})
    return [
        timed(
            f"Warm Create at {latency}/request, 2 ExternalIdsFor: wall",
            [create.wall for create in warm.creates],
            requests=str(requests),
        ),
        timed(
            f"Warm Create: time beyond requests x {latency} and the PUT",
            overheads,
            target=f"≤ {ms(WARM_OVERHEAD_TARGET)}",
            met=median(overheads) <= WARM_OVERHEAD_TARGET,
        ),
        timed("  of which the emulator's own answer time (bare client)", warm.service_times),
        timed("  net of the emulator's answer time", [value - service for value in overheads]),
        timed("Warm Create: handler CPU per event", [create.cpu for create in warm.creates]),
        timed("Warm Create: response PUT", [create.put for create in warm.creates]),
        timed(
            "Warm Create with IDEMPOTENCY_TABLE: time beyond requests and PUT",
            [create.overhead for create in warm.creates_with_table],
            requests=str(_one({create.requests for create in warm.creates_with_table})),
        ),
        timed(
            "Warm Create with IDEMPOTENCY_TABLE: handler CPU per event",
            [create.cpu for create in warm.creates_with_table],
        ),
    ]


def memory_rows(cold: ColdResults, sizes: Sizes) -> list[Row]:
    rows = []
    for label, runs, target in (
        ("Peak RSS: cold Create", cold.provider, True),
        ("Peak RSS: cold Create with IDEMPOTENCY_TABLE", cold.provider_table, False),
        ("Peak RSS: floor", cold.floor, False),
    ):
        peaks = [run.maxrss_kb for run in runs]
        value, spread = mib(peaks)
        rows.append(
            Row(
                label,
                value,
                spread,
                target=f"< {RSS_TARGET_MIB} MiB" if target else "",
                met=median(peaks) / 1024 < RSS_TARGET_MIB if target else None,
            )
        )
    rows += [
        Row("Function zip", _kib(sizes.function_zip), f"{sizes.function_files} files"),
        Row(
            "Layer zip",
            _kib(sizes.layer_zip),
            f"{sizes.layer_files} files, {sizes.layer_unzipped / 1048576:.1f} MiB unzipped",
        ),
    ]
    return rows


def scale_rows(scale: Sequence[ScaleResults]) -> list[Row]:
    first = scale[0]
    label = f"Scale: {first.creates} Creates, {first.containers} containers, {first.rps:g} req/s limit"
    succeeded = [run.succeeded for run in scale]
    return [
        Row(
            f"{label}: succeeded",
            f"{min(succeeded)}/{first.creates}",
            f"n={len(scale)}",
            target="all",
            requests=_range([run.requests for run in scale]),
            met=all(run.succeeded == run.creates for run in scale),
        ),
        timed(f"{label}: wall time", [run.seconds for run in scale]),
        Row(
            "Scale: token exchanges",
            _range([run.token_exchanges for run in scale]),
            target=f"1 per container ({first.containers})",
            met=all(run.token_exchanges == run.containers for run in scale),
        ),
        Row("Scale: 429 answers retried through", _range([run.throttled for run in scale])),
    ]


def rows(figures: Figures) -> list[Row]:
    return [
        *round_trip_rows(figures.cold, figures.warm),
        *cold_rows(figures.cold),
        *warm_rows(figures.warm),
        *memory_rows(figures.cold, figures.sizes),
        *scale_rows(figures.scale),
    ]


def notes(figures: Figures) -> list[str]:
    """Lines printed under the table: what the layer weighs, and how the scale runs went."""
    packages = ", ".join(f"{name} {size / 1024:.0f} KiB" for name, size in figures.sizes.layer_packages)
    lines = [f"Layer zip by package (compressed): {packages}."]
    for index, run in enumerate(figures.scale, 1):
        lines.append(
            f"Scale run {index}: {run.succeeded}/{run.creates} succeeded in {run.seconds:.1f} s, "
            f"{run.requests} Spacelift requests of which {run.throttled} answered 429, "
            f"{run.token_exchanges} token exchanges."
        )
    return lines


def summary(figures: Figures) -> dict[str, Any]:
    """The counts, for ``--json`` (tests check them; they are not timings)."""
    return {
        "cold_requests": [run.requests for run in figures.cold.provider],
        "cold_token_exchanges": [run.token_exchanges for run in figures.cold.provider],
        "cold_requests_with_table": [run.requests for run in figures.cold.provider_table],
        "cold_requests_traced": [run.requests for run in figures.cold.provider_traced],
        "floor_requests": [run.requests for run in figures.cold.floor],
        "same_requests": figures.cold.same_requests,
        "compiled_from_source": sorted({n for run in figures.cold.provider for n in run.from_source}),
        "warm_first_requests": figures.warm.first_requests,
        "warm_first_token_exchanges": figures.warm.first_token_exchanges,
        "warm_later_token_exchanges": figures.warm.later_token_exchanges,
        "warm_create_requests": [create.requests for create in figures.warm.creates],
        "warm_create_requests_with_table": [create.requests for create in figures.warm.creates_with_table],
        "round_trips": figures.warm.round_trips,
        "scale": [run.__dict__ for run in figures.scale],
        "function_zip": figures.sizes.function_zip,
        "layer_zip": figures.sizes.layer_zip,
    }


def _walls(runs: Sequence[ColdRun]) -> list[float]:
    return [run.wall for run in runs]


def _one(values: set[int]) -> str:
    """The count every run had (they should agree), else all of them."""
    return str(next(iter(values))) if len(values) == 1 else "/".join(str(v) for v in sorted(values))


def _range(values: Sequence[int]) -> str:
    return str(values[0]) if min(values) == max(values) else f"{min(values)}-{max(values)}"


def _kib(size: int) -> str:
    return f"{size / 1024:.0f} KiB"
