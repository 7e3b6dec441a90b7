"""Every sample event in events/ goes through the real handler.

The samples carry placeholder IDs; the integration and attachment they name
are created first and the placeholders replaced, so Updates and Deletes act
on real objects.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from localcfn import LocalFunction
from spacelift_cfn.resources.lookup import RESOURCE_TYPE as LOOKUP
from spacelift_emulator import Emulator
from tests.conftest import ATTACHMENT, INTEGRATION, ROLE_ARN, event

EVENTS = Path(__file__).parent.parent / "events"
INTEGRATION_PLACEHOLDER = "01JD8Z6S3M1Q2W3E4R5T6Y7U8K"
ATTACHMENT_PLACEHOLDER = "01JD8Z9B7C6V5X4Z3A2S1D0F9G"

EXPECTED = {
    "integration-create.json": ("SUCCESS", "Spacelift"),
    "integration-update.json": ("SUCCESS", "Spacelift"),
    "integration-update-rollback.json": ("SUCCESS", "Spacelift"),
    "integration-delete.json": ("SUCCESS", "gone"),
    "integration-delete-after-failed-create.json": ("SUCCESS", "untouched"),
    "integration-create-invalid.json": ("FAILED", "untouched"),
    "attachment-create.json": ("SUCCESS", "attached"),
    "attachment-create-module.json": ("SUCCESS", "attached"),
    "attachment-update-flip-write.json": ("SUCCESS", "attached"),
    "attachment-update-change-stack.json": ("SUCCESS", "attached"),
    "attachment-delete.json": ("SUCCESS", "detached"),
    "external-id-create.json": ("SUCCESS", "untouched"),
    "external-id-delete.json": ("SUCCESS", "untouched"),
    "integration-create-adopt.json": ("SUCCESS", "Spacelift"),
    "integration-delete-adopted.json": ("SUCCESS", "given back"),
    "lookup-create.json": ("SUCCESS", "untouched"),
    "lookup-delete.json": ("SUCCESS", "untouched"),
}


def test_every_sample_event_is_covered() -> None:
    assert sorted(EXPECTED) == sorted(path.name for path in EVENTS.glob("*.json"))


def load(name: str, integration_id: str, attachment_id: str) -> dict[str, Any]:
    text = (EVENTS / name).read_text()
    text = text.replace(INTEGRATION_PLACEHOLDER, integration_id).replace(
        ATTACHMENT_PLACEHOLDER, attachment_id
    )
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def scalars_are_strings(value: Any) -> bool:
    if isinstance(value, dict):
        return all(scalars_are_strings(item) for item in value.values())
    if isinstance(value, list):
        return all(scalars_are_strings(item) for item in value)
    return isinstance(value, str)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_event(
    name: str, function: LocalFunction, emulator: Emulator, request: pytest.FixtureRequest
) -> None:
    raw = json.loads((EVENTS / name).read_text())
    if "AdoptIntegrationId" in raw["ResourceProperties"]:
        request.getfixturevalue("table")  # adoption keeps the integration's settings in it
    # A lookup's sample names the integration it finds: the one made here.
    made = raw["ResourceProperties"]["Name"] if raw["ResourceType"] == LOOKUP else "made-before-the-sample"
    integration = function(event("Create", {"Name": made, "RoleArn": ROLE_ARN}))
    attachment_id = "never-attached"
    if ATTACHMENT_PLACEHOLDER in (EVENTS / name).read_text():
        properties = {"IntegrationId": integration.physical_id, "StackId": "my-stack-id"}
        attachment = function(event("Create", properties, resource_type=ATTACHMENT))
        assert attachment.status == "SUCCESS", attachment.reason
        attachment_id = attachment.data["Id"]
    sample = load(name, integration.physical_id, attachment_id)
    assert scalars_are_strings(sample["ResourceProperties"])
    before = (dict(emulator.integrations), dict(emulator.attachments))

    response = function(sample)

    expected_status, effect = EXPECTED[name]
    assert response.status == expected_status, response.reason
    assert response.physical_id
    assert (response.body["StackId"], response.body["RequestId"]) == (sample["StackId"], sample["RequestId"])
    if sample["RequestType"] == "Delete":
        assert response.physical_id == sample["PhysicalResourceId"]
    if effect == "untouched":
        assert (emulator.integrations, emulator.attachments) == before
    elif effect == "gone":
        assert integration.physical_id not in emulator.integrations
    elif effect == "given back":
        assert integration.physical_id in emulator.integrations
        assert not any(
            label.startswith("spacelift-cfn:")
            for label in emulator.integrations[integration.physical_id].labels
        )
    elif effect == "detached":
        assert attachment_id not in emulator.attachments
    elif effect == "attached":
        assert response.data["Id"] in emulator.attachments
    elif sample["ResourceType"] == INTEGRATION:
        assert response.physical_id in emulator.integrations
        assert emulator.integrations[response.physical_id].name == sample["ResourceProperties"]["Name"]
