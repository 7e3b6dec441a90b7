"""``AdoptIntegrationId``: a stack takes over an integration made in the UI or by Terraform.

What a user notices: the integration keeps its ID and external IDs and gets the stack's
settings; an integration that does not exist, or that another CloudFormation resource manages,
is refused naming the property, with nothing changed; every Delete gives the integration back
as it was before the adoption, never deletes it; changing the property replaces. The
rollbacks of an adoption are in test_adoption_rollbacks.py.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from localcfn import LocalFunction
from spacelift_cfn.resources.integration import owner_label
from spacelift_emulator import Emulator, IntegrationSettings
from tests.conftest import ACCOUNT_NAME, MADE_IN_UI, ROLE_ARN, STACK_ID, event
from tests.test_rollback_cases import OTHER_STACK_ID, created, delete_for, deleted

#: An integration made in the UI, with settings unlike the stack's.
ORIGINAL = MADE_IN_UI[0]
PROPERTIES: dict[str, Any] = {
    "Name": "my_role",
    "RoleArn": ROLE_ARN,
    "Labels": ["team-infra"],
    "ExternalIdsFor": [{"StackId": "my-stack-id"}],
}
OWNER = owner_label(STACK_ID, "SpaceliftIntegration")


def existing(emulator: Emulator, settings: IntegrationSettings = ORIGINAL) -> str:
    return emulator.add_integration(settings).id


def adopting(integration_id: str, **more: Any) -> dict[str, Any]:
    return {**PROPERTIES, "AdoptIntegrationId": integration_id, **more}


def settings_of(emulator: Emulator, integration_id: str) -> IntegrationSettings:
    """What Spacelift holds for the integration, as its settings."""
    stored = emulator.integrations[integration_id]
    return IntegrationSettings(**{f.name: getattr(stored, f.name) for f in fields(IntegrationSettings)})


@pytest.mark.usefixtures("table")
def test_adopting_keeps_the_id_and_external_ids_and_applies_the_stacks_settings(
    function: LocalFunction, emulator: Emulator
) -> None:
    integration_id = existing(emulator)

    answer = function(event("Create", adopting(integration_id)))

    assert answer.status == "SUCCESS", answer.reason
    assert answer.physical_id == answer.data["Id"] == integration_id
    assert answer.data["ExternalId.my-stack-id"] == f"{ACCOUNT_NAME}@{integration_id}@my-stack-id@write"
    assert list(emulator.integrations) == [integration_id]
    held = settings_of(emulator, integration_id)
    assert (held.name, held.role_arn, held.duration_seconds) == ("my_role", ROLE_ARN, 900)
    assert held.labels == ("team-infra", OWNER)
    assert emulator.request_count("awsIntegrationCreate") == 0


@pytest.mark.usefixtures("table")
def test_deleting_the_stack_gives_the_integration_back_as_it_was(
    function: LocalFunction, emulator: Emulator
) -> None:
    """Even after the stack changed it: the Delete cannot tell a rollback from a removal."""
    integration_id = existing(emulator)
    create = event("Create", adopting(integration_id))
    created(function, create)
    relabelled = adopting(integration_id, Labels=["team-platform"])
    updated = function(
        event("Update", relabelled, old=create["ResourceProperties"], physical_id=integration_id)
    )
    assert (updated.status, updated.physical_id) == ("SUCCESS", integration_id), updated.reason

    deleted(function, event("Delete", relabelled, physical_id=integration_id))

    assert settings_of(emulator, integration_id) == ORIGINAL


@pytest.mark.usefixtures("table")
def test_an_update_with_the_same_id_changes_it_in_place(function: LocalFunction, emulator: Emulator) -> None:
    integration_id = existing(emulator)
    create = event("Create", adopting(integration_id))
    created(function, create)

    longer = adopting(integration_id, DurationSeconds="7200")
    answer = function(event("Update", longer, old=create["ResourceProperties"], physical_id=integration_id))

    assert (answer.status, answer.physical_id) == ("SUCCESS", integration_id), answer.reason
    assert settings_of(emulator, integration_id).duration_seconds == 7200


@pytest.mark.usefixtures("table")
@pytest.mark.parametrize("cleanup", ["succeeded", "rolled-back"])
def test_adopting_another_id_replaces_and_the_delete_gives_back_the_one_left(
    function: LocalFunction, emulator: Emulator, cleanup: str
) -> None:
    """X to Y: the Update answers Y. After a successful stack update CloudFormation deletes X;
    after a failed one it goes back to X and deletes Y. Either is given back, not deleted."""
    emulator.unique_names = False  # old and new carry the template's Name until the cleanup
    first = existing(emulator)
    second = existing(emulator, IntegrationSettings(name="other_legacy", role_arn=ORIGINAL.role_arn))
    create = event("Create", adopting(first))
    created(function, create)

    update = event("Update", adopting(second), old=create["ResourceProperties"], physical_id=first)
    answer = function(update)
    assert (answer.status, answer.physical_id) == ("SUCCESS", second), answer.reason
    assert answer.data["ExternalId.my-stack-id"] == f"{ACCOUNT_NAME}@{second}@my-stack-id@write"

    left, kept = (first, second) if cleanup == "succeeded" else (second, first)
    deleted(function, delete_for(update, left))

    originals = {
        first: ORIGINAL,
        second: IntegrationSettings(name="other_legacy", role_arn=ORIGINAL.role_arn),
    }
    assert settings_of(emulator, left) == originals[left]
    assert OWNER in emulator.integrations[kept].labels
    assert set(emulator.integrations) == {first, second}


@pytest.mark.usefixtures("table")
def test_adopting_in_place_of_a_created_integration_deletes_the_created_one(
    function: LocalFunction, emulator: Emulator
) -> None:
    integration_id = existing(emulator)
    create = event("Create", {**PROPERTIES, "Name": "made_by_the_stack"})
    made = created(function, create)

    update = event("Update", adopting(integration_id), old=create["ResourceProperties"], physical_id=made)
    answer = function(update)
    assert (answer.status, answer.physical_id) == ("SUCCESS", integration_id), answer.reason
    deleted(function, delete_for(update, made))

    assert list(emulator.integrations) == [integration_id]


@pytest.mark.usefixtures("table")
def test_removing_the_property_keeps_the_integration_and_its_delete_still_gives_it_back(
    function: LocalFunction, emulator: Emulator
) -> None:
    integration_id = existing(emulator)
    create = event("Create", adopting(integration_id))
    created(function, create)

    update = event("Update", PROPERTIES, old=create["ResourceProperties"], physical_id=integration_id)
    answer = function(update)
    assert (answer.status, answer.physical_id) == ("SUCCESS", integration_id), answer.reason
    deleted(function, delete_for(update, integration_id))

    assert settings_of(emulator, integration_id) == ORIGINAL


@pytest.mark.usefixtures("table")
def test_an_id_that_names_no_integration_fails_naming_the_property(
    function: LocalFunction, emulator: Emulator
) -> None:
    integration_id = existing(emulator)
    create = event("Create", adopting("01HZZZZZZZZZZZZZZZZZZZZZZZ"))

    answer = function(create)

    assert answer.status == "FAILED"
    assert answer.reason.startswith("Property AdoptIntegrationId: no Spacelift AWS integration has the ID")
    deleted(function, delete_for(create, answer.physical_id))
    assert list(emulator.integrations) == [integration_id]
    assert settings_of(emulator, integration_id) == ORIGINAL


@pytest.mark.usefixtures("table")
def test_a_malformed_id_fails_naming_the_property(function: LocalFunction, emulator: Emulator) -> None:
    answer = function(event("Create", adopting("my_role")))

    assert answer.status == "FAILED"
    assert answer.reason.startswith("Property AdoptIntegrationId: expected the 26-character ID")
    assert emulator.integrations == {}


@pytest.mark.usefixtures("table")
@pytest.mark.parametrize("owner", ["same-stack", "other-stack"])
def test_an_integration_another_resource_manages_is_refused_unchanged(
    function: LocalFunction, emulator: Emulator, owner: str
) -> None:
    stack_id = STACK_ID if owner == "same-stack" else OTHER_STACK_ID
    managed = created(
        function, event("Create", {**PROPERTIES, "Name": "managed"}, logical_id="Other", stack_id=stack_id)
    )
    before = settings_of(emulator, managed)

    answer = function(event("Create", adopting(managed)))

    assert answer.status == "FAILED"
    assert answer.reason.startswith("Property AdoptIntegrationId:")
    assert owner_label(stack_id, "Other") in answer.reason
    assert settings_of(emulator, managed) == before


@pytest.mark.usefixtures("table")
def test_a_retained_integration_is_adopted_by_another_stack_once_its_label_is_removed(
    function: LocalFunction, emulator: Emulator
) -> None:
    """DeletionPolicy: Retain: CloudFormation sends no Delete, so the integration keeps the stack's
    settings and its owner label, which refuses other stacks until removed in Spacelift."""
    integration_id = existing(emulator)
    created(function, event("Create", adopting(integration_id)))
    retained = settings_of(emulator, integration_id)
    again = event("Create", adopting(integration_id), stack_id=OTHER_STACK_ID)

    refused = function(again)
    assert refused.status == "FAILED"
    assert OWNER in refused.reason
    released = IntegrationSettings(**{**vars(retained), "labels": ("team-infra",)})
    emulator.edit_integration(integration_id, released)
    answer = function(event("Create", adopting(integration_id), stack_id=OTHER_STACK_ID))
    assert (answer.status, answer.physical_id) == ("SUCCESS", integration_id), answer.reason
    deleted(function, delete_for(again, integration_id))

    assert settings_of(emulator, integration_id) == released


@pytest.mark.usefixtures("table")
def test_the_same_resource_adopts_again_what_it_retained(function: LocalFunction, emulator: Emulator) -> None:
    integration_id = existing(emulator)
    created(function, event("Create", adopting(integration_id)))

    again = event("Create", adopting(integration_id, Labels=["team-platform"]))
    answer = function(again)

    assert (answer.status, answer.physical_id) == ("SUCCESS", integration_id), answer.reason
    assert emulator.integrations[integration_id].labels == ("team-platform", OWNER)
    deleted(function, delete_for(again, integration_id))
    assert settings_of(emulator, integration_id) == ORIGINAL  # as before the first adoption


def test_without_the_table_adoption_fails_naming_the_property(
    function: LocalFunction, emulator: Emulator
) -> None:
    integration_id = existing(emulator)

    answer = function(event("Create", adopting(integration_id)))

    assert answer.status == "FAILED"
    assert answer.reason.startswith("Property AdoptIntegrationId: needs the provider's DynamoDB table")
    assert settings_of(emulator, integration_id) == ORIGINAL


@pytest.mark.usefixtures("table")
def test_adoption_costs_a_read_and_an_update(function: LocalFunction, emulator: Emulator) -> None:
    function(event("Create", {"Name": "warm-up", "RoleArn": ROLE_ARN}, logical_id="WarmUp"))
    integration_id = existing(emulator)
    emulator.reset_counters()

    created(function, event("Create", adopting(integration_id)))

    assert emulator.request_count() == 2
    assert emulator.request_count("awsIntegration") == emulator.request_count("awsIntegrationUpdate") == 1


@pytest.mark.usefixtures("table")
def test_a_delete_that_cannot_read_the_record_gives_back_instead_of_deleting(
    function: LocalFunction, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DynamoDB fails during a Delete: whether the integration was adopted cannot be told, and
    deleting cannot be undone, so it stays, without the owner label."""
    from spacelift_cfn.ownership import Ledger

    create = event("Create", PROPERTIES)
    integration_id = created(function, create)

    def unreadable(*_: object, **__: object) -> dict[str, Any]:
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(Ledger, "_get", unreadable)
    deleted(function, delete_for(create, integration_id))

    assert emulator.integrations[integration_id].labels == ("team-infra",)


@pytest.mark.usefixtures("table")
def test_the_same_resource_adopting_again_what_was_released_keeps_the_new_settings(
    function: LocalFunction, emulator: Emulator
) -> None:
    """Retained, then released in Spacelift (label removed) and changed there: adopting it again
    records the settings it has now, and a Delete gives those back, not the older ones."""
    integration_id = existing(emulator)
    created(function, event("Create", adopting(integration_id)))
    changed = IntegrationSettings(name="renamed_in_the_ui", role_arn=ORIGINAL.role_arn, labels=("team-data",))
    emulator.edit_integration(integration_id, changed)
    again = event("Create", adopting(integration_id))
    created(function, again)

    deleted(function, delete_for(again, integration_id))

    assert settings_of(emulator, integration_id) == changed
