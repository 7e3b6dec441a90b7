"""Whole stack operations played by the lifecycle model (harness/localcfn/lifecycle.py) against the provider.

The stack is an integration, an attachment of it to a Spacelift stack, and a sibling (any other
AWS resource) that fails where a test says. The assertions are what a user notices: the stack's
status, and what exists in Spacelift afterwards.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

import pytest

from localcfn import SIBLING, Delivery, LocalFunction, OperationNotAllowed, Request, Resource, Stack
from spacelift_emulator import Emulator, IntegrationSettings
from spacelift_emulator.state import ROOT_SPACE, Integration
from tests.conftest import ATTACHMENT, INTEGRATION, LEGACY_SPACE, MADE_IN_UI, ROLE_ARN, SERVICE_TOKEN

LOOKUP = "Custom::SpaceliftAwsIntegrationLookup"
OWNER_LABEL_PREFIX = "spacelift-cfn:"
MADE_UP_ID = re.compile(r"mystack-(SpaceliftIntegration|Attachment)-[A-Z0-9]{12}")
#: The request a cancelled Create is slowed down in (its mutation, a lookup's read), so the
#: Delete arrives while it runs. An adopting integration's Create updates the adopted one.
CREATE_FIELDS = {
    INTEGRATION: "awsIntegrationCreate",
    ATTACHMENT: "awsIntegrationAttach",
    LOOKUP: "awsIntegrationByName",
}
ADOPTING_CREATE_FIELD = "awsIntegrationUpdate"
#: Where the sibling sits: beside the integration, beside the attachment, or after both.
POINTS = {"with-integration": [], "with-attachment": ["SpaceliftIntegration"], "last": ["Attachment"]}

StackFactory = Callable[..., Stack]
#: Each stack gets its own seed, so its own StackId, RequestIds and made-up IDs.
SEEDS = itertools.count()


# Templates ------------------------------------------------------------------------------------


def integration(name: str = "my_role", **extra: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {"ServiceToken": SERVICE_TOKEN, "Name": name, "RoleArn": ROLE_ARN}
    properties |= {"ExternalIdsFor": [{"StackId": "my-stack-id"}], **extra}
    return {"Type": INTEGRATION, "Properties": properties}


def attachment(integration_id: str = "SpaceliftIntegration", **extra: Any) -> dict[str, Any]:
    properties = {"ServiceToken": SERVICE_TOKEN, "IntegrationId": {"Ref": integration_id}}
    return {"Type": ATTACHMENT, "Properties": {**properties, "StackId": "my-stack-id", **extra}}


def sibling(
    depends_on: list[str], fail_on: str = "", timing: str = "", generation: int = 0
) -> dict[str, Any]:
    properties = {"FailOn": fail_on, "CancelTiming": timing, "Generation": generation}
    return {"Type": SIBLING, "Properties": properties, "DependsOn": depends_on}


def template(**overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The test stack; a resource given as None is left out."""
    resources = {
        "SpaceliftIntegration": integration(),
        "Attachment": attachment(),
        "Sibling": sibling(["Attachment"]),
        **overrides,
    }
    return {name: definition for name, definition in resources.items() if definition is not None}


# What Spacelift should hold -------------------------------------------------------------------


def _is_true(value: Any) -> bool:
    return str(value).lower() == "true"


def settings_of(integration: Integration) -> IntegrationSettings:
    """A stored integration's settings, to compare with those it was made with."""
    return IntegrationSettings(**{f.name: getattr(integration, f.name) for f in fields(IntegrationSettings)})


def spacelift_differences(
    stack: Stack, emulator: Emulator, made_in_ui: Mapping[str, IntegrationSettings] | None = None
) -> list[str]:
    """How Spacelift differs from what the stack's physical IDs and properties say it holds.

    ``made_in_ui``: integrations that existed before the stack, by ID, with the settings they
    were made with. The stack's resources may hold (adopt) them; every other one must be there
    exactly as it was made, without an owner label: given back, never deleted, never left
    with the stack's settings.
    """
    made_in_ui = made_in_ui or {}
    integrations = emulator.integrations
    ours = {r.physical_id: r for r in stack.resources.values() if r.type == INTEGRATION}
    problems = [problem for resource in ours.values() for problem in _adoption_problems(resource)]
    for extra in sorted(set(integrations) - set(ours) - set(made_in_ui)):
        problems.append(f"integration {extra} ({integrations[extra].name}) is in Spacelift, not in the stack")
    for integration_id, original in made_in_ui.items():
        found = integrations.get(integration_id)
        if found is None:
            problems.append(f"integration {integration_id} ({original.name}), made in the UI, was deleted")
        elif integration_id not in ours and settings_of(found) != original:
            problems.append(
                f"integration {integration_id}, made in the UI and not adopted, is {settings_of(found)}, "
                f"not as it was made: {original}"
            )
    for physical_id, resource in ours.items():
        found = integrations.get(physical_id)
        if found is None:
            problems.append(f"{resource.logical_id}: integration {physical_id} is not in Spacelift")
            continue
        wanted = resource.properties
        expected = (
            wanted["Name"],
            wanted["RoleArn"],
            int(wanted.get("DurationSeconds", 900)),
            sorted(str(label) for label in wanted.get("Labels", [])),
            wanted.get("SpaceId", ROOT_SPACE),
        )
        owners = [label for label in found.labels if label.startswith(OWNER_LABEL_PREFIX)]
        others = sorted(label for label in found.labels if not label.startswith(OWNER_LABEL_PREFIX))
        actual = (found.name, found.role_arn, found.duration_seconds, others, found.space)
        if actual != expected or len(owners) != 1:
            problems.append(f"{resource.logical_id}: Spacelift has {actual} + {owners}, the stack {expected}")
    problems += _lookup_problems(stack, integrations, made_in_ui)
    return problems + _attachment_problems(stack, emulator)


def _adoption_problems(resource: Resource) -> list[str]:
    """An adopting resource holds the integration it names (its PhysicalResourceId)."""
    adopted = resource.properties.get("AdoptIntegrationId")
    if adopted is None or adopted == resource.physical_id:
        return []
    return [f"{resource.logical_id} adopts {adopted} but its PhysicalResourceId is {resource.physical_id}"]


def _lookup_problems(
    stack: Stack, integrations: Mapping[str, Integration], made_in_ui: Mapping[str, IntegrationSettings]
) -> list[str]:
    """A lookup answered the ID of the integration its Name named: one made in the UI (by the
    name it was made with: adopting it later keeps its ID), or one the stack manages."""
    problems = []
    for resource in stack.resources.values():
        if resource.type != LOOKUP:
            continue
        name = resource.properties["Name"]
        named = [i for i, original in made_in_ui.items() if original.name == name]
        named += [
            r.physical_id
            for r in stack.resources.values()
            if r.type == INTEGRATION and r.properties["Name"] == name
        ]
        answered = (resource.physical_id, resource.data.get("IntegrationId"))
        if len(named) != 1 or answered != (named[0], named[0]):
            problems.append(f"{resource.logical_id}: looked up {name!r} as {answered}, named: {named}")
    return problems


def _attachment_problems(stack: Stack, emulator: Emulator) -> list[str]:
    problems: list[str] = []
    attachments = emulator.attachments
    wanted_attachments = [r for r in stack.resources.values() if r.type == ATTACHMENT]
    for resource in wanted_attachments:
        wanted = resource.properties
        target = wanted.get("StackId") or wanted.get("ModuleId")
        key = (wanted["IntegrationId"], target)
        matching = [a for a in attachments.values() if (a.integration_id, a.stack_id) == key]
        access = (_is_true(wanted.get("Read", True)), _is_true(wanted.get("Write", True)))
        if len(matching) != 1:
            problems.append(f"{resource.logical_id}: {len(matching)} attachments of {key} in Spacelift")
        elif (matching[0].read, matching[0].write) != access:
            problems.append(f"{resource.logical_id}: {key} is attached with other read/write than {access}")
    if len(attachments) != len(wanted_attachments):
        held = sorted((a.integration_id, a.stack_id) for a in attachments.values())
        problems.append(f"Spacelift holds attachments {held}, the stack {len(wanted_attachments)}")
    return problems


def describe(stack: Stack) -> str:
    """The stack's history and requests, for assertion messages."""
    lines = [f"{who} {status} {reason}".rstrip() for who, status, reason in stack.history]
    for request in stack.requests:
        answer = request.answers[0] if request.answers else None
        said = f"{answer.status} {answer.physical_id} {answer.reason}" if answer else "no answer"
        lines.append(
            f"  [{request.status}] {request.request_type} {request.logical_id} "
            f"{request.physical_id or ''} {request.deliveries} -> {said}"
        )
    return "\n".join(lines)


def assert_matches_spacelift(
    stack: Stack, emulator: Emulator, made_in_ui: Mapping[str, IntegrationSettings] | None = None
) -> None:
    problems = spacelift_differences(stack, emulator, made_in_ui)
    assert not problems, "\n".join(problems) + "\n" + describe(stack)


# Fixtures -------------------------------------------------------------------------------------


def slow_creates(emulator: Emulator, seconds: float = 0.5) -> Callable[[dict[str, Any]], Any]:
    """The ``slow_create`` hook: the Create's mutation is applied, then its answer hangs."""

    @contextmanager
    def slow(event: dict[str, Any]) -> Iterator[None]:
        field = CREATE_FIELDS[event["ResourceType"]]
        if "AdoptIntegrationId" in event["ResourceProperties"]:
            field = ADOPTING_CREATE_FIELD
        emulator.faults.hang_next(1, seconds=seconds, field=field)
        yield

    return slow


@pytest.fixture
def make_stack(function: LocalFunction, emulator: Emulator, table: str) -> StackFactory:
    """Stacks played against the provider, with its idempotency table."""

    def make(**options: Any) -> Stack:
        options = {"slow_create": slow_creates(emulator), "dying_timeout": 2.5, **options}
        return Stack(function.send, name="mystack", seed=next(SEEDS), **options)

    return make


def custom_requests(stack: Stack) -> list[tuple[str, str]]:
    return [(r.request_type, r.logical_id) for r in stack.requests]


# The happy path -------------------------------------------------------------------------------


def test_create_update_delete_play_in_dependency_order(make_stack: StackFactory, emulator: Emulator) -> None:
    stack = make_stack()
    assert stack.create(template()) == "CREATE_COMPLETE", describe(stack)
    assert custom_requests(stack) == [("Create", "SpaceliftIntegration"), ("Create", "Attachment")]
    assert_matches_spacelift(stack, emulator)
    assert len(emulator.integrations) == len(emulator.attachments) == 1

    renamed = template(SpaceliftIntegration=integration("renamed", Labels=["team-infra"]))
    assert stack.update(renamed) == "UPDATE_COMPLETE", describe(stack)
    assert custom_requests(stack)[2:] == [("Update", "SpaceliftIntegration")]
    assert_matches_spacelift(stack, emulator)
    assert [i.name for i in emulator.integrations.values()] == ["renamed"]

    assert stack.delete() == "DELETE_COMPLETE", describe(stack)
    assert custom_requests(stack)[3:] == [("Delete", "Attachment"), ("Delete", "SpaceliftIntegration")]
    assert stack.resources == {}
    assert emulator.integrations == {} and emulator.attachments == {}


def test_events_look_like_cloudformations(make_stack: StackFactory) -> None:
    stack = make_stack()
    stack.create(template())
    stack.update(template(Attachment=attachment(Write=False)))
    stack.delete()

    stack_id = re.fullmatch(
        r"arn:aws:cloudformation:eu-west-1:123456789012:stack/mystack/(.+)", stack.stack_id
    )
    assert stack_id and uuid.UUID(stack_id.group(1)).version == 4
    request_ids = [r.event["RequestId"] for r in stack.requests]
    assert len(set(request_ids)) == len(request_ids) == 5
    assert all(uuid.UUID(request_id).version == 4 for request_id in request_ids)
    for request in stack.requests:
        event = request.event
        required = {"RequestType", "ServiceToken", "ResponseURL", "StackId", "RequestId"}
        required |= {"LogicalResourceId", "ResourceType", "ResourceProperties"}
        if request.request_type != "Create":
            required.add("PhysicalResourceId")
        if request.request_type == "Update":
            required.add("OldResourceProperties")
        assert set(event) == required
        assert event["StackId"] == stack.stack_id
        assert event["ServiceToken"] == SERVICE_TOKEN == event["ResourceProperties"]["ServiceToken"]
        assert_all_strings(event["ResourceProperties"])
    (update,) = stack.sent("Update")
    assert update.event["ResourceProperties"]["Write"] == "false"
    assert "Write" not in update.event["OldResourceProperties"]
    assert update.physical_id == stack.sent("Create", "Attachment")[0].answers[0].physical_id


def assert_all_strings(value: Any) -> None:
    if isinstance(value, dict):
        for item in value.values():
            assert_all_strings(item)
    elif isinstance(value, list):
        for item in value:
            assert_all_strings(item)
    else:
        assert isinstance(value, str), value


def test_the_model_refuses_what_cloudformation_refuses(make_stack: StackFactory) -> None:
    stack = make_stack()
    with pytest.raises(OperationNotAllowed):
        stack.update(template())
    assert stack.create(template(Sibling=sibling([], fail_on="create"))) == "ROLLBACK_COMPLETE"
    with pytest.raises(OperationNotAllowed):
        stack.update(template())  # a ROLLBACK_COMPLETE stack can only be deleted
    assert stack.delete() == "DELETE_COMPLETE"
    with pytest.raises(ValueError, match="unknown resources"):
        make_stack().create(template(SpaceliftIntegration=None))


# Create failures and cancellations ----------------------------------------------------------------


CREATE_FAILURES = [pytest.param(point, None, "generated", id=f"{point}-no-cancel") for point in POINTS] + [
    pytest.param(point, timing, made_up, id=f"{point}-{timing}-{made_up}")
    for point in ("with-integration", "with-attachment")
    for timing in ("before", "during", "after")
    for made_up in ("generated", "empty")
]


@pytest.mark.parametrize(("point", "timing", "made_up_ids"), CREATE_FAILURES)
def test_a_sibling_failing_the_create_rolls_everything_back(
    make_stack: StackFactory, emulator: Emulator, point: str, timing: str | None, made_up_ids: str
) -> None:
    stack = make_stack(made_up_ids=made_up_ids)
    failing = sibling(POINTS[point], fail_on="create", timing=timing or "")

    assert stack.create(template(Sibling=failing)) == "ROLLBACK_COMPLETE", describe(stack)
    assert stack.resources == {}
    assert_matches_spacelift(stack, emulator)
    assert not stack.conflicts()
    cancelled = [r for r in stack.requests if not r.used]
    if timing is None:
        assert not cancelled
        return
    (create,) = cancelled
    assert create.answers, "the cancelled Create ran all the same"
    (delete,) = stack.sent("Delete", create.logical_id)
    if made_up_ids == "generated":
        assert delete.physical_id and MADE_UP_ID.fullmatch(delete.physical_id)
    else:
        assert delete.physical_id == ""


def test_a_failed_create_gets_a_delete_with_the_id_it_answered(
    make_stack: StackFactory, emulator: Emulator
) -> None:
    stack = make_stack()
    assert stack.create(template(Attachment=attachment(StackId="no-such-stack"))) == "ROLLBACK_COMPLETE"

    (create,) = stack.sent("Create", "Attachment")
    assert create.answers[0].status == "FAILED"
    (delete,) = stack.sent("Delete", "Attachment")
    assert delete.physical_id == create.answers[0].physical_id
    assert custom_requests(stack)[-1] == ("Delete", "SpaceliftIntegration")
    assert emulator.integrations == {} and emulator.attachments == {}


# Update failures, rollbacks and replacements ------------------------------------------------------


@pytest.mark.parametrize("rollback_order", ["reverse", "forward"])
@pytest.mark.parametrize("point", POINTS)
def test_a_sibling_failing_the_update_sends_rollback_updates_with_swapped_properties(
    make_stack: StackFactory, emulator: Emulator, point: str, rollback_order: str
) -> None:
    stack = make_stack(rollback_order=rollback_order)
    assert stack.create(template(Sibling=sibling(POINTS[point]))) == "CREATE_COMPLETE", describe(stack)
    changed = template(
        SpaceliftIntegration=integration("renamed", Labels=["team-infra"], DurationSeconds=3600),
        Attachment=attachment(Write=False),
        Sibling=sibling(POINTS[point], fail_on="update", generation=1),
    )

    assert stack.update(changed) == "UPDATE_ROLLBACK_COMPLETE", describe(stack)
    forward = [r for r in stack.sent("Update") if r.status == "UPDATE_IN_PROGRESS"]
    rollback = [r for r in stack.sent("Update") if r.status == "UPDATE_ROLLBACK_IN_PROGRESS"]
    updated = {"with-integration": ["SpaceliftIntegration"]}.get(
        point, ["SpaceliftIntegration", "Attachment"]
    )
    assert [r.logical_id for r in forward] == updated
    assert [r.logical_id for r in rollback] == (updated[::-1] if rollback_order == "reverse" else updated)
    undone_by_id = {r.logical_id: r for r in rollback}
    for sent in forward:
        undone = undone_by_id[sent.logical_id]
        assert undone.event["ResourceProperties"] == sent.event["OldResourceProperties"]
        assert undone.event["OldResourceProperties"] == sent.event["ResourceProperties"]
        assert undone.physical_id == sent.physical_id
    assert_matches_spacelift(stack, emulator)
    assert [i.name for i in emulator.integrations.values()] == ["my_role"]


def test_a_replacement_deletes_the_old_object_in_the_cleanup(
    make_stack: StackFactory, emulator: Emulator
) -> None:
    stack = make_stack()
    stack.create(template())
    old_id = stack.resources["Attachment"].physical_id

    assert stack.update(template(Attachment=attachment(StackId="my-other-stack-id"))) == "UPDATE_COMPLETE"
    new_id = stack.resources["Attachment"].physical_id
    assert new_id != old_id
    last = stack.requests[-1]
    assert (last.request_type, last.physical_id, last.status) == (
        "Delete",
        old_id,
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    )
    assert_matches_spacelift(stack, emulator)
    assert [a.stack_id for a in emulator.attachments.values()] == ["my-other-stack-id"]


@pytest.mark.parametrize("replacement_rollback", ["revert", "update"])
def test_a_replacement_rolled_back_keeps_the_old_object(
    make_stack: StackFactory, emulator: Emulator, replacement_rollback: str
) -> None:
    stack = make_stack(replacement_rollback=replacement_rollback)
    stack.create(template())
    old_id = stack.resources["Attachment"].physical_id
    moved = template(
        Attachment=attachment(StackId="my-other-stack-id"),
        Sibling=sibling(["Attachment"], fail_on="update", generation=1),
    )

    assert stack.update(moved) == "UPDATE_ROLLBACK_COMPLETE", describe(stack)
    assert stack.resources["Attachment"].physical_id == old_id
    (forward,) = [r for r in stack.sent("Update", "Attachment") if r.status == "UPDATE_IN_PROGRESS"]
    new_id = forward.answers[0].physical_id
    deleted = [r for r in stack.sent("Delete", "Attachment")]
    assert [(r.physical_id, r.status) for r in deleted] == [
        (new_id, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    ]
    assert_matches_spacelift(stack, emulator)
    assert [a.stack_id for a in emulator.attachments.values()] == ["my-stack-id"]


@pytest.mark.parametrize("rollback_order", ["reverse", "forward"])
@pytest.mark.parametrize("replacement_rollback", ["revert", "update"])
def test_an_attachment_switched_to_another_integration_and_rolled_back_is_attached_again(
    make_stack: StackFactory, emulator: Emulator, replacement_rollback: str, rollback_order: str
) -> None:
    stack = make_stack(replacement_rollback=replacement_rollback, rollback_order=rollback_order)
    two = template(Other=integration("other"))
    assert stack.create(two) == "CREATE_COMPLETE", describe(stack)
    switched = template(
        Other=integration("other"),
        Attachment=attachment("Other"),
        Sibling=sibling(["Attachment"], fail_on="update", generation=1),
    )

    assert stack.update(switched) == "UPDATE_ROLLBACK_COMPLETE", describe(stack)
    first = stack.resources["SpaceliftIntegration"].physical_id
    assert stack.resources["Attachment"].properties["IntegrationId"] == first
    assert_matches_spacelift(stack, emulator)
    assert stack.update(template(Other=integration("other"), Attachment=attachment("Other"))) == (
        "UPDATE_COMPLETE"
    ), describe(stack)  # the stack still works: the switch goes through this time
    assert_matches_spacelift(stack, emulator)
    assert stack.delete() == "DELETE_COMPLETE", describe(stack)
    assert emulator.integrations == {} and emulator.attachments == {}


def lookup(name: Any) -> dict[str, Any]:
    return {"Type": LOOKUP, "Properties": {"ServiceToken": SERVICE_TOKEN, "Name": name}}


@pytest.mark.parametrize("replacement_rollback", ["revert", "update"])
def test_an_adoption_switched_to_another_integration_and_rolled_back_gives_the_other_back(
    make_stack: StackFactory, emulator: Emulator, table: str, replacement_rollback: str
) -> None:
    """``AdoptIntegrationId`` changed is a replacement: the update adopts the other integration
    and moves the attachment to it; rolled back, the attachment returns to the first and the
    other is given back as it was made. The stack's deletion gives the first back too."""
    emulator.add_space(LEGACY_SPACE)
    made_in_ui = {emulator.add_integration(settings).id: settings for settings in MADE_IN_UI}
    first, other = made_in_ui
    stack = make_stack(replacement_rollback=replacement_rollback)
    adopting = template(
        SpaceliftIntegration=integration(AdoptIntegrationId=first),
        Legacy=lookup(MADE_IN_UI[1].name),
        Sibling=sibling(["Attachment"]),
    )
    assert stack.create(adopting) == "CREATE_COMPLETE", describe(stack)
    assert stack.resources["SpaceliftIntegration"].physical_id == first
    assert stack.resources["Legacy"].data["IntegrationId"] == other
    assert_matches_spacelift(stack, emulator, made_in_ui)
    switched = template(
        SpaceliftIntegration=integration("renamed", AdoptIntegrationId=other),
        Legacy=lookup(MADE_IN_UI[1].name),
        Sibling=sibling(["Attachment"], fail_on="update", generation=1),
    )

    assert stack.update(switched) == "UPDATE_ROLLBACK_COMPLETE", describe(stack)
    assert stack.resources["SpaceliftIntegration"].physical_id == first
    assert [a.integration_id for a in emulator.attachments.values()] == [first]
    assert_matches_spacelift(stack, emulator, made_in_ui)  # the other one as it was made
    assert stack.delete() == "DELETE_COMPLETE", describe(stack)
    assert {i: settings_of(found) for i, found in emulator.integrations.items()} == made_in_ui
    assert emulator.attachments == {}


def test_an_attachment_switched_to_another_integration_that_replaces_the_first(
    make_stack: StackFactory, emulator: Emulator
) -> None:
    stack = make_stack()
    stack.create(template())
    switched = template(SpaceliftIntegration=None, Other=integration("other"), Attachment=attachment("Other"))

    assert stack.update(switched) == "UPDATE_COMPLETE", describe(stack)
    assert set(stack.resources) == {"Other", "Attachment", "Sibling"}
    assert stack.sent("Delete")[-1].logical_id == "SpaceliftIntegration"  # after the switch, in cleanup
    assert not stack.abandoned
    assert_matches_spacelift(stack, emulator)


def test_removed_resources_are_deleted_in_the_cleanup(make_stack: StackFactory, emulator: Emulator) -> None:
    stack = make_stack()
    stack.create(template())

    assert stack.update(template(Attachment=None, Sibling=None)) == "UPDATE_COMPLETE"
    (delete,) = stack.sent("Delete")
    assert (delete.logical_id, delete.status) == ("Attachment", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    assert set(stack.resources) == {"SpaceliftIntegration"}
    assert_matches_spacelift(stack, emulator)


def test_a_failing_cleanup_delete_is_tried_three_times_and_does_not_fail_the_stack(
    make_stack: StackFactory, emulator: Emulator
) -> None:
    stack = make_stack()
    stack.create(template())
    emulator.faults.fail_next(-1, status=400, field="awsIntegrationDetach")

    assert stack.update(template(Attachment=None, Sibling=sibling([]))) == "UPDATE_COMPLETE"
    assert [r.answers[0].status for r in stack.sent("Delete", "Attachment")] == ["FAILED"] * 3
    assert [r.logical_id for r in stack.abandoned] == ["Attachment"]
    assert "Attachment" not in stack.resources


def test_a_failed_delete_fails_the_stack_and_another_delete_finishes_it(
    make_stack: StackFactory, emulator: Emulator
) -> None:
    stack = make_stack()
    stack.create(template())
    emulator.faults.fail_next(-1, status=400, field="awsIntegrationDetach")

    assert stack.delete() == "DELETE_FAILED"
    assert set(stack.resources) == {"SpaceliftIntegration", "Attachment"}  # the integration is still needed
    assert custom_requests(stack)[2:] == [("Delete", "Attachment")]
    emulator.faults.reset()
    assert stack.delete() == "DELETE_COMPLETE", describe(stack)
    assert emulator.integrations == {} and emulator.attachments == {}


# Lambda's deliveries ------------------------------------------------------------------------------

#: (operation, the request that gets the fault): each one changes something in Spacelift.
REQUESTS = [
    ("create", "SpaceliftIntegration"),
    ("create", "Attachment"),
    ("update", "SpaceliftIntegration"),
    ("update", "Attachment"),
    ("delete", "Attachment"),
    ("delete", "SpaceliftIntegration"),
]


def play(stack: Stack, operation: str, logical_id: str, delivery: Delivery) -> str:
    """Create the stack, then play ``operation`` with ``delivery`` for its request to ``logical_id``."""
    request_type = operation.capitalize()
    if operation == "create":
        stack.plan(delivery, logical_id=logical_id, request_type=request_type)
        return stack.create(template())
    assert stack.create(template()) == "CREATE_COMPLETE", describe(stack)
    stack.plan(delivery, logical_id=logical_id, request_type=request_type)
    if operation == "update":
        changed = template(
            SpaceliftIntegration=integration("renamed", Labels=["team-infra"]),
            Attachment=attachment(Write=False),
        )
        return stack.update(changed)
    return stack.delete()


def faulted(stack: Stack, logical_id: str, request_type: str) -> Request:
    (request,) = [r for r in stack.sent(request_type, logical_id) if r.delivery != Delivery()]
    return request


@pytest.mark.parametrize(
    "delivery",
    [Delivery(duplicate=True), Delivery(late=True)],
    ids=["concurrent-duplicate", "late-redelivery"],
)
@pytest.mark.parametrize(("operation", "logical_id"), REQUESTS)
def test_a_duplicate_or_late_delivery_changes_nothing(
    make_stack: StackFactory,
    emulator: Emulator,
    operation: str,
    logical_id: str,
    delivery: Delivery,
) -> None:
    stack = make_stack()
    status = play(stack, operation, logical_id, delivery)
    deliveries = ["delivered", "duplicate" if delivery.duplicate else "late"]

    assert status == f"{operation.upper()}_COMPLETE", describe(stack)
    assert faulted(stack, logical_id, operation.capitalize()).deliveries == deliveries
    assert not stack.conflicts(), describe(stack)
    assert_matches_spacelift(stack, emulator)


@pytest.mark.parametrize(("operation", "logical_id"), REQUESTS)
def test_the_function_dying_after_a_mutation_is_retried_by_lambda(
    make_stack: StackFactory, emulator: Emulator, operation: str, logical_id: str
) -> None:
    stack = make_stack()
    status = play(stack, operation, logical_id, Delivery(die_after=1))

    assert status == f"{operation.upper()}_COMPLETE", describe(stack)
    assert faulted(stack, logical_id, operation.capitalize()).deliveries == [
        "delivered",
        "died",
        "redelivered",
    ]
    assert_matches_spacelift(stack, emulator)


def test_a_create_that_never_answers_fails_and_its_rollback_leaves_nothing(
    make_stack: StackFactory, emulator: Emulator, function: LocalFunction
) -> None:
    """Every delivery dies after Spacelift made the integration (a retried Create adopts it, and
    dies again): CloudFormation never hears back, fails the resource at ServiceTimeout and
    rolls back with a Delete whose ID it made up. That Delete waits for the Create as long as
    its own time allows (a short Lambda timeout here keeps the test quick), then cleans up."""
    function.timeout = 20
    stack = make_stack()
    stack.plan(Delivery(die_after=1, deaths=3), logical_id="SpaceliftIntegration", request_type="Create")

    assert stack.create(template()) == "ROLLBACK_COMPLETE", describe(stack)
    create = faulted(stack, "SpaceliftIntegration", "Create")
    assert create.answers == [] and create.deliveries.count("died") == 3, describe(stack)
    (delete,) = stack.sent("Delete", "SpaceliftIntegration")
    assert delete.physical_id and MADE_UP_ID.fullmatch(delete.physical_id)
    assert emulator.integrations == {} and emulator.attachments == {}, describe(stack)


MOVES: dict[str, dict[str, Any]] = {
    "to-another-stack": {"StackId": "my-other-stack-id"},
    "to-a-module": {"ModuleId": "my-module-id"},
    "to-another-integration": {"IntegrationId": {"Ref": "Other"}},
}


@pytest.mark.parametrize("move", MOVES)
@pytest.mark.parametrize("mutations", [1, 2])
def test_the_function_dying_while_an_attachment_moves_is_retried_by_lambda(
    make_stack: StackFactory, emulator: Emulator, move: str, mutations: int
) -> None:
    """A move is a detach and an attach (or an attach and, in cleanup, a detach): the function may
    die after either, and Lambda's retry must finish the move without a second attachment."""
    stack = make_stack()
    assert stack.create(template(Other=integration("other"))) == "CREATE_COMPLETE", describe(stack)
    moved = attachment(**MOVES[move])
    if move == "to-a-module":
        del moved["Properties"]["StackId"]
    stack.plan(Delivery(die_after=mutations), logical_id="Attachment", request_type="Update")

    assert stack.update(template(Other=integration("other"), Attachment=moved)) == "UPDATE_COMPLETE", (
        describe(stack)
    )
    assert_matches_spacelift(stack, emulator)
    assert stack.delete() == "DELETE_COMPLETE", describe(stack)
    assert emulator.integrations == {} and emulator.attachments == {}
