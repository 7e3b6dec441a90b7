"""A hypothesis state machine over the lifecycle model (harness/localcfn/lifecycle.py).

Spacelift starts each example with one or two integrations "made in the UI" (their own name,
labels, duration, role, space...). Each rule is one stack operation: a random change of the
template (integrations changed, added and removed; one made in the UI adopted with
``AdoptIntegrationId`` by a new logical resource, an adopting resource switched to the other one;
attachments added, removed, moved between integrations, adopted ones included, stacks and a
module, Read and Write flipped; a lookup of an integration made in the UI or by the stack added
or removed; a sibling added, moved or removed), played with a random fault (a sibling failing
the operation at a random point, cancelling the Creates beside it; a duplicate, late or dying
Lambda delivery; a Spacelift 5xx, or a change applied but answered 5xx). After every operation:
Spacelift holds exactly what the stack's physical IDs and properties say, every integration made
in the UI that the stack does not hold is there exactly as it was made, every lookup answered the
ID of the integration it names, the stack is never *_FAILED, and no request got two different
answers. The machine ends by deleting the stack, which must leave exactly the integrations made
in the UI, as they were made, and no attachment.

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

from localcfn import SIBLING, Delivery, LocalFunction, Request, Stack
from spacelift_emulator import Emulator, IntegrationSettings
from tests import tally
from tests.conftest import ATTACHMENT, INTEGRATION, LEGACY_SPACE, MADE_IN_UI, ROLE_ARN, SERVICE_TOKEN
from tests.test_lifecycle import LOOKUP, assert_matches_spacelift, describe, slow_creates
from tests.test_rollback_cases import CHANGES

LONG_RUN = int(os.environ.get("LIFECYCLE_EXAMPLES", "0"))
MAX_EXAMPLES = LONG_RUN or 12
STEPS = 30 if LONG_RUN else 12

INTEGRATION_IDS = ("IntegrationA", "IntegrationB", "IntegrationC")
ATTACHMENT_IDS = ("AttachmentA", "AttachmentB", "AttachmentC")
LOOKUP_IDS = ("LookupA", "LookupB")
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
    #: The ID of the integration made in the UI that this resource adopted (and holds).
    adopt: str | None = None
    #: Whether the template still says ``AdoptIntegrationId``: removing it changes nothing, the
    #: resource keeps (and in the end gives back) what it adopted (docs/resources/integration.md).
    declared: bool = True

    def definition(self) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "ServiceToken": SERVICE_TOKEN,
            "Name": self.name,
            "RoleArn": ROLE_ARN,
            "DurationSeconds": self.duration,
            "Labels": list(self.labels),
            "ExternalIdsFor": [_target(target) for target in self.external_ids_for],
        }
        if self.adopt is not None and self.declared:
            properties["AdoptIntegrationId"] = self.adopt
        return {"Type": INTEGRATION, "Properties": properties}


@dataclass(frozen=True)
class LookupSpec:
    """A lookup by the name of an integration made in the UI (``name``), or of one of the
    stack's integrations (``of``, its logical ID: the name comes from its ``Name`` attribute)."""

    name: str = ""
    of: str = ""
    external_ids_for: tuple[str, ...] = ()

    def definition(self) -> dict[str, Any]:
        name: Any = {"Fn::GetAtt": [self.of, "Name"]} if self.of else self.name
        properties = {
            "ServiceToken": SERVICE_TOKEN,
            "Name": name,
            "ExternalIdsFor": [_target(target) for target in self.external_ids_for],
        }
        return {"Type": LOOKUP, "Properties": properties}


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
    lookups: dict[str, LookupSpec] = field(default_factory=dict)
    sibling: SiblingSpec | None = None

    def template(self) -> dict[str, Any]:
        resources = {lid: i.definition() for lid, i in self.integrations.items()}
        resources |= {lid: a.definition() for lid, a in self.attachments.items()}
        resources |= {lid: lookup.definition() for lid, lookup in self.lookups.items()}
        if self.sibling is not None:
            resources["Sibling"] = self.sibling.definition()
        return resources

    def resources(self) -> list[str]:
        return [*self.integrations, *self.attachments, *self.lookups]

    def depends_on(self, logical_id: str) -> tuple[str, ...]:
        """The integration an attachment or a lookup refers to, if any."""
        if logical_id in self.attachments:
            return (self.attachments[logical_id].integration,)
        lookup = self.lookups.get(logical_id)
        return (lookup.of,) if lookup is not None and lookup.of else ()

    def adopted(self) -> set[str]:
        return {i.adopt for i in self.integrations.values() if i.adopt is not None}

    def with_integrations(self, integrations: dict[str, IntegrationSpec]) -> Spec:
        """Lookups of an integration that goes go with it."""
        lookups = {
            lid: lookup for lid, lookup in self.lookups.items() if not lookup.of or lookup.of in integrations
        }
        return replace(self, integrations=integrations, lookups=lookups)._pruned()

    def with_lookups(self, lookups: dict[str, LookupSpec]) -> Spec:
        return replace(self, lookups=lookups)._pruned()

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
    emulator.add_space(LEGACY_SPACE)
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
            #: The integrations made in the UI: ID -> the settings they were made with.
            self.made_in_ui: dict[str, IntegrationSettings] = {}
            #: Set while an operation or a check runs: still set in teardown, it failed.
            self.broken = False

        # Operations ---------------------------------------------------------------------------

        @initialize(
            replacement_rollback=st.sampled_from(["revert", "update"]),
            made_up_ids=st.sampled_from(["generated", "empty"]),
            rollback_order=st.sampled_from(["reverse", "forward"]),
            api=st.builds(
                ApiVariant,
                unique_names=st.booleans(),
                not_found_style=st.sampled_from(["null", "error"]),
                external_id_required=st.booleans(),
            ),
            made_in_ui=st.lists(st.sampled_from(MADE_IN_UI), min_size=1, max_size=2, unique=True),
            data=st.data(),
        )
        def create(
            self,
            *,
            replacement_rollback: str,
            made_up_ids: str,
            rollback_order: str,
            api: ApiVariant,
            made_in_ui: list[IntegrationSettings],
            data: st.DataObject,
        ) -> None:
            """CloudFormation's unknowns and the Spacelift API's, each played both ways; Spacelift
            holds one or two integrations made in the UI."""
            self.options = {
                "replacement_rollback": replacement_rollback,
                "made_up_ids": made_up_ids,
                "rollback_order": rollback_order,
            }
            self.api = api
            api.apply(emulator)
            self.made_in_ui = {emulator.add_integration(made).id: made for made in made_in_ui}
            self.new_stack(data)

        @precondition(lambda self: self.stack is not None and self.stack.status == "ROLLBACK_COMPLETE")
        @rule(data=st.data())
        def recreate(self, data: st.DataObject) -> None:
            """A ROLLBACK_COMPLETE stack can only be deleted; then a new one is created."""
            assert self.stack is not None
            assert self.stack.delete() == "DELETE_COMPLETE"
            assert_matches_spacelift(self.stack, emulator, self.made_in_ui)
            self.new_stack(data)

        @precondition(lambda self: self.updatable and self.spec.integrations)
        @rule(data=st.data())
        def change_integration(self, data: st.DataObject) -> None:
            lid = data.draw(st.sampled_from(sorted(self.spec.integrations)), label="integration")
            current = self.spec.integrations[lid]
            names = st.sampled_from(self.spec.free_names(lid) or [current.name])
            choices: dict[str, st.SearchStrategy[Any]] = {
                "Name": names,
                "Labels": st.lists(st.sampled_from(LABELS), unique=True).map(tuple),
                "DurationSeconds": st.sampled_from(DURATIONS),
                "ExternalIdsFor": st.lists(st.sampled_from(TARGETS), unique=True, max_size=3).map(tuple),
            }
            follows = any(lookup.of == lid for lookup in self.spec.lookups.values())
            if follows and self.options["rollback_order"] == "reverse":
                # Not renamed under a lookup that follows its name when rollbacks go dependents
                # first (assumption 7 of the model): the lookup's rollback Update would look for the
                # old name before the integration has it again, and fail the rollback
                # (docs/resources/lookup.md warns of this).
                del choices["Name"]
            if current.adopt is not None:
                # Another one made in the UI (a replacement), or the property removed or put back.
                others = self.free_in_ui()
                choices["AdoptIntegrationId"] = st.sampled_from([*others, None])
            what = data.draw(st.sampled_from(sorted(choices)), label="property")
            value = data.draw(choices[what], label=what)
            field_name = {"Name": "name", "Labels": "labels", "DurationSeconds": "duration"}
            if what == "AdoptIntegrationId" and value is None:
                changed = replace(current, declared=not current.declared)  # removed, or put back
            elif what == "AdoptIntegrationId":
                changed = replace(current, adopt=value, declared=True)
            else:
                changed = replace(current, **{field_name.get(what, "external_ids_for"): value})
            if changed.adopt != current.adopt and data.draw(st.booleans(), label="renamed too"):
                # With unique names, Spacelift refuses the other integration the name the
                # first one keeps until the cleanup (docs/resources/integration.md).
                changed = replace(changed, name=data.draw(names, label="Name"))
            self.deploy(data, self.spec.with_integrations({**self.spec.integrations, lid: changed}))

        @precondition(lambda self: self.updatable and len(self.spec.integrations) < len(INTEGRATION_IDS))
        @rule(data=st.data())
        def add_integration(self, data: st.DataObject) -> None:
            lid = next(i for i in INTEGRATION_IDS if i not in self.spec.integrations)
            added = IntegrationSpec(data.draw(st.sampled_from(self.spec.free_names()), label="name"))
            self.deploy(data, self.spec.with_integrations({**self.spec.integrations, lid: added}))

        @precondition(
            lambda self: (
                self.updatable and len(self.spec.integrations) < len(INTEGRATION_IDS) and self.free_in_ui()
            )
        )
        @rule(data=st.data())
        def adopt_integration(self, data: st.DataObject) -> None:
            """A new logical resource takes over an integration made in the UI."""
            lid = next(i for i in INTEGRATION_IDS if i not in self.spec.integrations)
            self.deploy(
                data, self.spec.with_integrations({**self.spec.integrations, lid: self.adopting(data)})
            )

        def free_in_ui(self) -> list[str]:
            """The integrations made in the UI no resource holds, in the order they were made
            (not by ID: IDs are random, and the draws must pick the same ones on every run)."""
            return [i for i in self.made_in_ui if i not in self.spec.adopted()]

        def adopting(self, data: st.DataObject) -> IntegrationSpec:
            free = self.free_in_ui()
            return IntegrationSpec(
                data.draw(st.sampled_from(self.spec.free_names()), label="name"),
                duration=data.draw(st.sampled_from(DURATIONS), label="DurationSeconds"),
                labels=data.draw(st.lists(st.sampled_from(LABELS), unique=True).map(tuple), label="Labels"),
                adopt=data.draw(st.sampled_from(free), label="AdoptIntegrationId"),
            )

        @precondition(lambda self: self.updatable and len(self.spec.lookups) < len(LOOKUP_IDS))
        @rule(data=st.data())
        def add_lookup(self, data: st.DataObject) -> None:
            """By the name an integration made in the UI was made with (if the stack adopted it,
            it carries the stack's name: the lookup fails and the update rolls back), or by the
            name of one the stack made."""
            lid = next(i for i in LOOKUP_IDS if i not in self.spec.lookups)
            made = sorted(logical for logical, i in self.spec.integrations.items() if i.adopt is None)
            named = [LookupSpec(name=m.name) for m in self.made_in_ui.values()]
            named += [LookupSpec(of=logical) for logical in made]
            lookup = data.draw(st.sampled_from(named), label="lookup")
            targets = data.draw(
                st.lists(st.sampled_from(TARGETS), unique=True, max_size=2), label="ExternalIdsFor"
            )
            lookup = replace(lookup, external_ids_for=tuple(targets))
            self.deploy(data, self.spec.with_lookups({**self.spec.lookups, lid: lookup}))

        @precondition(lambda self: self.updatable and self.spec.lookups)
        @rule(data=st.data())
        def remove_lookup(self, data: st.DataObject) -> None:
            lid = data.draw(st.sampled_from(sorted(self.spec.lookups)), label="lookup")
            self.deploy(
                data, self.spec.with_lookups({k: v for k, v in self.spec.lookups.items() if k != lid})
            )

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
            if data.draw(st.booleans(), label="adopting first"):
                spec = Spec({"IntegrationA": self.adopting(data)})
            else:
                spec = Spec(
                    {"IntegrationA": IntegrationSpec(data.draw(st.sampled_from(NAMES), label="first name"))}
                )
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
            return spec.depends_on(new[fault.skip % len(new)])

        def count(self, stack: Stack, fault: Fault, status: str) -> None:
            """What this operation explored, for docs/reliability.md."""
            requests, self.counted = stack.requests[self.counted :], len(stack.requests)
            tally.add("lifecycle: stack operations played")
            tally.add("lifecycle: rollbacks played", status.endswith("ROLLBACK_COMPLETE"))
            tally.add(
                "lifecycle: update rollbacks played dependencies first",
                status == "UPDATE_ROLLBACK_COMPLETE" and stack.rollback_order == "forward",
            )
            tally.add("lifecycle: sibling failures", fault.kind == "sibling")
            tally.add("lifecycle: cancelled creates", sum(not r.used for r in requests))
            tally.add("lifecycle: duplicate deliveries", sum(r.delivery.duplicate for r in requests))
            tally.add("lifecycle: late redeliveries", sum(r.delivery.late for r in requests))
            tally.add("lifecycle: function deaths", sum(r.deliveries.count("died") for r in requests))
            tally.add("lifecycle: Spacelift faults armed", fault.kind in ("5xx", "applied-5xx"))
            tally.add("lifecycle: adopting requests", sum(adopts(r) for r in requests))
            tally.add("lifecycle: give-backs", sum(self.gives_back(r) for r in requests))
            tally.add("lifecycle: lookups", sum(r.event["ResourceType"] == LOOKUP for r in requests))

        def gives_back(self, request: Request) -> bool:
            """A Delete of an adopting resource, or of an integration made in the UI: the provider
            gives the integration back."""
            properties = request.event["ResourceProperties"]
            adopting = "AdoptIntegrationId" in properties or request.physical_id in self.made_in_ui
            return request.request_type == "Delete" and adopting

        # What must hold -----------------------------------------------------------------------

        @invariant()
        def spacelift_holds_what_the_stack_says(self) -> None:
            if self.stack is None:
                return
            self.broken = True
            assert self.stack.status and not self.stack.status.endswith("_FAILED"), describe(self.stack)
            assert_matches_spacelift(self.stack, emulator, self.made_in_ui)
            assert not self.stack.conflicts(), describe(self.stack)
            held = {lid: self.stack.resources[lid].physical_id for lid in self.spec.integrations}
            adopted = {lid: i.adopt for lid, i in self.spec.integrations.items() if i.adopt is not None}
            assert adopted.items() <= held.items(), describe(self.stack)
            self.broken = False

        def teardown(self) -> None:
            """The end of every run: deleting the stack leaves the integrations made in the UI
            as they were made, and nothing else."""
            emulator.faults.reset()
            emulator.reset_counters()  # the faults this file injects are counted by count()
            stack = self.stack
            if self.broken or stack is None or stack.status in (None, "DELETE_COMPLETE"):
                return  # a failure is being reported already, or there is nothing to delete
            assert stack.delete() == "DELETE_COMPLETE", describe(stack)
            assert_matches_spacelift(stack, emulator, self.made_in_ui)
            assert set(emulator.integrations) == set(self.made_in_ui), describe(stack)
            assert emulator.attachments == {}, describe(stack)

    return StackMachine


def adopts(request: Request) -> bool:
    """A Create or Update that takes over an integration made in the UI."""
    adopted = request.event["ResourceProperties"].get("AdoptIntegrationId")
    return request.request_type != "Delete" and adopted not in (None, request.physical_id)


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
