"""The Spacelift emulator over HTTP: AWS integrations through the Terraform provider's texts
(create, read, update, delete), validation, and unique names.

Shared with the other tests/test_emulator_*.py files: the client, the provider's query texts and
the fixtures, in tests/emulator_client.py.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import pytest

from spacelift_emulator import Emulator, Integration
from tests.emulator_client import (
    FIXTURES,
    INTEGRATION_FIELDS,
    PROVIDER_BY_NAME,
    PROVIDER_CREATE,
    PROVIDER_DELETE,
    PROVIDER_READ,
    PROVIDER_UPDATE,
    ROLE,
    Client,
    messages,
    provider_variables,
)

# A fresh emulator per test, and a client of it without and with a token (tests/emulator_client.py).
emulator, anonymous, client = FIXTURES


def test_provider_create_read_update_delete_roundtrip(emulator: Emulator, client: Client) -> None:
    emulator.add_space("team")
    created = client.create(
        "prod",
        labels=["a", "b"],
        externalID="custom",
        durationSeconds=3600,
        space="team",
        region="eu-west-1",
        autoattachEnabled=True,
        tagAssumeRole=True,
        generateCredentialsInWorker=True,
    )
    integration_id = created["id"]
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", integration_id)
    assert created == {
        "id": integration_id,
        "name": "prod",
        "roleArn": ROLE,
        "generateCredentialsInWorker": True,
        "externalId": "custom",
        "durationSeconds": 3600,
        "labels": ["a", "b"],
        "space": "team",
        "region": "eu-west-1",
        "autoattachEnabled": True,
        "tagAssumeRole": True,
    }
    assert client.data(PROVIDER_READ, {"id": integration_id})["awsIntegration"] == created
    assert client.data(PROVIDER_BY_NAME, {"name": "prod"})["awsIntegrationByName"] == created
    assert client.data("{ awsIntegrations { id } }") == {"awsIntegrations": [{"id": integration_id}]}

    updated = client.data(PROVIDER_UPDATE, {"id": integration_id, **provider_variables("renamed")})
    assert updated["awsIntegrationUpdate"] == {
        **created,
        "name": "renamed",
        "generateCredentialsInWorker": False,
        "externalId": None,  # "" clears the custom external ID
        "durationSeconds": 900,
        "labels": [],
        "space": "root",
        "region": None,
        "autoattachEnabled": False,
        "tagAssumeRole": False,
    }
    assert emulator.integrations[integration_id].name == "renamed"

    deleted = client.data(PROVIDER_DELETE, {"id": integration_id})["awsIntegrationDelete"]
    assert deleted["id"] == integration_id
    assert client.data(PROVIDER_READ, {"id": integration_id}) == {"awsIntegration": None}
    assert emulator.integrations == {}


def test_create_defaults_when_optional_arguments_are_omitted(emulator: Emulator, client: Client) -> None:
    query = (
        'mutation { awsIntegrationCreate(name: "bare", roleArn: "' + ROLE + '", '
        "generateCredentialsInWorker: false) { " + INTEGRATION_FIELDS.replace(",", " ") + " } }"
    )
    created = client.data(query)["awsIntegrationCreate"]

    assert created["durationSeconds"] == 900
    assert created["labels"] == []
    assert created["space"] == "root"
    assert created["externalId"] is None and created["region"] is None
    assert created["autoattachEnabled"] is False and created["tagAssumeRole"] is False
    stored = emulator.integrations[created["id"]]
    assert isinstance(stored, Integration) and stored.role_arn == ROLE and stored.labels == ()


def test_update_is_a_full_replacement(client: Client) -> None:
    created = client.create("full", region="us-east-1", labels=["keep"], durationSeconds=7200)
    query = (
        'mutation($id: ID!) { awsIntegrationUpdate(id: $id, name: "full", roleArn: "'
        + ROLE
        + '", generateCredentialsInWorker: false) { region labels durationSeconds } }'
    )
    updated = client.data(query, {"id": created["id"]})["awsIntegrationUpdate"]

    assert updated == {"region": None, "labels": [], "durationSeconds": 900}


def test_external_id_for_stack_is_selectable_on_create_and_update_results(client: Client) -> None:
    selection = (
        "{ id e0: externalIdForStack(stackId: $s0, read: $r0, write: $w0) { externalId } "
        "e1: externalIdForStack(stackId: $s1, read: true, write: false) "
        "{ externalId assumeRolePolicyStatement } }"
    )
    create = (
        "mutation($name: String!, $s0: ID!, $r0: Boolean!, $w0: Boolean!, $s1: ID!) { "
        f'awsIntegrationCreate(name: $name, roleArn: "{ROLE}", generateCredentialsInWorker: false) '
        + selection
        + " }"
    )
    variables = {"name": "aliased", "s0": "stack-a", "r0": True, "w0": True, "s1": "module-a"}
    created = client.data(create, variables)["awsIntegrationCreate"]
    integration_id = created["id"]

    assert created["e0"] == {"externalId": f"acme@{integration_id}@stack-a@write"}
    assert created["e1"]["externalId"] == f"acme@{integration_id}@module-a@read"
    assert json.loads(created["e1"]["assumeRolePolicyStatement"])["Condition"] == {
        "StringEquals": {"sts:ExternalId": f"acme@{integration_id}@module-a@read"}
    }

    update = create.replace("$name: String!", "$id: ID!, $name: String!").replace(
        "awsIntegrationCreate(", "awsIntegrationUpdate(id: $id, "
    )
    updated = client.data(update, {**variables, "id": integration_id, "w0": False})["awsIntegrationUpdate"]
    assert updated["e0"] == {"externalId": f"acme@{integration_id}@stack-a@read"}


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        (
            f'mutation {{ awsIntegrationCreate(name: "n", roleArn: "{ROLE}", '
            'generateCredentialsInWorker: false, externalId: "x") { id } }',
            "Unknown argument 'externalId'",
        ),
        (
            f'mutation {{ awsIntegrationCreate(name: "n", roleARN: "{ROLE}", '
            "generateCredentialsInWorker: false) { id } }",
            "Unknown argument 'roleARN'",
        ),
        ('{ awsIntegration(id: "x") { externalID } }', "Cannot query field 'externalID'"),
        (
            'mutation { awsIntegrationAttach(id: "x", stackId: "s", read: true, write: true) { id } }',
            "Unknown argument 'stackId'",
        ),
        (
            '{ awsIntegration(id: "x") { externalIdForStack(stack: "s", read: true, write: true) '
            "{ externalId } } }",
            "Unknown argument 'stack'",
        ),
        ("{ awsIntegrations() { id } }", "Syntax Error"),  # the provider's invalid text
        ('mutation { awsIntegrationAttach(id: "x", stack: "s", read: true) { id } }', "(write:)"),
    ],
)
def test_misspellings_fail_validation_with_http_200_and_no_data(
    emulator: Emulator, client: Client, query: str, complaint: str
) -> None:
    payload = client.gql(query)

    assert "data" not in payload
    assert any(complaint in m for m in messages(payload)), payload
    assert emulator.integrations == {} and emulator.attachments == {}


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"name": ""}, "name must not be empty"),
        ({"name": "   "}, "name must not be empty"),
        ({"roleArn": "arn:aws:iam::123456789012:user/bob"}, "not a valid IAM role ARN"),
        ({"roleArn": "arn:aws:iam::12345:role/short-account"}, "not a valid IAM role ARN"),
        ({"roleArn": "spacelift"}, "not a valid IAM role ARN"),
        ({"durationSeconds": 899}, "durationSeconds must be between 900 and 43200"),
        ({"durationSeconds": 43201}, "durationSeconds must be between 900 and 43200"),
        ({"space": "no-such-space"}, 'space "no-such-space" not found'),
        ({"region": ""}, "not a valid AWS region"),
        ({"region": "Europe"}, "not a valid AWS region"),
    ],
)
def test_create_validation_errors(
    emulator: Emulator, client: Client, overrides: dict[str, Any], complaint: str
) -> None:
    payload = client.gql(PROVIDER_CREATE, provider_variables("bad") | overrides)

    assert payload["data"] is None
    assert any(complaint in m for m in messages(payload)), payload
    assert payload["errors"][0]["path"] == ["awsIntegrationCreate"]
    assert emulator.integrations == {}


@pytest.mark.parametrize(
    "overrides",
    [
        {"durationSeconds": 900},
        {"durationSeconds": 43200},
        {"roleArn": "arn:aws-us-gov:iam::123456789012:role/path/to/Role+name=x,y.z@corp-1"},
        {"region": "us-gov-west-1"},
    ],
)
def test_create_accepts_edge_values(client: Client, overrides: dict[str, Any]) -> None:
    assert client.create("edge", **overrides)["name"] == "edge"


def test_names_are_unique_case_insensitively(emulator: Emulator, client: Client) -> None:
    first = client.create("Prod")
    other = client.create("other")

    payload = client.gql(PROVIDER_CREATE, provider_variables("prod"))
    assert messages(payload) == ['an AWS integration named "Prod" already exists']
    renamed = client.gql(PROVIDER_UPDATE, {"id": other["id"], **provider_variables("PROD")})
    assert messages(renamed) == ['an AWS integration named "Prod" already exists']
    # Renaming an integration to its own name is no clash.
    client.data(PROVIDER_UPDATE, {"id": first["id"], **provider_variables("Prod")})
    assert len(emulator.integrations) == 2


def test_concurrent_creates_of_one_name_store_exactly_one(emulator: Emulator) -> None:
    results: list[dict[str, Any]] = []

    def create() -> None:
        client = Client(emulator.url)
        client.login()
        results.append(client.gql(PROVIDER_CREATE, provider_variables("race")))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(1 for r in results if "errors" not in r) == 1
    assert len(emulator.integrations) == 1
