"""A hypothesis state machine over the lifecycle model (harness/localcfn/lifecycle.py).

Each rule is one stack operation: a random change of the template (integrations changed, added
and removed; attachments added, removed, moved between integrations, stacks and a module, Read
and Write flipped; a sibling added, moved or removed), played with a random fault (a sibling
failing the operation at a random point, cancelling the Creates beside it; a duplicate, late or
dying Lambda delivery; a Spacelift 5xx, or a change applied but answered 5xx). After every
operation: Spacelift holds exactly what the stack's physical IDs and properties say, the stack
is never *_FAILED, and no request got two different answers. The machine ends by deleting the
stack, which must leave Spacelift empty.

The run is derandomised (the same examples on every run); ``LIFECYCLE_EXAMPLES=N`` plays N
examples of longer runs instead (``make test-lifecycle``).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from localcfn import SIBLING, Delivery, LocalFunction, Stack
from spacelift_emulator import Emulator
from tests import tally
from tests.conftest import ATTACHMENT, INTEGRATION, ROLE_ARN, SERVICE_TOKEN
from tests.test_lifecycle import assert_matches_spacelift, describe, slow_creates
from tests.test_rollback_cases import CHANGES

LONG_RUN = int(os.environ.get("LIFECYCLE_EXAMPLES", "0"))
MAX_EXAMPLES = LONG_RUN or 12
STEPS = 30 if LONG_RUN else 12

INTEGRATION_IDS = ("IntegrationA", "IntegrationB", "IntegrationC")
ATTACHMENT_IDS = ("AttachmentA", "AttachmentB", "AttachmentC")
NAMES = ("alpha", "beta", "gamma", "delta")
LABELS = ("team-infra", "env-prod", "cost-center-42")
DURATIONS = (900, 1800, 3600)
STACKS = ("my-stack-id", "my-other-stack-id")
MODULE = "my-module-id"
TARGETS = (*STACKS, MODULE)
ACCESS = ((True, True), (True, False), (False, True))
MUTATIONS = tuple(sorted(CHANGES))
SEEDS = itertools.count(1000)


# The template, as a few facts ------------------------------------------------------------------


def _target(target: str) -> dict[str, str]:
    return {"ModuleId": target} if target == MODULE else {"StackId": target}


@dataclass(frozen=True)
class IntegrationSpec:
    name: str
    duration: int = 900
    labels: tuple[str, ...] = ()
    external_ids_for: tuple[str, ...] = ("my-stack-id",)

    def definition(self) -> dict[str, Any]:
        properties = {
            "ServiceToken": SERVICE_TOKEN,
            "Name": self.name,
            "RoleArn": ROLE_ARN,
            "DurationSeconds": self.duration,
            "Labels": list(self.labels),
            "ExternalIdsFor": [_target(target) for target in self.external_ids_for],
        }
        return {"Type": INTEGRATION, "Properties": properties}


@dataclass(frozen=True)
class AttachmentSpec:
    integration: str
    target: str
    read: bool = True
    write: bool = True

    def definition(self) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "ServiceToken": SERVICE_TOKEN,
            "IntegrationId": {"Ref": self.integration},
        }
        properties |= {**_target(self.target), "Read": self.read, "Write": self.write}
        return {"Type": ATTACHMENT, "Properties": properties}


@dataclass(frozen=True)
class SiblingSpec:
    depends_on: tuple[str, ...] = ()
    fail_on: str = ""
    timing: str = ""
    generation: int = 0

    def definition(self) -> dict[str, Any]:
        properties = {"FailOn": self.fail_on, "CancelTiming": self.timing, "Generation": self.generation}
        return {"Type": SIBLING, "Properties": properties, "DependsOn": list(self.depends_on)}


@dataclass(frozen=True)
class Spec:
    """A template the user could deploy: unique names, one read and one write attachment per target."""

    integrations: dict[str, IntegrationSpec] = field(default_factory=dict)
    attachments: dict[str, AttachmentSpec] = field(default_factory=dict)
    sibling: SiblingSpec | None = None

    def template(self) -> dict[str, Any]:
        resources = {lid: i.definition() for lid, i in self.integrations.items()}
        resources |= {lid: a.definition() for lid, a in self.attachments.items()}
        if self.sibling is not None:
            resources["Sibling"] = self.sibling.definition()
        return resources

    def resources(self) -> list[str]:
        return [*self.integrations, *self.attachments]

    def with_integrations(self, integrations: dict[str, IntegrationSpec]) -> Spec:
        return replace(self, integrations=integrations)._pruned()

    def with_attachments(self, attachments: dict[str, AttachmentSpec]) -> Spec:
        return replace(self, attachments=attachments)._pruned()

    def _pruned(self) -> Spec:
        """The sibling depends only on resources that still exist."""
        if self.sibling is None:
            return self
        kept = tuple(lid for lid in self.sibling.depends_on if lid in self.resources())
        return replace(self, sibling=replace(self.sibling, depends_on=kept))

    def free_names(self, skip: str | None = None) -> list[str]:
        taken = {i.name for lid, i in self.integrations.items() if lid != skip}
        return [name for name in NAMES if name not in taken]

    def placements(self, integration: str, skip: str | None = None) -> list[tuple[str, bool, bool]]:
        """(target, read, write) an attachment of ``integration`` may take without a conflict."""
        others = [a for lid, a in self.attachments.items() if lid != skip]
        free = []
        for target in TARGETS:
            here = [a for a in others if a.target == target]
            if any(a.integration == integration for a in here):
                continue
            for read, write in ACCESS:
                if not any((read and a.read) or (write and a.write) for a in here):
                    free.append((target, read, write))
        return free


@dataclass(frozen=True)
class Fault:
    """The fault an operation is played with."""

    kind: str = "none"
    delivery: Delivery = field(default_factory=Delivery)
    skip: int = 0
    timing: str = ""
    depends_on: tuple[str, ...] = ()
    mutation: str | None = None


#: The faults an operation is played with, each kind as likely as listed (hypothesis biases
#: integers towards small values, so a kind is drawn from this list rather than from a number).
FAULT_KINDS = (
    "none",
    "none",
    "sibling",
    "sibling",
    "sibling-cancelling",
    "duplicate",
    "late",
    "death",
    "5xx",
    "applied-5xx",
)


@st.composite
def faults(draw: st.DrawFn, resources: list[str]) -> Fault:
    kind = draw(st.sampled_from(FAULT_KINDS), label="fault")
    if kind == "none":
        return Fault()
    if kind.startswith("sibling"):
        timing = draw(st.sampled_from(["before", "during", "after"])) if kind == "sibling-cancelling" else ""
        depends_on = (
            tuple(draw(st.lists(st.sampled_from(resources), unique=True, max_size=3))) if resources else ()
        )
        return Fault("sibling", skip=draw(st.integers(0, 4)), timing=timing, depends_on=depends_on)
    skip = draw(st.integers(0, 2), label="request index")
    if kind == "duplicate":
        return Fault("duplicate", Delivery(duplicate=True), skip)
    if kind == "late":
        return Fault("late", Delivery(late=True), skip)
    if kind == "death":
        return Fault("death", Delivery(die_after=1), skip % 2)
    mutation = draw(st.sampled_from((None, *MUTATIONS)), label="mutation")
    return Fault(kind, mutation=mutation)


@dataclass(frozen=True)
class ApiVariant:
    """Where the Spacelift API is unknown (docs/spacelift-api.md, "Unknowns"), which answer it gives."""

    unique_names: bool = True
    not_found_style: str = "null"
    external_id_required: bool = False

    def apply(self, emulator: Emulator) -> None:
        emulator.unique_names = self.unique_names
        emulator.faults.not_found_style = self.not_found_style  # type: ignore[assignment]
        emulator.external_id_required = self.external_id_required


# The machine --------------------------------------------------------------------------------------


def reset_spacelift(emulator: Emulator) -> None:
    emulator.reset()
    for stack in STACKS:
        emulator.add_stack(stack)
    emulator.add_module(MODULE)


def stack_machine(function: LocalFunction, emulator: Emulator) -> type[RuleBasedStateMachine]:
    """The machine class, closed over the test's fixtures (hypothesis builds one per example)."""

    class StackMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            reset_spacelift(emulator)
            self.stack: Stack | None = None
            self.spec = Spec()
            self.options: dict[str, Any] = {}
            self.api = ApiVariant()
            self.counted = 0
            #: Set while an operation or a check runs: still set in teardown, it failed.
            self.broken = False

        # Operations ---------------------------------------------------------------------------

        @initialize(
            replacement_rollback=st.sampled_from(["revert", "update"]),
            made_up_ids=st.sampled_from(["generated", "empty"]),
            api=st.builds(
                ApiVariant,
                unique_names=st.booleans(),
                not_found_style=st.sampled_from(["null", "error"]),
                external_id_required=st.booleans(),
            ),
            data=st.data(),
        )
        def create(
            self, replacement_rollback: str, made_up_ids: str, api: ApiVariant, data: st.DataObject
        ) -> None:
            """CloudFormation's unknowns and the Spacelift API's, each played both ways."""
            self.options = {"replacement_rollback": replacement_rollback, "made_up_ids": made_up_ids}
            self.api = api
            api.apply(emulator)
            self.new_stack(data)

        @precondition(lambda self: self.stack is not None and self.stack.status == "ROLLBACK_COMPLETE")
        @rule(data=st.data())
        def recreate(self, data: st.DataObject) -> None:
            """A ROLLBACK_COMPLETE stack can only be deleted; then a new one is created."""
            assert self.stack is not None
            assert self.stack.delete() == "DELETE_COMPLETE"
            self.new_stack(data)

        @precondition(lambda self: self.updatable and self.spec.integrations)
        @rule(data=st.data())
        def change_integration(self, data: st.DataObject) -> None:
            lid = data.draw(st.sampled_from(sorted(self.spec.integrations)), label="integration")
            current = self.spec.integrations[lid]
            choices: dict[str, st.SearchStrategy[Any]] = {
                "Name": st.sampled_from(self.spec.free_names(lid) or [current.name]),
                "Labels": st.lists(st.sampled_from(LABELS), unique=True).map(tuple),
                "DurationSeconds": st.sampled_from(DURATIONS),
                "ExternalIdsFor": st.lists(st.sampled_from(TARGETS), unique=True, max_size=3).map(tuple),
            }
            what = data.draw(st.sampled_from(sorted(choices)), label="property")
            value = data.draw(choices[what], label=what)
            field_name = {"Name": "name", "Labels": "labels", "DurationSeconds": "duration"}
            changed = replace(current, **{field_name.get(what, "external_ids_for"): value})
            self.deploy(data, self.spec.with_integrations({**self.spec.integrations, lid: changed}))

        @precondition(lambda self: self.updatable and len(self.spec.integrations) < len(INTEGRATION_IDS))
        @rule(data=st.data())
        def add_integration(self, data: st.DataObject) -> None:
            lid = next(i for i in INTEGRATION_IDS if i not in self.spec.integrations)
            added = IntegrationSpec(data.draw(st.sampled_from(self.spec.free_names()), label="name"))
            self.deploy(data, self.spec.with_integrations({**self.spec.integrations, lid: added}))

        @precondition(lambda self: self.updatable and self.spec.integrations)
        @rule(data=st.data())
        def remove_integration(self, data: st.DataObject) -> None:
            """Its attachments move to another integration where they can, else go too."""
            lid = data.draw(st.sampled_from(sorted(self.spec.integrations)), label="integration")
            spec = self.spec.with_integrations({k: v for k, v in self.spec.integrations.items() if k != lid})
            for aid, attached in self.spec.attachments.items():
                if attached.integration != lid:
                    continue
                others = [
                    i
                    for i in spec.integrations
                    if (attached.target, attached.read, attached.write) in spec.placements(i, aid)
                ]
                kept = {k: v for k, v in spec.attachments.items() if k != aid}
                if others:
                    kept[aid] = replace(attached, integration=data.draw(st.sampled_from(others), label="to"))
                spec = spec.with_attachments(kept)
            self.deploy(data, spec)

        @precondition(
            lambda self: (
                self.updatable and self.spec.integrations and len(self.spec.attachments) < len(ATTACHMENT_IDS)
            )
        )
        @rule(data=st.data())
        def add_attachment(self, data: st.DataObject) -> None:
            lid = next(a for a in ATTACHMENT_IDS if a not in self.spec.attachments)
            integration = data.draw(st.sampled_from(sorted(self.spec.integrations)), label="integration")
            places = self.spec.placements(integration)
            if places:
                target, read, write = data.draw(st.sampled_from(places), label="placement")
                added = AttachmentSpec(integration, target, read, write)
                self.deploy(data, self.spec.with_attachments({**self.spec.attachments, lid: added}))

        @precondition(lambda self: self.updatable and self.spec.attachments)
        @rule(data=st.data())
        def remove_attachment(self, data: st.DataObject) -> None:
            lid = data.draw(st.sampled_from(sorted(self.spec.attachments)), label="attachment")
            self.deploy(
                data, self.spec.with_attachments({k: v for k, v in self.spec.attachments.items() if k != lid})
            )

        @precondition(lambda self: self.updatable and self.spec.attachments)
        @rule(data=st.data())
        def switch_attachment(self, data: st.DataObject) -> None:
            """Another integration, another stack or the module, or Read/Write flipped."""
            lid = data.draw(st.sampled_from(sorted(self.spec.attachments)), label="attachment")
            current = self.spec.attachments[lid]
            integration = data.draw(st.sampled_from(sorted(self.spec.integrations)), label="integration")
            places = [
                p
                for p in self.spec.placements(integration, lid)
                if p != (current.target, current.read, current.write) or integration != current.integration
            ]
            if places:
                target, read, write = data.draw(st.sampled_from(places), label="placement")
                moved = AttachmentSpec(integration, target, read, write)
                self.deploy(data, self.spec.with_attachments({**self.spec.attachments, lid: moved}))

        @precondition(lambda self: self.updatable)
        @rule(data=st.data())
        def move_sibling(self, data: st.DataObject) -> None:
            """Add the sibling after some resources, move it, or remove it."""
            if self.spec.sibling is not None and data.draw(st.booleans(), label="remove"):
                self.deploy(data, replace(self.spec, sibling=None))
                return
            resources = self.spec.resources()
            after = (
                data.draw(st.lists(st.sampled_from(resources), unique=True, max_size=3), label="after")
                if resources
                else []
            )
            self.deploy(data, replace(self.spec, sibling=SiblingSpec(tuple(after))))

        # Playing an operation -----------------------------------------------------------------

        @property
        def updatable(self) -> bool:
            return self.stack is not None and self.stack.status in (
                "CREATE_COMPLETE",
                "UPDATE_COMPLETE",
                "UPDATE_ROLLBACK_COMPLETE",
            )

        def new_stack(self, data: st.DataObject) -> None:
            self.stack = Stack(
                function.send,
                name="mystack",
                seed=next(SEEDS),
                slow_create=slow_creates(emulator, seconds=0.3),
                dying_timeout=2.5,
                **self.options,
            )
            self.spec = Spec()
            self.counted = 0
            first = data.draw(st.sampled_from(NAMES), label="first name")
            spec = Spec({"IntegrationA": IntegrationSpec(first)})
            if data.draw(st.booleans(), label="with an attachment"):
                spec = spec.with_attachments({"AttachmentA": AttachmentSpec("IntegrationA", "my-stack-id")})
            self.deploy(data, spec)

        def deploy(self, data: st.DataObject, spec: Spec) -> None:
            """Play one operation towards ``spec`` with a random fault, then let it settle."""
            stack = self.stack
            assert stack is not None
            self.broken = True
            fault = data.draw(faults(spec.resources()), label="fault")
            played = self.with_fault(stack, spec, fault)
            status = (
                stack.create(played.template()) if stack.status is None else stack.update(played.template())
            )
            emulator.faults.reset()  # settle: the faults were for this operation
            self.api.apply(emulator)
            if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
                self.spec = spec
            elif status == "ROLLBACK_COMPLETE":
                self.spec = Spec()
            self.count(stack, fault, status)
            self.broken = False

        def with_fault(self, stack: Stack, spec: Spec, fault: Fault) -> Spec:
            """Arm the fault; the spec actually played (with a failing sibling, for that fault)."""
            if fault.kind == "sibling":
                deployed = stack.resources.get("Sibling")
                generation = 1 + int(deployed.properties["Generation"]) if deployed else 0
                fail_on = "update" if deployed else "create"
                depends_on = (
                    self.beside_a_new_resource(stack, spec, fault) if fault.timing else fault.depends_on
                )
                return replace(spec, sibling=SiblingSpec(depends_on, fail_on, fault.timing, generation))
            if fault.kind in ("duplicate", "late", "death"):
                stack.plan(fault.delivery, skip=fault.skip)
            elif fault.kind == "5xx":
                emulator.faults.fail_next(1, status=500, field=fault.mutation)
            elif fault.kind == "applied-5xx":
                emulator.faults.fail_after_apply_next(1, status=503, field=fault.mutation)
            return spec

        @staticmethod
        def beside_a_new_resource(stack: Stack, spec: Spec, fault: Fault) -> tuple[str, ...]:
            """DependsOn putting the sibling in the wave of a resource being created, so that
            its failure cancels that Create."""
            new = sorted(set(spec.resources()) - set(stack.resources))
            if not new:
                return fault.depends_on
            chosen = new[fault.skip % len(new)]
            return (spec.attachments[chosen].integration,) if chosen in spec.attachments else ()

        def count(self, stack: Stack, fault: Fault, status: str) -> None:
            """What this operation explored, for docs/reliability.md."""
            requests, self.counted = stack.requests[self.counted :], len(stack.requests)
            tally.add("lifecycle: stack operations played")
            tally.add("lifecycle: rollbacks played", status.endswith("ROLLBACK_COMPLETE"))
            tally.add("lifecycle: sibling failures", fault.kind == "sibling")
            tally.add("lifecycle: cancelled creates", sum(not r.used for r in requests))
            tally.add("lifecycle: duplicate deliveries", sum(r.delivery.duplicate for r in requests))
            tally.add("lifecycle: late redeliveries", sum(r.delivery.late for r in requests))
            tally.add("lifecycle: function deaths", sum(r.deliveries.count("died") for r in requests))
            tally.add("lifecycle: Spacelift faults armed", fault.kind in ("5xx", "applied-5xx"))

        # What must hold -----------------------------------------------------------------------

        @invariant()
        def spacelift_holds_what_the_stack_says(self) -> None:
            if self.stack is None:
                return
            self.broken = True
            assert self.stack.status and not self.stack.status.endswith("_FAILED"), describe(self.stack)
            assert_matches_spacelift(self.stack, emulator)
            assert not self.stack.conflicts(), describe(self.stack)
            self.broken = False

        def teardown(self) -> None:
            """The end of every run: deleting the stack leaves Spacelift empty."""
            emulator.faults.reset()
            emulator.reset_counters()  # the faults this file injects are counted by count()
            stack = self.stack
            if self.broken or stack is None or stack.status in (None, "DELETE_COMPLETE"):
                return  # a failure is being reported already, or there is nothing to delete
            assert stack.delete() == "DELETE_COMPLETE", describe(stack)
            assert emulator.integrations == {} and emulator.attachments == {}, describe(stack)

    return StackMachine


@pytest.mark.timeout(0 if LONG_RUN else 600)  # a failure's shrinking may take minutes
def test_random_stack_operations_keep_spacelift_in_line_with_the_stack(
    function: LocalFunction, emulator: Emulator, table: str
) -> None:
    run_state_machine_as_test(
        stack_machine(function, emulator),
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
