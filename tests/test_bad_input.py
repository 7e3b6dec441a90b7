"""Bad input gets FAILED with a reason naming the property, and nothing is created in Spacelift."""

from __future__ import annotations

from typing import Any

import pytest

from localcfn import LocalFunction
from spacelift_emulator import Emulator
from tests.conftest import ATTACHMENT, EXTERNAL_ID, ROLE_ARN, event

VALID: dict[str, Any] = {"Name": "my_role", "RoleArn": ROLE_ARN}

INTEGRATION_CASES = [
    ({"RoleArn": ROLE_ARN}, "Name", "required"),
    ({"Name": "my_role"}, "RoleArn", "required"),
    ({**VALID, "Name": ""}, "Name", "empty"),
    ({**VALID, "Name": {"nested": "map"}}, "Name", "string"),
    ({**VALID, "RoleArn": "arn:aws:iam::123456789012:user/bob"}, "RoleArn", "IAM role ARN"),
    ({**VALID, "RoleArn": "my_role"}, "RoleArn", "IAM role ARN"),
    ({**VALID, "RoleARN": ROLE_ARN}, "RoleARN", "unknown property"),
    ({**VALID, "DurationSeconds": "60"}, "DurationSeconds", "between 900 and 43200"),
    ({**VALID, "DurationSeconds": "43201"}, "DurationSeconds", "between 900 and 43200"),
    ({**VALID, "DurationSeconds": "an hour"}, "DurationSeconds", "whole number"),
    ({**VALID, "DurationSeconds": "3600.5"}, "DurationSeconds", "whole number"),
    ({**VALID, "GenerateCredentialsInWorker": "yes"}, "GenerateCredentialsInWorker", "true or false"),
    ({**VALID, "AutoattachEnabled": "1"}, "AutoattachEnabled", "true or false"),
    ({**VALID, "TagAssumeRole": ["true"]}, "TagAssumeRole", "true or false"),
    ({**VALID, "Labels": "team-infra"}, "Labels", "list"),
    ({**VALID, "Labels": ["ok", ""]}, "Labels", "empty"),
    ({**VALID, "Labels": [["nested"]]}, "Labels[0]", "string"),
    ({**VALID, "SpaceId": ""}, "SpaceId", "empty"),
    ({**VALID, "Region": "Ireland"}, "Region", "AWS region"),
    ({**VALID, "ExternalIdsFor": {"StackId": "a"}}, "ExternalIdsFor", "list"),
    ({**VALID, "ExternalIdsFor": [{}]}, "ExternalIdsFor[0].StackId/ModuleId", "exactly one"),
    ({**VALID, "ExternalIdsFor": [{"StackId": "a", "ModuleId": "b"}]}, "ExternalIdsFor[0]", "exactly one"),
    (
        {**VALID, "ExternalIdsFor": [{"StackId": "a", "Read": "false", "Write": "false"}]},
        "ExternalIdsFor[0].Read/Write",
        "at least one",
    ),
    ({**VALID, "ExternalIdsFor": [{"StackId": "a", "Stack": "b"}]}, "ExternalIdsFor[0].Stack", "unknown"),
    ({**VALID, "ExternalIdsFor": [{"StackId": "a"}, {"StackId": "a"}]}, "ExternalIdsFor[1]", "twice"),
    (
        {**VALID, "ExternalIdsFor": [{"StackId": "a", "Write": "nope"}]},
        "ExternalIdsFor[0].Write",
        "true or false",
    ),
]


@pytest.mark.parametrize(("properties", "named", "expected"), INTEGRATION_CASES)
def test_bad_integration_properties_fail_with_a_reason_naming_the_property(
    function: LocalFunction, emulator: Emulator, properties: dict[str, Any], named: str, expected: str
) -> None:
    response = function(event("Create", properties))

    assert response.status == "FAILED"
    assert f"Property {named}" in response.reason
    assert expected in response.reason
    assert response.physical_id.startswith("spacelift-cfn:create-failed:")
    assert emulator.integrations == {}
    assert emulator.request_count("awsIntegrationCreate") == 0


def test_a_bad_update_fails_keeps_the_physical_id_and_changes_nothing(
    function: LocalFunction, emulator: Emulator
) -> None:
    created = function(event("Create", VALID))
    response = function(
        event("Update", {**VALID, "Name": "new", "RoleARN": "x"}, physical_id=created.physical_id)
    )

    assert (response.status, response.physical_id) == ("FAILED", created.physical_id)
    assert "RoleARN" in response.reason
    assert emulator.integrations[created.physical_id].name == "my_role"


@pytest.mark.parametrize(
    ("resource_type", "properties", "named"),
    [
        (ATTACHMENT, {"StackId": "my-stack-id"}, "IntegrationId"),
        (ATTACHMENT, {"IntegrationId": "X", "StackId": "s", "ModuleId": "m"}, "StackId/ModuleId"),
        (ATTACHMENT, {"IntegrationId": "X", "StackId": "s", "Read": "false", "Write": "false"}, "Read/Write"),
        (ATTACHMENT, {"IntegrationId": "X", "StackId": "s", "Write": "maybe"}, "Write"),
        (ATTACHMENT, {"IntegrationId": "X", "StackID": "s"}, "StackID"),
        (EXTERNAL_ID, {"IntegrationId": "X"}, "StackId/ModuleId"),
        (EXTERNAL_ID, {"IntegrationId": "X", "ModuleId": ""}, "ModuleId"),
    ],
)
def test_bad_attachment_and_external_id_properties_fail_naming_the_property(
    function: LocalFunction, emulator: Emulator, resource_type: str, properties: dict[str, Any], named: str
) -> None:
    response = function(event("Create", properties, resource_type=resource_type))

    assert response.status == "FAILED"
    assert f"Property {named}" in response.reason
    assert emulator.attachments == {}
    assert emulator.request_count() == 0


def test_native_types_are_accepted_as_well_as_strings(function: LocalFunction, emulator: Emulator) -> None:
    properties = {**VALID, "DurationSeconds": 1800, "GenerateCredentialsInWorker": True, "Labels": [7]}
    response = function(event("Create", properties))

    assert response.status == "SUCCESS", response.reason
    stored = emulator.integrations[response.physical_id]
    assert (stored.duration_seconds, stored.generate_credentials_in_worker) == (1800, True)
    assert "7" in stored.labels


def test_service_timeout_is_tolerated(function: LocalFunction) -> None:
    assert function(event("Create", {**VALID, "ServiceTimeout": "150"})).status == "SUCCESS"


def test_an_unknown_resource_type_fails_and_its_delete_succeeds(
    function: LocalFunction, emulator: Emulator
) -> None:
    created = function(event("Create", VALID, resource_type="Custom::SpaceliftStack"))
    assert created.status == "FAILED"
    assert "Custom::SpaceliftStack" in created.reason and "Custom::SpaceliftAwsIntegration" in created.reason

    deleted = function(
        event("Delete", VALID, resource_type="Custom::SpaceliftStack", physical_id=created.physical_id)
    )
    assert deleted.status == "SUCCESS"
    assert emulator.request_count() == 0


def test_a_delete_with_malformed_old_properties_still_succeeds(
    function: LocalFunction, emulator: Emulator
) -> None:
    created = function(event("Create", VALID))
    response = function(
        event("Delete", {"Name": ["old", "shape"], "Extra": "1"}, physical_id=created.physical_id)
    )

    assert response.status == "SUCCESS"
    assert emulator.integrations == {}
