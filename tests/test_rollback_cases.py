"""CloudFormation's rollbacks, played request by request with real events: Creates cancelled while
running or after they finished, an attachment moved and rolled back, failures after a change was
applied, redeliveries after the function died, Deletes of IDs this provider never issued, a broken
layer, and a stack deleted in Spacelift.

Each test asserts only what a user would notice: the status of every answer CloudFormation got
(a Delete must always answer SUCCESS, or the stack ends in a *_FAILED state) and what exists in
Spacelift afterwards. Where the provider may answer either way, the test follows CloudFormation's
reaction to the answer that came and checks that Spacelift ends up as the stack believes it is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest

from localcfn import CapturedResponse, LocalFunction, ResponseServer
from spacelift_emulator import Emulator
from tests.conftest import (
    ACCOUNT_NAME,
    ATTACHMENT,
    INTEGRATION,
    ROLE_ARN,
    STACK_ID,
    cold_container,
    event,
)

pytestmark = pytest.mark.usefixtures("table")  # deployed, the provider always has its table

SRC = Path(__file__).parent.parent / "src"
OTHER_STACK_ID = (
    "arn:aws:cloudformation:eu-west-1:123456789012:stack/team-roles/8e9f0a1b-c9a1-11ef-9f2a-0a1b2c3d4e5f"
)
#: What CloudFormation makes up as the PhysicalResourceId of a Create it cancelled while running.
MADE_UP_INTEGRATION_ID = "platform-roles-SpaceliftIntegration-1XQ2ZV3ABCDE"
MADE_UP_ATTACHMENT_ID = "platform-roles-StackAttachment-7KD0WQ4M2RJNB"
PROPERTIES: dict[str, Any] = {
    "Name": "my_role",
    "RoleArn": ROLE_ARN,
    "ExternalIdsFor": [{"StackId": "my-stack-id"}],
}
#: Words a FAILED reason must not use when the failed request did change Spacelift.
NOTHING_CHANGED = ("nothing was changed", "nothing changed", "no change")
#: Root fields that change Spacelift (the API key exchange is a mutation too, but changes nothing).
CHANGES = {
    "awsIntegrationCreate",
    "awsIntegrationUpdate",
    "awsIntegrationDelete",
    "awsIntegrationAttach",
    "awsIntegrationAttachmentUpdate",
    "awsIntegrationDetach",
}

Order = Literal["while-running", "before-it-starts", "after-it-finished"]


class FunctionDied(BaseException):
    """Lambda ending an invocation (timeout, out of memory): nothing after it runs, no answer."""


# ----------------------------------------------------------------------------- playing CloudFormation


def attachment_properties(integration_id: str) -> dict[str, Any]:
    return {"IntegrationId": integration_id, "StackId": "my-stack-id"}


def attachment_event(
    request_type: str,
    integration_id: str,
    *,
    physical_id: str | None = None,
    old_integration_id: str | None = None,
    stack_id: str = STACK_ID,
) -> dict[str, Any]:
    """An event for the stack's ``StackAttachment`` of ``integration_id`` to ``my-stack-id``."""
    old = None if old_integration_id is None else attachment_properties(old_integration_id)
    return event(
        request_type,
        attachment_properties(integration_id),
        resource_type=ATTACHMENT,
        logical_id="StackAttachment",
        physical_id=physical_id,
        old=old,
        stack_id=stack_id,
    )


def delete_for(create: dict[str, Any], physical_id: str | None) -> dict[str, Any]:
    """The Delete CloudFormation sends for the resource of ``create`` (or of an Update): same
    stack, logical ID, type and properties, a new RequestId, and ``physical_id`` (None: none)."""
    delete = {k: v for k, v in create.items() if k not in ("OldResourceProperties", "PhysicalResourceId")}
    delete |= {"RequestType": "Delete", "RequestId": str(uuid.uuid4())}
    if physical_id is not None:
        delete["PhysicalResourceId"] = physical_id
    return delete


def created(function: LocalFunction, create: dict[str, Any]) -> str:
    """Deliver a Create that must succeed; its PhysicalResourceId."""
    answer = function(create)
    assert answer.status == "SUCCESS", answer.reason
    return answer.physical_id


def integration(
    function: LocalFunction, logical_id: str = "SpaceliftIntegration", name: str = "my_role", **kwargs: Any
) -> tuple[dict[str, Any], str]:
    """An integration the stack created: its Create event and its ID."""
    create = event("Create", {**PROPERTIES, "Name": name}, logical_id=logical_id, **kwargs)
    return create, created(function, create)


def deleted(function: LocalFunction, delete: dict[str, Any]) -> None:
    """Deliver a Delete, which must answer SUCCESS."""
    answer = function(delete)
    assert answer.status == "SUCCESS", answer.reason


def in_background(function: LocalFunction, delivered: dict[str, Any]) -> Callable[[], list[CapturedResponse]]:
    """Deliver an event in a thread; the function returned waits for it and gives its answers."""
    answers: list[CapturedResponse] = []
    thread = threading.Thread(target=lambda: answers.extend(function.send(delivered)), daemon=True)
    thread.start()

    def finished() -> list[CapturedResponse]:
        thread.join(timeout=60)
        assert not thread.is_alive(), "the delivery never finished"
        return answers

    return finished


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def cancel(
    function: LocalFunction,
    emulator: Emulator,
    create: dict[str, Any],
    physical_id: str | None,
    *,
    order: Order,
    mutation: str = "",
) -> CapturedResponse:
    """CloudFormation cancels ``create`` (another resource failed) with a Delete of ``physical_id``,
    delivered while the Create runs (its ``mutation`` slowed down), before it starts (Lambda
    reordered them) or after it finished. The Create's answer is ignored; the Delete's is returned."""
    cancellation = delete_for(create, physical_id)
    if order == "before-it-starts":
        answer = function(cancellation)
        function.send(create)
        return answer
    if order == "after-it-finished":
        created(function, create)
        return function(cancellation)
    emulator.faults.hang_next(1, seconds=1.5, field=mutation)
    creating = in_background(function, create)
    wait_for(lambda: emulator.request_count(mutation) >= 1)
    answer = function(cancellation)
    creating()
    return answer


def attachment_id(physical_id: str) -> str:
    """The attachment's ID, last in ``<integrationId>/<stackOrModuleId>/<attachmentId>``."""
    return physical_id.rsplit("/", 1)[-1]


def attached(emulator: Emulator) -> list[tuple[str, bool, bool]]:
    """(integration, read, write) of every attachment to ``my-stack-id``."""
    return sorted(
        (a.integration_id, a.read, a.write)
        for a in emulator.attachments.values()
        if a.stack_id == "my-stack-id"
    )


def changes_sent(emulator: Emulator) -> list[str]:
    return [field for r in emulator.requests for field in r.root_fields if field in CHANGES]


def assert_honest(answer: CapturedResponse, changed: bool) -> None:
    """A FAILED reason must not say nothing was changed when something was."""
    if answer.status == "FAILED" and changed:
        assert not any(words in answer.reason.lower() for words in NOTHING_CHANGED), answer.reason


def settle_integration(
    function: LocalFunction, emulator: Emulator, create: dict[str, Any], answer: CapturedResponse
) -> None:
    """Follow CloudFormation after an integration Create's answer and check Spacelift agrees:
    SUCCESS, the integration exists under the answered ID; FAILED, the Delete of the answered ID
    succeeds and leaves no integration."""
    assert_honest(answer, changed=bool(emulator.integrations))
    if answer.status == "SUCCESS":
        assert list(emulator.integrations) == [answer.physical_id]
        return
    deleted(function, delete_for(create, answer.physical_id))
    assert emulator.integrations == {}


def settle_attachment(
    function: LocalFunction,
    emulator: Emulator,
    create: dict[str, Any],
    answer: CapturedResponse,
    *,
    integration_create: dict[str, Any],
    integration_id: str,
) -> None:
    """The same for an attachment Create; after FAILED the stack's Create rolls back, so the
    integration's own Delete follows and must not be blocked by an orphaned attachment."""
    assert_honest(answer, changed=bool(emulator.attachments))
    if answer.status == "SUCCESS":
        assert list(emulator.attachments) == [attachment_id(answer.physical_id)]
        return
    deleted(function, delete_for(create, answer.physical_id))
    deleted(function, delete_for(integration_create, integration_id))
    assert (emulator.attachments, emulator.integrations) == ({}, {})


# ----------------------------------------------------------------------------- cancelled mid-flight


@pytest.mark.parametrize("order", ["while-running", "before-it-starts"])
def test_a_cancelled_integration_create_leaves_no_integration(
    function: LocalFunction, emulator: Emulator, order: Order
) -> None:
    """Another resource fails while the integration is being created: the rollback's Delete (an
    ID CloudFormation made up) succeeds, and no integration is left in Spacelift."""
    create = event("Create", PROPERTIES)
    answer = cancel(
        function, emulator, create, MADE_UP_INTEGRATION_ID, order=order, mutation="awsIntegrationCreate"
    )

    assert answer.status == "SUCCESS", answer.reason
    assert emulator.integrations == {}


@pytest.mark.parametrize("order", ["while-running", "before-it-starts"])
def test_a_cancelled_attachment_create_leaves_nothing_and_the_integration_deletes(
    function: LocalFunction, emulator: Emulator, order: Order
) -> None:
    """The same for an attachment: nothing stays attached, so the integration's Delete in the same
    rollback succeeds instead of leaving the stack in ROLLBACK_FAILED ("still attached")."""
    integration_create, integration_id = integration(function)
    create = attachment_event("Create", integration_id)
    answer = cancel(
        function, emulator, create, MADE_UP_ATTACHMENT_ID, order=order, mutation="awsIntegrationAttach"
    )

    assert answer.status == "SUCCESS", answer.reason
    deleted(function, delete_for(integration_create, integration_id))
    assert (emulator.attachments, emulator.integrations) == ({}, {})


# ----------------------------------------------------------------------------- cancelled after it finished


@pytest.mark.parametrize("style", ["null", "error"])
def test_a_cancellation_after_the_integration_create_finished_deletes_it(
    function: LocalFunction, emulator: Emulator, style: Literal["null", "error"]
) -> None:
    """The Create answered SUCCESS too late: CloudFormation's Delete of its made-up ID removes
    the integration that Create made."""
    emulator.faults.not_found_style = style
    create = event("Create", PROPERTIES)
    answer = cancel(function, emulator, create, MADE_UP_INTEGRATION_ID, order="after-it-finished")

    assert answer.status == "SUCCESS", answer.reason
    assert emulator.integrations == {}


def test_a_cancellation_after_the_attachment_create_finished_detaches_it(
    function: LocalFunction, emulator: Emulator
) -> None:
    """The same for an attachment: it is detached, so the integration's Delete then succeeds."""
    integration_create, integration_id = integration(function)
    create = attachment_event("Create", integration_id)
    answer = cancel(function, emulator, create, MADE_UP_ATTACHMENT_ID, order="after-it-finished")

    assert answer.status == "SUCCESS", answer.reason
    deleted(function, delete_for(integration_create, integration_id))
    assert (emulator.attachments, emulator.integrations) == ({}, {})


# ----------------------------------------------------------------------------- created again


@pytest.mark.parametrize("cancellation_id", [MADE_UP_INTEGRATION_ID, None], ids=["made-up-id", "no-id"])
@pytest.mark.parametrize("order", ["while-running", "before-it-starts", "after-it-finished"])
def test_an_integration_created_again_after_a_cancelled_create_stays(
    function: LocalFunction, emulator: Emulator, order: Order, cancellation_id: str | None
) -> None:
    """A later stack update adds the resource again (same stack and logical ID, new RequestId):
    the Create succeeds and its integration stays, the only one in Spacelift. (With ``no-id``
    the cancelling Delete carries no PhysicalResourceId at all.)"""
    first = event("Create", PROPERTIES)
    cancel(function, emulator, first, cancellation_id, order=order, mutation="awsIntegrationCreate")

    again = function({**first, "RequestId": str(uuid.uuid4())})

    assert again.status == "SUCCESS", again.reason
    assert list(emulator.integrations) == [again.physical_id]


@pytest.mark.parametrize("order", ["while-running", "before-it-starts", "after-it-finished"])
def test_an_attachment_created_again_after_a_cancelled_create_stays(
    function: LocalFunction, emulator: Emulator, order: Order
) -> None:
    """The same for an attachment: the new Create succeeds and its attachment is the only one."""
    _, integration_id = integration(function)
    first = attachment_event("Create", integration_id)
    cancel(function, emulator, first, MADE_UP_ATTACHMENT_ID, order=order, mutation="awsIntegrationAttach")

    again = function({**first, "RequestId": str(uuid.uuid4())})

    assert again.status == "SUCCESS", again.reason
    assert list(emulator.attachments) == [attachment_id(again.physical_id)]


# ----------------------------------------------------------------------------- moved, then rolled back


def test_an_attachment_moved_to_another_integration_is_restored_by_the_rollback(
    function: LocalFunction, emulator: Emulator
) -> None:
    """The attachment is switched from integration one to two on the same Spacelift stack, then
    another resource fails: after the rollback, one is attached again (and two is not), and
    deleting the stack afterwards leaves nothing attached."""
    one_create, one = integration(function, "IntegrationOne", "role-one")
    two_create, two = integration(function, "IntegrationTwo", "role-two")
    original = created(function, attachment_event("Create", one))
    move = attachment_event("Update", two, physical_id=original, old_integration_id=one)
    moved = function(move)
    assert moved.status == "SUCCESS", moved.reason

    if moved.physical_id == original:  # updated in place: CloudFormation updates it back
        rollback = function(attachment_event("Update", one, physical_id=original, old_integration_id=two))
        assert rollback.status == "SUCCESS", rollback.reason
        believed = rollback.physical_id
        if believed != original:  # replaced during the rollback: the cleanup deletes the other
            deleted(function, delete_for(move, original))
    else:  # replaced: the stack goes back to the original; the cleanup deletes the new one
        deleted(function, delete_for(move, moved.physical_id))
        believed = original

    assert attached(emulator) == [(one, True, True)]
    deleted(function, delete_for(attachment_event("Create", one), believed))
    assert emulator.attachments == {}
    deleted(function, delete_for(two_create, two))
    deleted(function, delete_for(one_create, one))
    assert emulator.integrations == {}


def test_an_attachment_moved_to_another_integration_keeps_only_the_new_one(
    function: LocalFunction, emulator: Emulator
) -> None:
    """The same switch when the stack update succeeds: after the cleanup phase only two is
    attached, and deleting the stack leaves no attachments and both integrations delete."""
    one_create, one = integration(function, "IntegrationOne", "role-one")
    two_create, two = integration(function, "IntegrationTwo", "role-two")
    create = attachment_event("Create", one)
    original = created(function, create)
    move = attachment_event("Update", two, physical_id=original, old_integration_id=one)
    moved = function(move)
    assert moved.status == "SUCCESS", moved.reason

    if moved.physical_id != original:  # a replacement: the cleanup phase deletes the original
        deleted(function, delete_for(create, original))

    assert attached(emulator) == [(two, True, True)]
    deleted(function, delete_for(move, moved.physical_id))
    assert emulator.attachments == {}
    deleted(function, delete_for(two_create, two))
    deleted(function, delete_for(one_create, one))
    assert emulator.integrations == {}


# ----------------------------------------------------------------------------- failed after applying


def break_the_next_result_save(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the idempotency table fail once, when the provider saves a finished request's result."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from botocore.exceptions import ClientError

    real = DynamoDBPersistenceLayer.save_success
    armed = [True]

    def save_success(self: DynamoDBPersistenceLayer, *args: Any, **kwargs: Any) -> None:
        if not armed:
            return real(self, *args, **kwargs)
        armed.clear()
        throttled = {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}
        raise ClientError({"Error": throttled}, "UpdateItem")  # type: ignore[typeddict-item]

    monkeypatch.setattr(DynamoDBPersistenceLayer, "save_success", save_success)


def test_an_attach_whose_account_lookup_fails_leaves_no_orphan(
    function: LocalFunction, emulator: Emulator
) -> None:
    """In a fresh container the attach is applied and then the account lookup fails: whatever
    the answer, Spacelift ends up as the stack believes, and the rollback's Deletes succeed."""
    integration_create, integration_id = integration(function)
    cold_container()
    emulator.faults.fail_next(1, status=400, field="spaceliftAwsAccountId")
    create = attachment_event("Create", integration_id)

    answer = function(create)

    settle_attachment(
        function,
        emulator,
        create,
        answer,
        integration_create=integration_create,
        integration_id=integration_id,
    )


def test_an_integration_whose_result_cannot_be_saved_leaves_no_orphan(
    function: LocalFunction, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The idempotency table fails after the integration was created: a FAILED answer does not
    claim nothing changed, and its rollback Delete removes the integration."""
    break_the_next_result_save(monkeypatch)
    create = event("Create", PROPERTIES)

    answer = function(create)

    settle_integration(function, emulator, create, answer)


def test_an_attachment_whose_result_cannot_be_saved_leaves_no_orphan(
    function: LocalFunction, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for an attachment: no orphaned attachment blocks the integration's Delete."""
    integration_create, integration_id = integration(function)
    break_the_next_result_save(monkeypatch)
    create = attachment_event("Create", integration_id)

    answer = function(create)

    settle_attachment(
        function,
        emulator,
        create,
        answer,
        integration_create=integration_create,
        integration_id=integration_id,
    )


@pytest.mark.parametrize("style", ["null", "error"])
def test_an_integration_whose_external_id_is_missing_leaves_no_orphan(
    function: LocalFunction, emulator: Emulator, style: Literal["null", "error"]
) -> None:
    """A stack in ExternalIdsFor was deleted in Spacelift, so the Create gets no external ID for
    it: whatever the answer, Spacelift ends up as the stack believes."""
    emulator.remove_stack("my-other-stack-id")
    emulator.faults.not_found_style = style
    listed = [{"StackId": "my-stack-id"}, {"StackId": "my-other-stack-id"}]
    create = event("Create", {**PROPERTIES, "ExternalIdsFor": listed})

    answer = function(create)

    settle_integration(function, emulator, create, answer)


# ----------------------------------------------------------------------------- another stack's objects


@pytest.mark.parametrize("answer_lost", [False, True], ids=["answered", "attach-answer-lost"])
def test_an_attachment_another_stack_made_is_never_taken_over(
    function: LocalFunction, emulator: Emulator, answer_lost: bool
) -> None:
    """Another stack already attached the integration to my-stack-id: this stack's Create fails,
    and the Delete CloudFormation then sends for it leaves the other stack's attachment. With
    ``attach-answer-lost`` Spacelift's answer to the attach is a 503 (it applied nothing)."""
    _, integration_id = integration(function, stack_id=OTHER_STACK_ID)
    theirs = created(function, attachment_event("Create", integration_id, stack_id=OTHER_STACK_ID))
    if answer_lost:
        emulator.faults.fail_next(1, status=503, field="awsIntegrationAttach")
    create = attachment_event("Create", integration_id)

    answer = function(create)
    # FAILED: the rollback deletes the answered ID; SUCCESS: deleting this stack later does.
    deleted(function, delete_for(create, answer.physical_id))

    assert list(emulator.attachments) == [attachment_id(theirs)]
    assert answer.status == "FAILED", f"took over another stack's attachment: {answer.physical_id}"


def test_a_cancellation_leaves_another_stacks_integration_and_attachment(
    function: LocalFunction, emulator: Emulator
) -> None:
    """Cancellations (made-up IDs) for resources this stack never created succeed and leave the
    integration of the same Name and the attachment another stack made."""
    _, integration_id = integration(function, stack_id=OTHER_STACK_ID)
    created(function, attachment_event("Create", integration_id, stack_id=OTHER_STACK_ID))
    integrations, attachments = emulator.integrations, emulator.attachments

    deleted(function, delete_for(event("Create", PROPERTIES), MADE_UP_INTEGRATION_ID))
    deleted(function, delete_for(attachment_event("Create", integration_id), MADE_UP_ATTACHMENT_ID))

    assert (emulator.integrations, emulator.attachments) == (integrations, attachments)


# ----------------------------------------------------------------------------- the function died


def die_after(monkeypatch: pytest.MonkeyPatch, mutation: str) -> None:
    """The next ``mutation`` reaches Spacelift and is applied, then the function dies."""
    from spacelift_cfn.spacelift import SpaceliftClient

    real = SpaceliftClient.mutate
    armed = [True]

    def mutate(self: SpaceliftClient, document: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        result = real(self, document, *args, **kwargs)
        if armed and mutation in document:
            armed.clear()
            raise FunctionDied
        return result

    monkeypatch.setattr(SpaceliftClient, "mutate", mutate)


def deliver_and_die(function: LocalFunction, create: dict[str, Any], timeout: float = 3.0) -> None:
    """The first delivery dies without answering; Lambda redelivers after its time is up."""
    started = time.monotonic()
    with pytest.raises(FunctionDied):
        function.send(create, timeout=timeout)
    time.sleep(max(started + timeout + 0.2 - time.monotonic(), 0))
    cold_container()  # the redelivery lands in a new container


@pytest.mark.parametrize("unique", [True, False], ids=["unique-names", "names-not-unique"])
def test_a_redelivered_integration_create_adopts_what_the_dead_delivery_made(
    function: LocalFunction, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, unique: bool
) -> None:
    """The function died right after Spacelift created the integration: the redelivery answers
    SUCCESS and Spacelift holds exactly one integration, the answered one."""
    emulator.unique_names = unique
    die_after(monkeypatch, "awsIntegrationCreate")
    create = event("Create", PROPERTIES)
    deliver_and_die(function, create)

    answers = function.send(create)

    assert [a.status for a in answers] == ["SUCCESS"], [a.reason for a in answers]
    assert list(emulator.integrations) == [answers[0].physical_id]


@pytest.mark.parametrize("unique", [True, False], ids=["unique-names", "names-not-unique"])
def test_a_redelivered_attachment_create_adopts_what_the_dead_delivery_made(
    function: LocalFunction, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, unique: bool
) -> None:
    """The same for an attachment: SUCCESS, and exactly one attachment, the answered one."""
    emulator.unique_names = unique
    _, integration_id = integration(function)
    die_after(monkeypatch, "awsIntegrationAttach")
    create = attachment_event("Create", integration_id)
    deliver_and_die(function, create)

    answers = function.send(create)

    assert [a.status for a in answers] == ["SUCCESS"], [a.reason for a in answers]
    assert list(emulator.attachments) == [attachment_id(answers[0].physical_id)]


# ----------------------------------------------------------------------------- IDs never issued


@pytest.mark.parametrize(
    ("resource_type", "physical_id"),
    [
        (INTEGRATION, MADE_UP_INTEGRATION_ID),
        (INTEGRATION, "could-not-create"),
        (INTEGRATION, "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"),
        (ATTACHMENT, MADE_UP_ATTACHMENT_ID),
        (ATTACHMENT, "could-not-create"),
        (ATTACHMENT, "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"),
        (ATTACHMENT, "a/b/c"),
    ],
)
def test_a_delete_of_an_id_this_provider_never_issued_changes_nothing(
    function: LocalFunction, emulator: Emulator, resource_type: str, physical_id: str
) -> None:
    """A Delete of an ID the provider never answered (CloudFormation's own, another tool's
    failure marker, a malformed attachment ID) succeeds without changing anything in Spacelift,
    not even the integration of the same Name and the attachment other resources made."""
    _, integration_id = integration(function, "OtherIntegration")
    created(function, {**attachment_event("Create", integration_id), "LogicalResourceId": "OtherAttachment"})
    integrations, attachments = emulator.integrations, emulator.attachments
    emulator.reset_counters()

    never_made = (
        event("Create", PROPERTIES)
        if resource_type == INTEGRATION
        else attachment_event("Create", integration_id)
    )
    deleted(function, delete_for(never_made, physical_id))

    assert changes_sent(emulator) == []
    assert (emulator.integrations, emulator.attachments) == (integrations, attachments)


# ----------------------------------------------------------------------------- a broken layer


@pytest.mark.parametrize(
    ("resource_type", "logical_id"), [(INTEGRATION, "SpaceliftIntegration"), (ATTACHMENT, "StackAttachment")]
)
def test_with_the_provider_broken_the_delete_of_a_failed_create_still_succeeds(
    tmp_path: Path, responses: ResponseServer, resource_type: str, logical_id: str
) -> None:
    """The layer lost a dependency, so every Create fails; the rollback's Delete of the ID those
    failed Creates answered must still succeed, or the stack ends in ROLLBACK_FAILED."""
    shutil.copy(SRC / "app.py", tmp_path / "app.py")
    broken = tmp_path / "spacelift_cfn"
    broken.mkdir()
    (broken / "__init__.py").write_text("")
    (broken / "handler.py").write_text("import a_dependency_the_layer_lost\n")
    marker = f"spacelift-cfn:create-failed:{logical_id}"
    delete = event("Delete", {}, resource_type=resource_type, logical_id=logical_id, physical_id=marker)
    delete["ResponseURL"] = responses.url(delete["RequestId"])
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(tmp_path)!r})
        import app
        app.handler(json.loads(sys.argv[1]), None)
        """
    )
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(tmp_path)}
    subprocess.run(
        [sys.executable, "-I", "-c", script, json.dumps(delete)], check=True, env=environment, timeout=60
    )

    (answer,) = responses.for_request(delete["RequestId"])
    assert (answer.status, answer.physical_id) == ("SUCCESS", marker), answer.reason


# ----------------------------------------------------------------------------- a stack deleted


@pytest.mark.parametrize("style", ["null", "error"])
def test_a_stack_deleted_in_spacelift_keeps_its_external_id_through_update_and_rollback(
    function: LocalFunction, emulator: Emulator, style: Literal["null", "error"]
) -> None:
    """A stack listed in ExternalIdsFor is deleted in Spacelift, then the template changes the
    Labels and the stack update rolls back: both Updates succeed with the same external IDs and
    a trust policy that still holds both statements."""
    listed = {
        **PROPERTIES,
        "Labels": ["team-infra"],
        "ExternalIdsFor": [{"StackId": "my-stack-id"}, {"StackId": "my-other-stack-id"}],
    }
    integration_id = created(function, event("Create", listed))
    emulator.remove_stack("my-other-stack-id")
    emulator.faults.not_found_style = style
    relabelled = {**listed, "Labels": ["team-infra", "prod"]}
    expected = [f"{ACCOUNT_NAME}@{integration_id}@{s}@write" for s in ("my-stack-id", "my-other-stack-id")]

    for new, old, labelled in ((relabelled, listed, True), (listed, relabelled, False)):
        answer = function(event("Update", new, old=old, physical_id=integration_id))

        assert (answer.status, answer.physical_id) == ("SUCCESS", integration_id), answer.reason
        assert ("prod" in emulator.integrations[integration_id].labels) is labelled
        data = answer.data
        assert [data["ExternalId.my-stack-id"], data["ExternalId.my-other-stack-id"]] == expected
        first, second = json.loads(data["AssumeRolePolicyDocument"])["Statement"]
        assert [s["Condition"]["StringEquals"]["sts:ExternalId"] for s in (first, second)] == expected
        assert {**second, "Condition": first["Condition"]} == first
