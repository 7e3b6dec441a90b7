"""Custom::SpaceliftAwsIntegrationAttachment and Custom::SpaceliftAwsIntegrationExternalId."""

from __future__ import annotations

import json

from localcfn import LocalFunction
from spacelift_emulator import Emulator
from tests.conftest import ACCOUNT_NAME, ATTACHMENT, EXTERNAL_ID, ROLE_ARN, SPACELIFT_AWS_ACCOUNT, event


def test_attach_returns_the_attachment(
    function: LocalFunction, emulator: Emulator, integration_id: str
) -> None:
    emulator.reset_counters()
    response = function(
        event(
            "Create",
            {"IntegrationId": integration_id, "ModuleId": "my-module-id", "Write": "false"},
            resource_type=ATTACHMENT,
        )
    )

    assert response.status == "SUCCESS", response.reason
    assert emulator.request_count() == 1  # warm: just the attach
    attachment_id = response.data["Id"]
    assert response.physical_id == f"{integration_id}/my-module-id/{attachment_id}"
    assert response.data == {
        "Id": attachment_id,
        "IntegrationId": integration_id,
        "StackId": "my-module-id",
        "IsModule": "true",
        "Read": "true",
        "Write": "false",
        "ExternalId": f"{ACCOUNT_NAME}@{integration_id}@my-module-id@read",
    }
    stored = emulator.attachments[attachment_id]
    assert (stored.stack_id, stored.is_module, stored.read, stored.write) == (
        "my-module-id",
        True,
        True,
        False,
    )


def test_the_external_id_matches_what_the_api_computes(
    function: LocalFunction, emulator: Emulator, integration_id: str
) -> None:
    properties = {"IntegrationId": integration_id, "StackId": "my-stack-id"}
    attached = function(event("Create", properties, resource_type=ATTACHMENT))
    computed = function(event("Create", properties, resource_type=EXTERNAL_ID))
    assert attached.data["ExternalId"] == computed.data["ExternalId"]


def test_flipping_write_updates_in_place_and_detach_twice_succeeds(
    function: LocalFunction, emulator: Emulator, integration_id: str
) -> None:
    properties = {"IntegrationId": integration_id, "StackId": "my-stack-id"}
    created = function(event("Create", properties, resource_type=ATTACHMENT))
    flipped = {**properties, "Write": "false"}
    updated = function(
        event("Update", flipped, old=properties, physical_id=created.physical_id, resource_type=ATTACHMENT)
    )

    assert (updated.status, updated.physical_id) == ("SUCCESS", created.physical_id), updated.reason
    assert emulator.attachments[created.data["Id"]].write is False
    assert updated.data["ExternalId"].endswith("@read")

    for _ in range(2):
        deleted = function(
            event("Delete", flipped, physical_id=created.physical_id, resource_type=ATTACHMENT)
        )
        assert (deleted.status, deleted.physical_id) == ("SUCCESS", created.physical_id)
        assert emulator.attachments == {}


def test_changing_the_integration_on_the_same_stack_changes_it_in_place(
    function: LocalFunction, emulator: Emulator, integration_id: str
) -> None:
    """The stack holds one read and one write attachment, so the old one cannot wait for the
    cleanup phase: the switch keeps the physical ID, and the stack's Delete detaches the new one."""
    other = function(event("Create", {"Name": "other", "RoleArn": ROLE_ARN}, logical_id="Other")).physical_id
    properties = {"IntegrationId": integration_id, "StackId": "my-stack-id"}
    created = function(event("Create", properties, resource_type=ATTACHMENT))
    moved = {**properties, "IntegrationId": other}
    updated = function(
        event("Update", moved, old=properties, physical_id=created.physical_id, resource_type=ATTACHMENT)
    )

    assert updated.status == "SUCCESS", updated.reason
    assert updated.physical_id == created.physical_id
    (attachment,) = emulator.attachments.values()
    assert attachment.integration_id == other
    assert updated.data["Id"] == attachment.id
    deleted = function(event("Delete", moved, physical_id=updated.physical_id, resource_type=ATTACHMENT))
    assert deleted.status == "SUCCESS"
    assert emulator.attachments == {}


def test_an_update_of_an_attachment_detached_behind_cloudformations_back_reattaches(
    function: LocalFunction, emulator: Emulator, integration_id: str
) -> None:
    properties = {"IntegrationId": integration_id, "StackId": "my-stack-id"}
    created = function(event("Create", properties, resource_type=ATTACHMENT))
    function(event("Delete", properties, physical_id=created.physical_id, resource_type=ATTACHMENT))

    updated = function(
        event(
            "Update",
            {**properties, "Write": "false"},
            physical_id=created.physical_id,
            resource_type=ATTACHMENT,
        )
    )
    assert updated.status == "SUCCESS", updated.reason
    assert updated.physical_id == created.physical_id  # in place: nothing for a cleanup to remove
    assert emulator.attachments[updated.data["Id"]].write is False


def test_delete_after_a_failed_attach_succeeds_without_calling_spacelift(
    function: LocalFunction, emulator: Emulator, integration_id: str
) -> None:
    failed = function(
        event(
            "Create",
            {"IntegrationId": "01NOSUCHINTEGRATION0000000", "StackId": "my-stack-id"},
            resource_type=ATTACHMENT,
        )
    )
    assert failed.status == "FAILED"
    assert "check that both exist" in failed.reason
    emulator.reset_counters()

    deleted = function(event("Delete", {}, physical_id=failed.physical_id, resource_type=ATTACHMENT))
    assert (deleted.status, deleted.physical_id) == ("SUCCESS", failed.physical_id)
    assert emulator.request_count() == 0


def test_one_read_and_one_write_attachment_per_stack_reaches_the_user(
    function: LocalFunction, emulator: Emulator, integration_id: str
) -> None:
    other = function(event("Create", {"Name": "other", "RoleArn": ROLE_ARN}, logical_id="Other")).physical_id
    function(
        event("Create", {"IntegrationId": integration_id, "StackId": "my-stack-id"}, resource_type=ATTACHMENT)
    )
    response = function(
        event(
            "Create",
            {"IntegrationId": other, "StackId": "my-stack-id", "Write": "false"},
            resource_type=ATTACHMENT,
        )
    )

    assert response.status == "FAILED"
    assert f"Could not attach integration {other} to stack my-stack-id" in response.reason
    assert "read attachment" in response.reason
    assert len(emulator.attachments) == 1


def test_space_inheritance_errors_reach_the_user(function: LocalFunction, emulator: Emulator) -> None:
    emulator.add_space("team-a")
    emulator.add_space("team-b")
    emulator.add_stack("team-b-stack", space="team-b")
    integration = function(
        event("Create", {"Name": "a", "RoleArn": ROLE_ARN, "SpaceId": "team-a"})
    ).physical_id
    response = function(
        event("Create", {"IntegrationId": integration, "StackId": "team-b-stack"}, resource_type=ATTACHMENT)
    )

    assert response.status == "FAILED"
    assert "space" in response.reason and "team-b-stack" in response.reason
    assert emulator.attachments == {}


def test_the_external_id_resource_reads_and_deletes_nothing(
    function: LocalFunction, emulator: Emulator, integration_id: str
) -> None:
    emulator.reset_counters()
    properties = {"IntegrationId": integration_id, "ModuleId": "my-module-id", "Write": "false"}
    response = function(event("Create", properties, resource_type=EXTERNAL_ID))

    assert response.status == "SUCCESS", response.reason
    assert emulator.request_count() == 1
    external_id = f"{ACCOUNT_NAME}@{integration_id}@my-module-id@read"
    assert response.data["ExternalId"] == external_id
    assert response.data["SpaceliftAwsAccountId"] == SPACELIFT_AWS_ACCOUNT
    statement = json.loads(response.data["AssumeRolePolicyStatement"])
    assert statement["Condition"]["StringEquals"]["sts:ExternalId"] == external_id

    deleted = function(
        event("Delete", properties, physical_id=response.physical_id, resource_type=EXTERNAL_ID)
    )
    assert deleted.status == "SUCCESS"
    assert integration_id in emulator.integrations


def test_the_external_id_of_a_missing_integration_fails_clearly(function: LocalFunction) -> None:
    properties = {"IntegrationId": "01NOSUCHINTEGRATION0000000", "StackId": "my-stack-id"}
    response = function(event("Create", properties, resource_type=EXTERNAL_ID))
    assert response.status == "FAILED"
    assert "01NOSUCHINTEGRATION0000000" in response.reason and "not found" in response.reason
