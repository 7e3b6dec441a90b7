"""Custom::SpaceliftAwsIntegration driven as CloudFormation drives it, against the emulator over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcfn import LocalFunction, stringify
from spacelift_emulator import Emulator
from tests.conftest import ACCOUNT_NAME, ROLE_ARN, SPACELIFT_AWS_ACCOUNT, event

# The example, as CloudFormation sends it: every scalar a string.
EXAMPLE: dict[str, Any] = stringify(
    {
        "Name": "my_role",
        "RoleArn": ROLE_ARN,
        "DurationSeconds": 3600,
        "Labels": ["team-infra"],
        "ExternalIdsFor": [{"StackId": "my-stack-id"}, {"ModuleId": "my-module-id", "Write": False}],
    }
)
CHANGED: dict[str, Any] = {
    **EXAMPLE,
    "Name": "my_role_renamed",
    "Labels": ["team-infra", "prod"],
    "ExternalIdsFor": [{"StackId": "my-stack-id", "Write": "false"}, {"StackId": "my-other-stack-id"}],
}


def external_id(integration_id: str, project: str, access: str) -> str:
    return f"{ACCOUNT_NAME}@{integration_id}@{project}@{access}"


def test_create_returns_the_integration_and_its_external_ids(
    function: LocalFunction, emulator: Emulator
) -> None:
    response = function(event("Create", EXAMPLE))

    assert response.status == "SUCCESS", response.reason
    integration_id = response.physical_id
    stored = emulator.integrations[integration_id]
    assert (stored.name, stored.role_arn, stored.duration_seconds) == ("my_role", ROLE_ARN, 3600)
    assert "team-infra" in stored.labels
    data = response.data
    assert data["Id"] == integration_id
    assert data["Name"] == "my_role"
    assert data["RoleArn"] == ROLE_ARN
    assert data["SpaceId"] == "root"  # chosen by the server
    assert data["SpaceliftAwsAccountId"] == SPACELIFT_AWS_ACCOUNT
    assert data["ExternalId.my-stack-id"] == external_id(integration_id, "my-stack-id", "write")
    assert data["ExternalId.my-module-id"] == external_id(integration_id, "my-module-id", "read")
    policy = json.loads(data["AssumeRolePolicyDocument"])
    assert policy["Version"] == "2012-10-17"
    conditions = [s["Condition"]["StringEquals"]["sts:ExternalId"] for s in policy["Statement"]]
    assert conditions == [data["ExternalId.my-stack-id"], data["ExternalId.my-module-id"]]
    assert all(isinstance(value, str) for value in response.body["Data"].values())
    assert len(response.raw) <= 4096
    assert response.headers.get("content-type", "") == ""


def test_full_lifecycle_keeps_the_physical_id(function: LocalFunction, emulator: Emulator) -> None:
    created = function(event("Create", EXAMPLE))
    integration_id = created.physical_id

    updated = function(event("Update", CHANGED, physical_id=integration_id, old=EXAMPLE))
    assert updated.status == "SUCCESS", updated.reason
    assert updated.physical_id == integration_id
    stored = emulator.integrations[integration_id]
    assert stored.name == "my_role_renamed"
    assert {"team-infra", "prod"} <= set(stored.labels)
    assert updated.data["ExternalId.my-stack-id"] == external_id(integration_id, "my-stack-id", "read")
    assert updated.data["ExternalId.my-other-stack-id"] == external_id(
        integration_id, "my-other-stack-id", "write"
    )
    assert "ExternalId.my-module-id" not in updated.data

    rollback = function(event("Update", EXAMPLE, physical_id=integration_id, old=CHANGED))
    assert (rollback.status, rollback.physical_id) == ("SUCCESS", integration_id)
    assert emulator.integrations[integration_id].name == "my_role"
    assert rollback.data == created.data

    deleted = function(event("Delete", EXAMPLE, physical_id=integration_id))
    assert (deleted.status, deleted.physical_id) == ("SUCCESS", integration_id)
    assert integration_id not in emulator.integrations

    again = function(event("Delete", EXAMPLE, physical_id=integration_id))
    assert (again.status, again.physical_id) == ("SUCCESS", integration_id)


def test_update_recreates_an_integration_deleted_behind_cloudformations_back(
    function: LocalFunction, emulator: Emulator
) -> None:
    created = function(event("Create", EXAMPLE))
    function(event("Delete", EXAMPLE, physical_id=created.physical_id))

    updated = function(event("Update", CHANGED, physical_id=created.physical_id, old=EXAMPLE))

    assert updated.status == "SUCCESS", updated.reason
    assert updated.physical_id != created.physical_id
    assert emulator.integrations[updated.physical_id].name == "my_role_renamed"


def test_every_field_changes_in_place(function: LocalFunction, emulator: Emulator) -> None:
    emulator.add_space("team-space")
    created = function(event("Create", {"Name": "x", "RoleArn": ROLE_ARN}))
    changed = stringify(
        {
            "Name": "y",
            "RoleArn": "arn:aws-cn:iam::123456789012:role/path/other",
            "DurationSeconds": 43200,
            "ExternalId": "custom-external-id",
            "GenerateCredentialsInWorker": True,
            "Labels": ["a", "autoattach:b"],
            "SpaceId": "team-space",
            "Region": "eu-central-1",
            "AutoattachEnabled": True,
            "TagAssumeRole": True,
        }
    )
    updated = function(event("Update", changed, physical_id=created.physical_id))

    assert (updated.status, updated.physical_id) == ("SUCCESS", created.physical_id), updated.reason
    stored = emulator.integrations[created.physical_id]
    assert (stored.name, stored.role_arn, stored.duration_seconds) == ("y", changed["RoleArn"], 43200)
    assert stored.external_id == "custom-external-id"
    assert stored.generate_credentials_in_worker and stored.autoattach_enabled and stored.tag_assume_role
    assert (stored.space, stored.region) == ("team-space", "eu-central-1")
    assert updated.data["SpaceId"] == "team-space"


def test_warm_create_update_delete_cost_one_request_each(function: LocalFunction, emulator: Emulator) -> None:
    function(event("Create", {"Name": "warmup", "RoleArn": ROLE_ARN}))  # token + account lookup
    emulator.reset_counters()

    created = function(event("Create", EXAMPLE))
    assert emulator.request_count() == 1
    function(event("Update", CHANGED, physical_id=created.physical_id, old=EXAMPLE))
    assert emulator.request_count() == 2
    function(event("Delete", CHANGED, physical_id=created.physical_id))
    assert emulator.request_count() == 3


def test_cold_create_adds_only_the_token_exchange_and_the_account_lookup(
    function: LocalFunction, emulator: Emulator
) -> None:
    emulator.reset_counters()
    function(event("Create", EXAMPLE))
    assert emulator.token_exchanges == 1
    assert emulator.request_count() == 3


def test_an_unknown_stack_in_external_ids_fails_and_leaves_nothing(
    function: LocalFunction, emulator: Emulator
) -> None:
    properties = {**EXAMPLE, "ExternalIdsFor": [{"StackId": "no-such-stack"}]}
    response = function(event("Create", properties))

    assert response.status == "FAILED"
    assert "no-such-stack" in response.reason
    assert response.physical_id.startswith("spacelift-cfn:create-failed:")
    assert emulator.integrations == {}


def test_external_ids_that_cannot_fit_fail_before_anything_is_created(
    function: LocalFunction, emulator: Emulator
) -> None:
    stacks = [f"a-rather-long-stack-identifier-{index:03d}" for index in range(14)]
    for stack in stacks:
        emulator.add_stack(stack)
    response = function(event("Create", {**EXAMPLE, "ExternalIdsFor": [{"StackId": s} for s in stacks]}))

    assert response.status == "FAILED"
    assert "ExternalIdsFor" in response.reason and "4096" in response.reason
    assert emulator.integrations == {}
    assert len(response.raw) <= 4096


def test_as_many_external_ids_as_fit_succeed(function: LocalFunction, emulator: Emulator) -> None:
    stacks = [f"stack-{index}" for index in range(6)]
    for stack in stacks:
        emulator.add_stack(stack)
    response = function(event("Create", {**EXAMPLE, "ExternalIdsFor": [{"StackId": s} for s in stacks]}))

    assert response.status == "SUCCESS", response.reason
    assert len(response.raw) <= 4096
    assert len(json.loads(response.data["AssumeRolePolicyDocument"])["Statement"]) == 6


@pytest.mark.parametrize("style", ["null", "error"])
def test_delete_of_a_missing_integration_succeeds_in_both_not_found_styles(
    function: LocalFunction, emulator: Emulator, style: str
) -> None:
    emulator.faults.not_found_style = style  # type: ignore[assignment]
    response = function(event("Delete", EXAMPLE, physical_id="01JD8Z6S3M1Q2W3E4R5T6Y7U8K"))
    assert (response.status, response.physical_id) == ("SUCCESS", "01JD8Z6S3M1Q2W3E4R5T6Y7U8K")


def test_delete_after_a_failed_create_calls_nothing(function: LocalFunction, emulator: Emulator) -> None:
    failed = function(event("Create", {"Name": "my_role"}))
    assert failed.status == "FAILED" and failed.physical_id
    emulator.reset_counters()

    response = function(event("Delete", {"Name": "my_role"}, physical_id=failed.physical_id))

    assert (response.status, response.physical_id) == ("SUCCESS", failed.physical_id)
    assert emulator.request_count() == 0
