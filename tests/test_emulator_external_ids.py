"""The Spacelift emulator over HTTP: external IDs (format, policy statement, read/write) and
stacks that are missing or removed.

Shared with the other tests/test_emulator_*.py files: the client, the provider's query texts and
the fixtures, in tests/emulator_client.py.
"""

from __future__ import annotations

import json

import pytest

from spacelift_emulator import READ_WRITE_ERROR, Emulator
from tests.emulator_client import (
    FIXTURES,
    KEY_ID,
    PROVIDER_DELETE,
    PROVIDER_EXTERNAL_ID,
    SECRET,
    Client,
    messages,
)

# A fresh emulator per test, and a client of it without and with a token (tests/emulator_client.py).
emulator, anonymous, client = FIXTURES


@pytest.mark.parametrize(
    ("read", "write", "suffix"), [(True, False, "read"), (False, True, "write"), (True, True, "write")]
)
def test_external_id_format(read: bool, write: bool, suffix: str) -> None:
    with Emulator(
        api_keys={KEY_ID: SECRET},
        account_name="spacelifter",
        aws_account_id="577638371743",
        stacks=["stack-1"],
    ) as emulator:
        client = Client(emulator.url)
        client.login()
        integration_id = client.create()["id"]
        variables = {"id": integration_id, "stackId": "stack-1", "read": read, "write": write}
        result = client.data(PROVIDER_EXTERNAL_ID, variables)["awsIntegration"]["externalIdForStack"]

    external_id = f"spacelifter@{integration_id}@stack-1@{suffix}"
    assert result["externalId"] == external_id
    statement = result["assumeRolePolicyStatement"]
    assert isinstance(statement, str)
    assert json.loads(statement) == {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"AWS": "577638371743"},
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
    }


def test_external_id_needs_read_or_write(client: Client) -> None:
    integration_id = client.create()["id"]

    neither = client.gql(
        PROVIDER_EXTERNAL_ID, {"id": integration_id, "stackId": "stack-a", "read": False, "write": False}
    )
    assert messages(neither) == [READ_WRITE_ERROR]
    assert neither["data"] == {"awsIntegration": {"id": integration_id, "externalIdForStack": None}}


def test_external_id_of_a_missing_stack_follows_the_not_found_style(
    emulator: Emulator, client: Client
) -> None:
    integration_id = client.create()["id"]
    variables = {"id": integration_id, "stackId": "ghost", "read": True, "write": False}

    assert client.gql(PROVIDER_EXTERNAL_ID, variables) == {
        "data": {"awsIntegration": {"id": integration_id, "externalIdForStack": None}}
    }
    emulator.faults.not_found_style = "error"
    ghost = client.gql(PROVIDER_EXTERNAL_ID, variables)
    assert messages(ghost) == ['stack "ghost" not found']
    assert ghost["data"] == {"awsIntegration": {"id": integration_id, "externalIdForStack": None}}


def test_a_removed_stack_takes_its_attachments_and_is_unknown_from_then_on(
    emulator: Emulator, client: Client
) -> None:
    integration_id = client.create()["id"]
    for project in ("stack-a", "stack-b", "module-a"):
        client.attach(integration_id, project)

    emulator.remove_stack("stack-a")
    assert sorted(a.stack_id for a in emulator.attachments.values()) == ["module-a", "stack-b"]
    external = client.gql(
        PROVIDER_EXTERNAL_ID, {"id": integration_id, "stackId": "stack-a", "read": True, "write": True}
    )
    assert external["data"]["awsIntegration"]["externalIdForStack"] is None
    assert messages(client.attach(integration_id, "stack-a")) == ['stack "stack-a" not found']
    assert client.data('{ stack(id: "stack-a") { id } }') == {"stack": None}

    emulator.remove_module("module-a")
    emulator.remove_stack("stack-b")
    assert emulator.attachments == {}
    client.data(PROVIDER_DELETE, {"id": integration_id})  # nothing attached any more
    assert emulator.integrations == {}


def test_removing_an_unknown_stack_or_the_wrong_kind_is_a_setup_error(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="ghost"):
        emulator.remove_stack("ghost")
    with pytest.raises(ValueError, match="module-a"):
        emulator.remove_stack("module-a")
    with pytest.raises(ValueError, match="stack-a"):
        emulator.remove_module("stack-a")
    emulator.remove_stack("stack-a")
    emulator.reset()  # back to the seed: the stack is there again
    emulator.remove_stack("stack-a")
