"""``Custom::SpaceliftAwsIntegrationLookup``: an integration the stack does not manage, read by name.

What a user notices: the ID, settings and external IDs of the one integration with the name,
under the attribute names the integration resource uses, in one Spacelift request; a clear
reason, naming ``Name``, when no integration or several have it; and nothing changed in
Spacelift, ever.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcfn import LocalFunction
from spacelift_emulator import Emulator, IntegrationSettings
from spacelift_emulator.state import State
from tests.conftest import ACCOUNT_NAME, SPACELIFT_AWS_ACCOUNT, event

LOOKUP = "Custom::SpaceliftAwsIntegrationLookup"
SHARED = IntegrationSettings(
    name="shared_role", role_arn="arn:aws:iam::123456789012:role/shared_role", duration_seconds=3600
)


def lookup(request_type: str, properties: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return event(request_type, properties, resource_type=LOOKUP, logical_id="SharedIntegration", **kwargs)


@pytest.mark.parametrize("not_found_style", ["null", "error"])
def test_finds_the_integration_and_its_external_ids(
    function: LocalFunction, emulator: Emulator, not_found_style: str
) -> None:
    emulator.faults.not_found_style = not_found_style  # type: ignore[assignment]
    integration_id = emulator.add_integration(SHARED).id
    emulator.add_integration(IntegrationSettings(name="another_role", role_arn=SHARED.role_arn))
    before = emulator.integrations
    properties = {
        "Name": "shared_role",
        "ExternalIdsFor": [{"StackId": "my-stack-id"}, {"ModuleId": "my-module-id", "Write": "false"}],
    }

    answer = function(lookup("Create", properties))

    assert answer.status == "SUCCESS", answer.reason
    assert answer.physical_id == answer.data["Id"] == answer.data["IntegrationId"] == integration_id
    assert answer.data["Name"] == "shared_role"
    assert answer.data["RoleArn"] == SHARED.role_arn
    assert answer.data["DurationSeconds"] == "3600"
    assert answer.data["SpaceId"] == "root"
    assert answer.data["SpaceliftAwsAccountId"] == SPACELIFT_AWS_ACCOUNT
    assert answer.data["ExternalId.my-stack-id"] == f"{ACCOUNT_NAME}@{integration_id}@my-stack-id@write"
    assert answer.data["ExternalId.my-module-id"] == f"{ACCOUNT_NAME}@{integration_id}@my-module-id@read"
    policy = json.loads(answer.data["AssumeRolePolicyDocument"])
    conditions = [s["Condition"]["StringEquals"]["sts:ExternalId"] for s in policy["Statement"]]
    assert conditions == [answer.data["ExternalId.my-stack-id"], answer.data["ExternalId.my-module-id"]]
    assert emulator.integrations == before


def test_a_lookup_is_one_request(function: LocalFunction, emulator: Emulator) -> None:
    emulator.add_integration(SHARED)
    function(lookup("Create", {"Name": "shared_role"}))  # a warm container: token cached
    emulator.reset_counters()

    answer = function(
        lookup("Create", {"Name": "shared_role", "ExternalIdsFor": [{"StackId": "my-stack-id"}]})
    )

    assert answer.status == "SUCCESS", answer.reason
    assert emulator.request_count() == 1


@pytest.mark.parametrize("not_found_style", ["null", "error"])
def test_no_integration_with_the_name_fails_naming_the_property(
    function: LocalFunction, emulator: Emulator, not_found_style: str
) -> None:
    emulator.faults.not_found_style = not_found_style  # type: ignore[assignment]
    emulator.add_integration(SHARED)

    answer = function(lookup("Create", {"Name": "Shared_Role"}))

    assert answer.status == "FAILED"
    assert answer.reason.startswith("Property Name: no Spacelift AWS integration is named 'Shared_Role'")


def test_several_integrations_with_the_name_fail_listing_them(
    function: LocalFunction, emulator: Emulator
) -> None:
    emulator.unique_names = False
    ids = sorted(emulator.add_integration(SHARED).id for _ in range(2))

    answer = function(lookup("Create", {"Name": "shared_role"}))

    assert answer.status == "FAILED"
    assert answer.reason.startswith("Property Name: 2 integrations are named 'shared_role'")
    assert all(integration_id in answer.reason for integration_id in ids)
    assert "names are not unique in Spacelift" in answer.reason


def test_an_unknown_stack_in_external_ids_for_fails_naming_it(
    function: LocalFunction, emulator: Emulator
) -> None:
    emulator.add_integration(SHARED)

    answer = function(
        lookup("Create", {"Name": "shared_role", "ExternalIdsFor": [{"StackId": "no-such-stack"}]})
    )

    assert answer.status == "FAILED"
    assert "no-such-stack" in answer.reason


def test_a_by_name_answer_for_another_integration_is_not_taken(
    function: LocalFunction, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the by-name query match loosely (case-insensitively, say), the one integration the
    list shows under the exact name is read by its ID instead."""
    other = emulator.add_integration(IntegrationSettings(name="SHARED_ROLE", role_arn=SHARED.role_arn)).id
    emulator.unique_names = False
    wanted = emulator.add_integration(SHARED).id
    monkeypatch.setattr(State, "integration_by_name", lambda self, name: self.integration(other))

    answer = function(
        lookup("Create", {"Name": "shared_role", "ExternalIdsFor": [{"StackId": "my-stack-id"}]})
    )

    assert (answer.status, answer.physical_id) == ("SUCCESS", wanted), answer.reason
    assert answer.data["ExternalId.my-stack-id"] == f"{ACCOUNT_NAME}@{wanted}@my-stack-id@write"


def test_an_update_to_another_name_answers_the_other_integration(
    function: LocalFunction, emulator: Emulator
) -> None:
    first = emulator.add_integration(SHARED).id
    second = emulator.add_integration(IntegrationSettings(name="other_role", role_arn=SHARED.role_arn)).id
    assert function(lookup("Create", {"Name": "shared_role"})).physical_id == first

    answer = function(
        lookup("Update", {"Name": "other_role"}, old={"Name": "shared_role"}, physical_id=first)
    )

    assert (answer.status, answer.physical_id) == ("SUCCESS", second), answer.reason


def test_delete_leaves_the_integration_alone(function: LocalFunction, emulator: Emulator) -> None:
    integration_id = emulator.add_integration(SHARED).id
    before = emulator.integrations
    emulator.reset_counters()

    answer = function(lookup("Delete", {"Name": "shared_role"}, physical_id=integration_id))

    assert (answer.status, answer.physical_id) == ("SUCCESS", integration_id)
    assert emulator.integrations == before
    assert emulator.request_count("awsIntegrationDelete") == 0


def test_a_missing_name_fails_naming_it(function: LocalFunction, emulator: Emulator) -> None:
    answer = function(lookup("Create", {"ExternalIdsFor": []}))

    assert answer.status == "FAILED"
    assert answer.reason.startswith("Property Name: is required")
