"""The ownership record's costs and ordering rules, seen from CloudFormation's side.

The record must cost no Spacelift request on the ordinary path, and its cancellation rules must
hold whatever order Lambda delivers a Create and the Delete that cancels it in.
"""

from __future__ import annotations

from typing import Any

import pytest

from localcfn import LocalFunction
from spacelift_cfn.ownership import Ledger
from spacelift_emulator import Emulator
from tests.conftest import ATTACHMENT, ROLE_ARN, STACK_ID, event
from tests.test_rollback_cases import in_background, wait_for

pytestmark = pytest.mark.usefixtures("table")

PROPERTIES: dict[str, Any] = {
    "Name": "my_role",
    "RoleArn": ROLE_ARN,
    "ExternalIdsFor": [{"StackId": "my-stack-id"}],
}
MADE_UP_ID = "platform-roles-SpaceliftIntegration-1XQ2ZV3ABCDE"


def test_a_warm_create_update_and_delete_cost_one_request_each(
    function: LocalFunction, emulator: Emulator
) -> None:
    """The record lives in DynamoDB: with it, each ordinary request is still one Spacelift call."""
    function(event("Create", {"Name": "warm-up", "RoleArn": ROLE_ARN}, logical_id="WarmUp"))
    costs: dict[str, int] = {}

    def cost(name: str, request: dict[str, Any]) -> str:
        emulator.reset_counters()
        answer = function(request)
        assert answer.status == "SUCCESS", answer.reason
        costs[name] = emulator.request_count()
        return answer.physical_id

    integration_id = cost("integration create", event("Create", PROPERTIES))
    relabelled = {**PROPERTIES, "Labels": ["team"]}
    cost("integration update", event("Update", relabelled, old=PROPERTIES, physical_id=integration_id))
    attached = {"IntegrationId": integration_id, "StackId": "my-stack-id"}
    attachment_id = cost("attachment create", event("Create", attached, resource_type=ATTACHMENT))
    read_only = {**attached, "Write": "false"}
    cost(
        "attachment update",
        event("Update", read_only, old=attached, physical_id=attachment_id, resource_type=ATTACHMENT),
    )
    cost("attachment delete", event("Delete", read_only, physical_id=attachment_id, resource_type=ATTACHMENT))
    cost("integration delete", event("Delete", relabelled, physical_id=integration_id))

    assert costs == dict.fromkeys(costs, 1)
    assert len(costs) == 6


def test_a_cancellation_that_arrives_first_waits_for_its_create(
    function: LocalFunction, emulator: Emulator
) -> None:
    """Lambda's queue may deliver the cancelling Delete before the Create: the Create then makes
    nothing, and the next Create of the same resource (a new RequestId) works."""
    create = event("Create", PROPERTIES)
    cancelled = function(event("Delete", PROPERTIES, physical_id=MADE_UP_ID))
    late = function(create)
    again = function(event("Create", PROPERTIES))

    assert cancelled.status == "SUCCESS"
    assert late.status == "FAILED" and "cancelled" in late.reason
    assert again.status == "SUCCESS", again.reason
    assert list(emulator.integrations) == [again.physical_id]


def test_a_late_copy_of_a_cancelled_create_does_not_use_up_a_waiting_cancellation() -> None:
    """A Create cancelled once and run again late (its first delivery died, so nothing was stored
    to replay) must not take the cancellation meant for the resource's next Create."""
    ledger = Ledger(STACK_ID, "SpaceliftIntegration")
    ledger.cancel("delete-1")
    assert ledger.begin_create("create-1").cancelled  # the cancellation waited for it

    ledger.cancel("delete-2")  # the next Create's cancellation, delivered before that Create
    assert ledger.begin_create("create-1").cancelled  # the late copy: refused ...
    assert ledger.begin_create("create-2").cancelled  # ... and the waiting cancellation kept
    assert not ledger.begin_create("create-3").cancelled


def test_a_duplicate_cancelling_delete_does_not_cancel_the_next_create(
    function: LocalFunction, emulator: Emulator
) -> None:
    """Lambda may deliver the cancelling Delete twice; the copy must not wait for, and cancel, the
    resource's next Create."""
    created = function(event("Create", PROPERTIES))
    cancel = event("Delete", PROPERTIES, physical_id=MADE_UP_ID)
    function(cancel)
    function.send(cancel)
    again = function(event("Create", PROPERTIES))

    assert created.status == again.status == "SUCCESS"
    assert list(emulator.integrations) == [again.physical_id]


def test_a_cancelling_delete_answers_only_once_the_running_create_undid_its_work(
    function: LocalFunction, emulator: Emulator, integration_id: str
) -> None:
    """CloudFormation does not wait for a cancelled Create: as soon as the attachment's Delete
    answers, it deletes the integration. So that Delete must answer only after the Create, whose
    attach Spacelift already applied, has undone it; else the integration is "still attached"."""
    attached = {"IntegrationId": integration_id, "StackId": "my-stack-id"}
    emulator.faults.hang_next(1, seconds=1.5, field="awsIntegrationAttach")
    creating = in_background(function, event("Create", attached, resource_type=ATTACHMENT))
    wait_for(lambda: emulator.request_count("awsIntegrationAttach") >= 1)

    cancelled = function(event("Delete", attached, resource_type=ATTACHMENT, physical_id=MADE_UP_ID))
    integration_deleted = function(
        event("Delete", {"Name": "my_role", "RoleArn": ROLE_ARN}, physical_id=integration_id)
    )
    creating()

    assert cancelled.status == "SUCCESS"
    assert integration_deleted.status == "SUCCESS", integration_deleted.reason
    assert (emulator.attachments, emulator.integrations) == ({}, {})
