"""The "Update requires" column of every reference page is what an Update does.

For each declared property of each resource type, an Update that changes only that property
runs through the real handler: a property declared *Replacement* must answer a new
PhysicalResourceId (CloudFormation then deletes the old one), one declared *No interruption*
the same. Every declared property needs a change below, so a new one cannot go unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from localcfn import LocalFunction
from spacelift_cfn.properties import NO_INTERRUPTION, REPLACEMENT, specs
from spacelift_cfn.resources.attachment import AttachmentProperties
from spacelift_cfn.resources.external_id import ExternalIdProperties
from spacelift_cfn.resources.integration import IntegrationProperties
from spacelift_cfn.resources.lookup import RESOURCE_TYPE as LOOKUP
from spacelift_cfn.resources.lookup import LookupProperties
from spacelift_emulator import Emulator, IntegrationSettings
from tests.conftest import ATTACHMENT, EXTERNAL_ID, INTEGRATION, ROLE_ARN, event

pytestmark = pytest.mark.usefixtures("table")  # adoption needs it; deployed, it is always there


@dataclass(frozen=True)
class World:
    """What the samples refer to: integrations made by the stack and one made in the UI."""

    first: str  # made by the stack, named my_role
    second: str  # made by the stack, named other_role
    outside: str  # made in the UI


Change = Callable[[dict[str, Any], World], dict[str, Any]]


def setting(name: str, value: Any) -> Change:
    return lambda properties, _: {**properties, name: value}


def switch_to_module(properties: dict[str, Any], _: World) -> dict[str, Any]:
    return {key: value for key, value in properties.items() if key != "StackId"} | {
        "ModuleId": "my-module-id"
    }


TARGET_CHANGES: dict[str, Change] = {
    "StackId": setting("StackId", "my-other-stack-id"),
    "ModuleId": switch_to_module,
    "Read": setting("Read", "false"),
    "Write": setting("Write", "false"),
    "IntegrationId": lambda properties, world: {**properties, "IntegrationId": world.second},
}


@dataclass(frozen=True)
class Resource:
    resource_type: str
    properties: type[Any]
    base: Callable[[World], dict[str, Any]]
    changes: dict[str, Change]


RESOURCES = [
    Resource(
        INTEGRATION,
        IntegrationProperties,
        lambda _: {"Name": "subject", "RoleArn": ROLE_ARN, "ExternalIdsFor": [{"StackId": "my-stack-id"}]},
        {
            "Name": setting("Name", "subject_renamed"),
            "RoleArn": setting("RoleArn", "arn:aws:iam::123456789012:role/other"),
            "DurationSeconds": setting("DurationSeconds", "3600"),
            "ExternalId": setting("ExternalId", "custom-external-id"),
            "GenerateCredentialsInWorker": setting("GenerateCredentialsInWorker", "true"),
            "Labels": setting("Labels", ["team"]),
            "SpaceId": setting("SpaceId", "team-space"),
            "Region": setting("Region", "eu-west-1"),
            "AutoattachEnabled": setting("AutoattachEnabled", "true"),
            "TagAssumeRole": setting("TagAssumeRole", "true"),
            "ExternalIdsFor": setting("ExternalIdsFor", [{"ModuleId": "my-module-id"}]),
            "AdoptIntegrationId": lambda properties, world: {
                **properties,
                "AdoptIntegrationId": world.outside,
            },
        },
    ),
    Resource(
        ATTACHMENT,
        AttachmentProperties,
        lambda world: {"IntegrationId": world.first, "StackId": "my-stack-id"},
        TARGET_CHANGES,
    ),
    Resource(
        EXTERNAL_ID,
        ExternalIdProperties,
        lambda world: {"IntegrationId": world.first, "StackId": "my-stack-id"},
        TARGET_CHANGES,
    ),
    Resource(
        LOOKUP,
        LookupProperties,
        lambda _: {"Name": "my_role"},
        {
            "Name": setting("Name", "other_role"),
            "ExternalIdsFor": setting("ExternalIdsFor", [{"StackId": "my-stack-id"}]),
        },
    ),
]
CASES = [
    pytest.param(resource, spec.name, spec.update, id=f"{resource.resource_type.split('::')[1]}-{spec.name}")
    for resource in RESOURCES
    for _, spec in specs(resource.properties)
]


@pytest.fixture
def world(function: LocalFunction, emulator: Emulator) -> World:
    emulator.add_space("team-space")
    emulator.unique_names = False  # a replaced integration and its successor share a Name until the cleanup

    def made(name: str, logical_id: str) -> str:
        answer = function(event("Create", {"Name": name, "RoleArn": ROLE_ARN}, logical_id=logical_id))
        assert answer.status == "SUCCESS", answer.reason
        return answer.physical_id

    outside = emulator.add_integration(IntegrationSettings(name="legacy", role_arn=ROLE_ARN)).id
    return World(made("my_role", "First"), made("other_role", "Second"), outside)


def test_every_declared_property_has_a_change() -> None:
    for resource in RESOURCES:
        declared = {spec.name for _, spec in specs(resource.properties)}
        assert declared == set(resource.changes), resource.resource_type


def test_every_declaration_is_a_cloudformation_value() -> None:
    for resource in RESOURCES:
        for _, spec in specs(resource.properties):
            assert spec.update in (NO_INTERRUPTION, REPLACEMENT), f"{resource.resource_type} {spec.name}"


@pytest.mark.parametrize(("resource", "name", "declared"), CASES)
def test_an_update_changing_one_property_does_what_the_page_says(
    function: LocalFunction, world: World, resource: Resource, name: str, declared: str
) -> None:
    base = resource.base(world)
    changed = resource.changes[name](base, world)
    assert changed != base
    kind = resource.resource_type
    created = function(event("Create", base, resource_type=kind, logical_id="Subject"))
    assert created.status == "SUCCESS", created.reason

    update = event(
        "Update", changed, old=base, physical_id=created.physical_id, resource_type=kind, logical_id="Subject"
    )
    updated = function(update)

    assert updated.status == "SUCCESS", updated.reason
    replaced = updated.physical_id != created.physical_id
    assert replaced == (declared == REPLACEMENT), f"{name}: declared {declared}, but replaced={replaced}"
