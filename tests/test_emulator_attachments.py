"""The Spacelift emulator over HTTP: attachments (attach, read, update, detach; one read and one
write per stack; spaces) and trust (failures, the trust-check hook).

Shared with the other tests/test_emulator_*.py files: the client, the provider's query texts and
the fixtures, in tests/emulator_client.py.
"""

from __future__ import annotations

import pytest

from spacelift_emulator import READ_WRITE_ERROR, TRUST_ERROR, Emulator, Integration
from tests.emulator_client import (
    FIXTURES,
    PROVIDER_ATTACHMENT_READ,
    PROVIDER_ATTACHMENT_UPDATE,
    PROVIDER_DELETE,
    PROVIDER_DETACH,
    PROVIDER_UPDATE,
    Client,
    messages,
    provider_variables,
)

# A fresh emulator per test, and a client of it without and with a token (tests/emulator_client.py).
emulator, anonymous, client = FIXTURES


def test_attach_read_and_detach_with_the_provider_texts(emulator: Emulator, client: Client) -> None:
    integration_id = client.create()["id"]

    attachment = client.attach(integration_id, "stack-a", read=True, write=False)["data"][
        "awsIntegrationAttach"
    ]
    attachment_id = attachment["id"]
    assert attachment == {
        "id": attachment_id,
        "stackId": "stack-a",
        "isModule": False,
        "read": True,
        "write": False,
    }
    assert attachment_id != integration_id and len(attachment_id) == 26
    read = client.data(PROVIDER_ATTACHMENT_READ, {"integrationId": integration_id, "projectId": "stack-a"})
    assert read["awsIntegration"]["attachedStack"] == attachment
    extra = client.data(
        'query($i: ID!) { awsIntegration(id: $i) { attachedStack(id: "stack-a") { integrationId stackName '
        'isAutoattached } } stack(id: "stack-a") { space '
        "attachedAwsIntegrations { id integrationId read write } } }",
        {"i": integration_id},
    )
    assert extra["awsIntegration"]["attachedStack"] == {
        "integrationId": integration_id,
        "stackName": "stack-a",
        "isAutoattached": False,
    }
    assert extra["stack"] == {
        "space": "root",
        "attachedAwsIntegrations": [
            {"id": attachment_id, "integrationId": integration_id, "read": True, "write": False}
        ],
    }

    updated = client.data(PROVIDER_ATTACHMENT_UPDATE, {"id": attachment_id, "read": True, "write": True})
    assert updated["awsIntegrationAttachmentUpdate"]["write"] is True
    assert emulator.attachments[attachment_id].write is True

    detached = client.data(PROVIDER_DETACH, {"id": attachment_id})["awsIntegrationDetach"]
    assert detached["id"] == attachment_id
    assert client.data(
        PROVIDER_ATTACHMENT_READ, {"integrationId": integration_id, "projectId": "stack-a"}
    ) == {"awsIntegration": {"attachedStack": None}}
    assert emulator.attachments == {}


def test_attach_takes_the_integration_id_and_update_the_attachment_id(client: Client) -> None:
    integration_id = client.create()["id"]
    attachment_id = client.attach(integration_id, "stack-a")["data"]["awsIntegrationAttach"]["id"]

    wrong = client.gql(PROVIDER_ATTACHMENT_UPDATE, {"id": integration_id, "read": True, "write": False})
    assert "not found" in messages(wrong)[0]
    wrong_detach = client.gql(PROVIDER_DETACH, {"id": integration_id})
    assert "not found" in messages(wrong_detach)[0]
    assert (
        client.gql(PROVIDER_DETACH, {"id": attachment_id})["data"]["awsIntegrationDetach"]["id"]
        == attachment_id
    )


def test_a_stack_has_at_most_one_read_and_one_write_attachment(emulator: Emulator, client: Client) -> None:
    reader, writer, third = (client.create(name)["id"] for name in ("reader", "writer", "third"))

    assert "errors" not in client.attach(reader, "stack-a", read=True, write=False)
    second_read = client.attach(writer, "stack-a", read=True, write=True)
    assert messages(second_read) == ["stack stack-a already has a read attachment"]
    assert second_read["data"] is None
    assert "errors" not in client.attach(writer, "stack-a", read=False, write=True)
    assert messages(client.attach(third, "stack-a", read=False, write=True)) == [
        "stack stack-a already has a write attachment"
    ]
    # The same integration twice on one stack is refused too; one attachment does read+write.
    assert "already attached" in messages(client.attach(reader, "stack-a", read=False, write=True))[0]
    assert "errors" not in client.attach(third, "stack-b", read=True, write=True)

    reader_attachment = next(a for a in emulator.attachments.values() if a.integration_id == reader)
    conflict = client.gql(
        PROVIDER_ATTACHMENT_UPDATE, {"id": reader_attachment.id, "read": True, "write": True}
    )
    assert messages(conflict) == ["stack stack-a already has a write attachment"]
    assert len(emulator.attachments) == 3


def test_module_attachments_say_is_module(client: Client) -> None:
    integration_id = client.create()["id"]

    attachment = client.attach(integration_id, "module-a")["data"]["awsIntegrationAttach"]

    assert attachment["isModule"] is True and attachment["stackId"] == "module-a"
    assert client.data('{ stack(id: "module-a") { id } }') == {"stack": None}


@pytest.mark.parametrize(
    ("integration", "project", "read", "write", "complaint"),
    [
        ("known", "stack-a", False, False, READ_WRITE_ERROR),
        ("known", "ghost-stack", True, True, "not found"),
        ("01HXNOSUCHINTEGRATION00000", "stack-a", True, True, "not found"),
    ],
)
def test_attach_errors(
    *,
    emulator: Emulator,
    client: Client,
    integration: str,
    project: str,
    read: bool,
    write: bool,
    complaint: str,
) -> None:
    integration_id = client.create()["id"] if integration == "known" else integration

    payload = client.attach(integration_id, project, read=read, write=write)

    assert payload["data"] is None and complaint in messages(payload)[0]
    assert emulator.attachments == {}


def test_attach_needs_the_stack_space_to_see_the_integration_space(
    emulator: Emulator, client: Client
) -> None:
    emulator.add_space("team")
    emulator.add_space("team-child", parent="team")
    emulator.add_space("sealed", parent="team", inherit_entities=False)
    emulator.add_stack("child-stack", space="team-child")
    emulator.add_stack("sealed-stack", space="sealed")
    emulator.add_module("root-module", space="root")
    in_team = client.create("team-integration", space="team")["id"]
    in_root = client.create("root-integration")["id"]

    assert "errors" not in client.attach(in_team, "child-stack", read=True, write=False)
    assert messages(client.attach(in_team, "stack-a")) == [
        "cannot attach integration, stack stack-a space has no access to integration space"
    ]
    assert messages(client.attach(in_team, "root-module")) == [
        "cannot attach integration, module root-module space has no access to integration space"
    ]
    assert "no access" in messages(client.attach(in_root, "sealed-stack"))[0]
    assert "errors" not in client.attach(in_root, "child-stack", read=False, write=True)
    attachable = client.data('{ attachableAwsIntegrationsInSpace(id: "team-child") { name } }')
    assert {i["name"] for i in attachable["attachableAwsIntegrationsInSpace"]} == {
        "team-integration",
        "root-integration",
    }
    # Moving the integration where the attached stack cannot see it is refused.
    moved = client.gql(
        PROVIDER_UPDATE, {"id": in_team, **provider_variables("team-integration", space="sealed")}
    )
    assert "no access" in messages(moved)[0]
    assert emulator.integrations[in_team].space == "team"


def test_trust_failures_fail_the_next_attaches_then_attach_succeeds(
    emulator: Emulator, client: Client
) -> None:
    integration_id = client.create()["id"]
    emulator.faults.trust_failures(2)

    for _ in range(2):
        payload = client.attach(integration_id, "stack-a")
        assert messages(payload) == [TRUST_ERROR]
        assert emulator.attachments == {}
    assert "errors" not in client.attach(integration_id, "stack-a")


def test_trust_failures_always_and_off(emulator: Emulator, client: Client) -> None:
    integration_id = client.create()["id"]
    emulator.faults.trust_failures(-1)
    for _ in range(3):
        assert messages(client.attach(integration_id, "stack-a")) == [TRUST_ERROR]

    emulator.faults.trust_failures(0)
    assert "errors" not in client.attach(integration_id, "stack-a")


def test_trust_check_hook_sees_the_external_id_and_can_refuse(emulator: Emulator, client: Client) -> None:
    seen: list[tuple[str, str, str]] = []

    def trust(integration: Integration, stack_id: str, external_id: str) -> bool:
        seen.append((integration.name, stack_id, external_id))
        return stack_id != "stack-b"

    emulator.trust_check = trust
    integration_id = client.create("hooked")["id"]

    assert "errors" not in client.attach(integration_id, "stack-a", read=True, write=False)
    assert messages(client.attach(integration_id, "stack-b")) == [TRUST_ERROR]
    assert seen == [
        ("hooked", "stack-a", f"acme@{integration_id}@stack-a@read"),
        ("hooked", "stack-b", f"acme@{integration_id}@stack-b@write"),
    ]


def test_deleting_an_attached_integration_is_refused_until_detached(
    emulator: Emulator, client: Client
) -> None:
    integration_id = client.create()["id"]
    attachment_id = client.attach(integration_id, "stack-a")["data"]["awsIntegrationAttach"]["id"]

    refused = client.gql(PROVIDER_DELETE, {"id": integration_id})
    assert "still attached" in messages(refused)[0] and refused["data"] == {"awsIntegrationDelete": None}
    assert integration_id in emulator.integrations

    client.data(PROVIDER_DETACH, {"id": attachment_id})
    client.data(PROVIDER_DELETE, {"id": integration_id})
    assert emulator.integrations == {}
