"""The Spacelift emulator, exercised over real HTTP as a client would see it.

These tests pin the behaviour the provider's tests rely on: production spellings, HTTP-200
errors, token exchange, the attach rules, external-ID formats, and every fault switch.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from spacelift_emulator import READ_WRITE_ERROR, TRUST_ERROR, Emulator, Integration

KEY_ID = "01HXKEY0000000000000000000"
SECRET = "s3cr3t-value-never-logged"
ROLE = "arn:aws:iam::123456789012:role/spacelift"
REPO = Path(__file__).resolve().parent.parent

TOKEN = "mutation($id: ID!, $secret: String!) { apiKeyUser(id: $id, secret: $secret) { id jwt validUntil } }"
INTEGRATION_FIELDS = (
    "id,durationSeconds,generateCredentialsInWorker,externalId,labels,name,roleArn,space,region,"
    "autoattachEnabled,tagAssumeRole"
)
# The Terraform provider's exact texts (docs/spacelift-api.md), variables sorted and comma-separated selections.
PROVIDER_CREATE = (
    "mutation($autoattachEnabled:Boolean!$durationSeconds:Int!$externalID:String!"
    "$generateCredentialsInWorker:Boolean!$labels:[String!]!$name:String!$region:String$roleArn:String!"
    "$space:ID$tagAssumeRole:Boolean!){awsIntegrationCreate(name: $name, roleArn: $roleArn, "
    "generateCredentialsInWorker: $generateCredentialsInWorker, externalID: $externalID, "
    "durationSeconds: $durationSeconds, labels: $labels, space: $space, region: $region, "
    "autoattachEnabled: $autoattachEnabled, tagAssumeRole: $tagAssumeRole){" + INTEGRATION_FIELDS + "}}"
)
PROVIDER_UPDATE = (
    PROVIDER_CREATE.replace("mutation(", "mutation($id:ID!")
    .replace("awsIntegrationCreate(", "awsIntegrationUpdate(id: $id, ")
    .replace("awsIntegrationCreate", "awsIntegrationUpdate")
)
PROVIDER_READ = "query($id:ID!){awsIntegration(id: $id){" + INTEGRATION_FIELDS + "}}"
PROVIDER_BY_NAME = "query($name:String!){awsIntegrationByName(name: $name){" + INTEGRATION_FIELDS + "}}"
PROVIDER_DELETE = "mutation($id:ID!){awsIntegrationDelete(id: $id){" + INTEGRATION_FIELDS + "}}"
ATTACHMENT_FIELDS = "id,stackId,isModule,read,write"
PROVIDER_ATTACH = (
    "mutation($id:ID!$projectId:ID!$read:Boolean!$write:Boolean!){awsIntegrationAttach(id: $id, "
    "stack: $projectId, read: $read, write: $write){" + ATTACHMENT_FIELDS + "}}"
)
PROVIDER_ATTACHMENT_READ = (
    "query($integrationId:ID!$projectId:ID!){awsIntegration(id: $integrationId){"
    "attachedStack(id: $projectId){" + ATTACHMENT_FIELDS + "}}}"
)
PROVIDER_ATTACHMENT_UPDATE = (
    "mutation($id:ID!$read:Boolean!$write:Boolean!){awsIntegrationAttachmentUpdate(id: $id, "
    "read: $read, write: $write){" + ATTACHMENT_FIELDS + "}}"
)
PROVIDER_DETACH = "mutation($id:ID!){awsIntegrationDetach(id: $id){" + ATTACHMENT_FIELDS + "}}"
PROVIDER_EXTERNAL_ID = (
    "query($id:ID!$read:Boolean!$stackId:ID!$write:Boolean!){awsIntegration(id: $id){id,"
    "externalIdForStack(stackId: $stackId, read: $read, write: $write)"
    "{externalId,assumeRolePolicyStatement}}}"
)


class Client:
    """A minimal GraphQL client over a keep-alive `requests.Session`."""

    def __init__(self, base_url: str) -> None:
        self.endpoint = base_url + "/graphql"
        self.session = requests.Session()
        self.token: str | None = None

    def post(
        self, query: str, variables: dict[str, Any] | None = None, *, timeout: float = 5
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = {"query": query, "variables": variables or {}}
        return self.session.post(self.endpoint, json=body, headers=headers, timeout=timeout)

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        payload: dict[str, Any] = response.json()
        return payload

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a call that must succeed."""
        payload = self.gql(query, variables)
        assert "errors" not in payload, payload
        data: dict[str, Any] = payload["data"]
        return data

    def login(self, key_id: str = KEY_ID, secret: str = SECRET) -> dict[str, Any]:
        user: dict[str, Any] = self.data(TOKEN, {"id": key_id, "secret": secret})["apiKeyUser"]
        self.token = user["jwt"]
        return user

    def create(self, name: str = "integration", **overrides: Any) -> dict[str, Any]:
        created: dict[str, Any] = self.data(PROVIDER_CREATE, provider_variables(name, **overrides))[
            "awsIntegrationCreate"
        ]
        return created

    def attach(
        self, integration_id: str, project: str, read: bool = True, write: bool = True
    ) -> dict[str, Any]:
        return self.gql(
            PROVIDER_ATTACH, {"id": integration_id, "projectId": project, "read": read, "write": write}
        )


def provider_variables(name: str, **overrides: Any) -> dict[str, Any]:
    """What the provider sends for a create: every argument, defaults filled in."""
    variables = {
        "name": name,
        "roleArn": ROLE,
        "generateCredentialsInWorker": False,
        "externalID": "",
        "durationSeconds": 900,
        "labels": [],
        "space": None,
        "region": None,
        "autoattachEnabled": False,
        "tagAssumeRole": False,
    }
    return variables | overrides


def messages(payload: dict[str, Any]) -> list[str]:
    return [e["message"] for e in payload.get("errors", [])]


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(
        api_keys={KEY_ID: SECRET},
        stacks={"stack-a": "root", "stack-b": "root"},
        modules=["module-a"],
    ) as running:
        yield running


@pytest.fixture
def anonymous(emulator: Emulator) -> Client:
    return Client(emulator.url)


@pytest.fixture
def client(emulator: Emulator) -> Client:
    logged_in = Client(emulator.url)
    logged_in.login()
    return logged_in


# ------------------------------------------------------------------------- authentication


def test_token_exchange_needs_no_header_and_returns_a_jwt_shaped_token(
    emulator: Emulator, anonymous: Client
) -> None:
    before = int(time.time())
    user = anonymous.login()

    assert user["id"] == KEY_ID
    assert before + 3600 <= user["validUntil"] <= int(time.time()) + 3600
    _header, claims, _signature = user["jwt"].split(".")
    decoded = json.loads(_b64url(claims))
    assert decoded["aud"] == emulator.url
    assert decoded["exp"] == user["validUntil"]
    assert emulator.token_exchanges == 1
    assert emulator.requests[0].token_exchange and not emulator.requests[0].authorized


def test_unknown_key_id_gives_null_and_no_error(emulator: Emulator, anonymous: Client) -> None:
    payload = anonymous.gql(TOKEN, {"id": "01HXNOSUCHKEY0000000000000", "secret": SECRET})

    assert payload == {"data": {"apiKeyUser": None}}
    assert emulator.token_exchanges == 0


def test_wrong_secret_is_an_unauthorized_error(emulator: Emulator, anonymous: Client) -> None:
    payload = anonymous.gql(TOKEN, {"id": KEY_ID, "secret": "wrong"})

    assert payload["data"] == {"apiKeyUser": None}
    assert messages(payload) == ["unauthorized"]
    assert payload["errors"][0]["path"] == ["apiKeyUser"]
    assert emulator.token_exchanges == 0


@pytest.mark.parametrize(
    ("query", "data"),
    [
        ('{ awsIntegration(id: "x") { id } }', {"awsIntegration": None}),
        ("{ name spaceliftAwsAccountId }", {"name": None, "spaceliftAwsAccountId": None}),
        ("{ viewer { id } }", {"viewer": None}),
        ('mutation { awsIntegrationDelete(id: "x") { id } }', {"awsIntegrationDelete": None}),
        (
            f'mutation {{ awsIntegrationCreate(name: "n", roleArn: "{ROLE}", '
            "generateCredentialsInWorker: false) { id } }",
            None,  # non-null field: the null reaches the root
        ),
    ],
)
def test_every_operation_but_the_exchange_needs_a_token(
    emulator: Emulator, anonymous: Client, query: str, data: dict[str, Any] | None
) -> None:
    payload = anonymous.gql(query)

    assert payload["data"] == data
    assert set(messages(payload)) == {"unauthorized"}
    assert emulator.integrations == {}


def test_garbage_token_is_unauthorized(anonymous: Client) -> None:
    anonymous.token = "not.a.token"

    assert messages(anonymous.gql("{ name }")) == ["unauthorized"]


def test_expire_tokens_makes_the_next_call_unauthorized_until_a_new_exchange(
    emulator: Emulator, client: Client
) -> None:
    assert client.data("{ name }") == {"name": "acme"}

    emulator.faults.expire_tokens()
    payload = client.gql("{ name }")
    assert payload["data"] == {"name": None} and messages(payload) == ["unauthorized"]
    assert emulator.requests[-1].authorized is False

    client.login()
    assert client.data("{ name }") == {"name": "acme"}
    assert emulator.token_exchanges == 2


def test_tokens_expire_at_valid_until() -> None:
    now = [1_800_000_000.0]
    with Emulator(api_keys={KEY_ID: SECRET}, token_lifetime=60, clock=lambda: now[0]) as emulator:
        client = Client(emulator.url)
        assert client.login()["validUntil"] == 1_800_000_060
        now[0] += 59
        assert client.data("{ viewer { id } }") == {"viewer": {"id": KEY_ID}}
        now[0] += 1
        assert messages(client.gql("{ viewer { id } }")) == ["unauthorized"]


def test_introspection_needs_no_token(anonymous: Client) -> None:
    data = anonymous.data('{ __type(name: "AwsIntegration") { fields { name } } }')

    names = {f["name"] for f in data["__type"]["fields"]}
    assert {"externalId", "roleArn", "attachedStack", "externalIdForStack"} <= names


# ------------------------------------------------------------------------- integrations


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


# ------------------------------------------------------------------------- external IDs


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


# ------------------------------------------------------------------------- attachments


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


# ------------------------------------------------------------------------- not found


def test_missing_objects_read_as_null_by_default(client: Client) -> None:
    integration_id = client.create()["id"]

    assert client.gql(PROVIDER_READ, {"id": "01HXGONE000000000000000000"}) == {
        "data": {"awsIntegration": None}
    }
    assert client.gql(PROVIDER_BY_NAME, {"name": "gone"}) == {"data": {"awsIntegrationByName": None}}
    read = client.gql(PROVIDER_ATTACHMENT_READ, {"integrationId": integration_id, "projectId": "stack-a"})
    assert read == {"data": {"awsIntegration": {"attachedStack": None}}}


def test_not_found_style_error(emulator: Emulator, client: Client) -> None:
    integration_id = client.create()["id"]
    emulator.faults.not_found_style = "error"

    for query, variables in [
        (PROVIDER_READ, {"id": "01HXGONE000000000000000000"}),
        (PROVIDER_BY_NAME, {"name": "gone"}),
        (PROVIDER_ATTACHMENT_READ, {"integrationId": integration_id, "projectId": "stack-a"}),
    ]:
        payload = client.gql(query, variables)
        assert len(payload["errors"]) == 1 and "not found" in messages(payload)[0], payload
    with pytest.raises(ValueError, match="not_found_style"):
        emulator.faults.not_found_style = "maybe"  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (PROVIDER_UPDATE, {"id": "01HXGONE000000000000000000", **provider_variables("x")}),
        (PROVIDER_DELETE, {"id": "01HXGONE000000000000000000"}),
        (PROVIDER_ATTACHMENT_UPDATE, {"id": "01HXGONE000000000000000000", "read": True, "write": True}),
        (PROVIDER_DETACH, {"id": "01HXGONE000000000000000000"}),
    ],
)
def test_mutations_on_missing_ids_error_not_found(
    client: Client, query: str, variables: dict[str, Any]
) -> None:
    payload = client.gql(query, variables)

    assert len(payload["errors"]) == 1 and "not found" in messages(payload)[0]


# ------------------------------------------------------------------------- faults


def test_latency_delays_every_request(emulator: Emulator, client: Client) -> None:
    emulator.faults.latency = 0.15
    started = time.monotonic()
    client.data("{ name }")

    assert time.monotonic() - started >= 0.15


def test_fail_next_answers_5xx_without_executing(emulator: Emulator, client: Client) -> None:
    emulator.faults.fail_next(2, status=502, body="bad gateway")

    for _ in range(2):
        response = client.post(PROVIDER_CREATE, provider_variables("never"))
        assert (response.status_code, response.text) == (502, "bad gateway")
    assert emulator.integrations == {}
    assert client.create("now")["name"] == "now"
    assert [r.fault for r in emulator.requests[-3:]] == ["fail", "fail", None]


def test_faults_can_target_one_root_field(emulator: Emulator, client: Client) -> None:
    emulator.faults.fail_next(1, field="awsIntegrationCreate")

    assert client.post("{ name }").status_code == 200
    assert client.post(PROVIDER_CREATE, provider_variables("x")).status_code == 503
    assert client.post(PROVIDER_CREATE, provider_variables("x")).status_code == 200


def test_fail_after_apply_applies_the_mutation_then_answers_5xx(emulator: Emulator, client: Client) -> None:
    emulator.faults.fail_after_apply_next(1, field="awsIntegrationCreate")

    response = client.post(PROVIDER_CREATE, provider_variables("applied"))

    assert response.status_code == 503
    assert [i.name for i in emulator.integrations.values()] == ["applied"]
    retry = client.gql(PROVIDER_CREATE, provider_variables("applied"))
    assert "already exists" in messages(retry)[0]


def test_throttle_next_answers_429_with_retry_after(emulator: Emulator, client: Client) -> None:
    emulator.faults.throttle_next(1, retry_after=7)
    emulator.faults.throttle_next(1, retry_after=None)

    first, second, third = (client.post("{ name }") for _ in range(3))

    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert second.status_code == 429 and "Retry-After" not in second.headers
    assert third.status_code == 200


def test_rate_limit_answers_429_beyond_the_rate(emulator: Emulator, client: Client) -> None:
    emulator.faults.rate_limit(4)

    statuses = [client.post("{ name }") for _ in range(8)]
    limited = [r for r in statuses if r.status_code == 429]

    assert [r.status_code for r in statuses[:4]] == [200] * 4
    assert len(limited) >= 3 and all(int(r.headers["Retry-After"]) >= 1 for r in limited)
    emulator.faults.rate_limit(None)
    assert client.post("{ name }").status_code == 200


def test_malformed_next_answers_200_with_invalid_json(emulator: Emulator, client: Client) -> None:
    emulator.faults.malformed_next(1)

    response = client.post(PROVIDER_CREATE, provider_variables("malformed"))

    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.text)
    assert emulator.integrations == {}


def test_hang_next_executes_then_stalls_past_the_client_timeout(emulator: Emulator, client: Client) -> None:
    emulator.faults.hang_next(1, seconds=2, field="awsIntegrationCreate")

    with pytest.raises(requests.exceptions.ReadTimeout):
        client.post(PROVIDER_CREATE, provider_variables("slow"), timeout=0.3)

    assert [i.name for i in emulator.integrations.values()] == ["slow"]
    assert client.data("{ name }") == {"name": "acme"}


def test_faults_reset_disarms_everything(emulator: Emulator, client: Client) -> None:
    faults = emulator.faults
    faults.latency = 5
    faults.fail_next(-1)
    faults.throttle_next(-1)
    faults.malformed_next(-1)
    faults.rate_limit(0.001, burst=1)
    faults.not_found_style = "error"
    faults.trust_failures(-1)

    faults.reset()

    integration_id = client.create()["id"]
    assert "errors" not in client.attach(integration_id, "stack-a")
    assert client.gql(PROVIDER_READ, {"id": "01HXGONE000000000000000000"}) == {
        "data": {"awsIntegration": None}
    }
    with pytest.raises(ValueError, match="n must be"):
        faults.fail_next(-2)


# ------------------------------------------------------------------------- HTTP and instrumentation


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status"),
    [
        ("GET", "/graphql", None, {}, 400),
        ("POST", "/graphql", b"{not json", {"Content-Type": "application/json"}, 400),
        ("POST", "/graphql", b'{"query": "{ name }"}', {"Content-Type": "text/plain"}, 400),
        ("POST", "/graphql", b'{"variables": {}}', {"Content-Type": "application/json"}, 400),
        (
            "POST",
            "/graphql",
            b'{"query": "{ name }", "variables": []}',
            {"Content-Type": "application/json"},
            400,
        ),
        ("POST", "/other", b'{"query": "{ name }"}', {"Content-Type": "application/json"}, 404),
    ],
)
def test_non_graphql_requests_get_plain_4xx(
    *, emulator: Emulator, method: str, path: str, body: bytes | None, headers: dict[str, str], status: int
) -> None:
    response = requests.request(method, emulator.url + path, data=body, headers=headers, timeout=5)

    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/plain")
    assert emulator.requests[-1].status == status


def test_syntax_errors_are_graphql_errors_with_http_200(client: Client) -> None:
    payload = client.gql("{ name")

    assert "data" not in payload and messages(payload)[0].startswith("Syntax Error")


def test_request_log_counts_fields_exchanges_and_outcomes(emulator: Emulator, client: Client) -> None:
    client.create("one")
    client.gql('{ awsIntegration(id: "x") { id } name }')

    assert emulator.request_count() == 3
    assert emulator.request_count("apiKeyUser") == 1
    assert emulator.request_count("awsIntegrationCreate") == 1
    assert emulator.request_count("name") == 1
    assert emulator.token_exchanges == 1
    exchange, create, query = emulator.requests
    assert exchange.token_exchange and not exchange.authorized and exchange.operation_type == "mutation"
    assert create.authorized and create.root_fields == ("awsIntegrationCreate",) and create.status == 200
    assert query.operation_type == "query" and query.root_fields == ("awsIntegration", "name")
    assert len({r.connection for r in emulator.requests}) == 1  # keep-alive

    emulator.reset_counters()
    assert emulator.request_count() == 0 and emulator.token_exchanges == 0 and emulator.requests == []


def test_secrets_never_reach_the_log_or_the_console(
    emulator: Emulator, capfd: pytest.CaptureFixture[str]
) -> None:
    client = Client(emulator.url)
    client.login()
    client.gql(f'mutation {{ apiKeyUser(id: "{KEY_ID}", secret: "{SECRET}") {{ jwt }} }}')
    client.gql(
        "mutation($k: ID!, $s: String!) { apiKeyUser(id: $k, secret: $s) { jwt } }",
        {"k": KEY_ID, "s": SECRET},
    )
    client.gql(TOKEN, {"id": KEY_ID, "secret": "wrong-secret"})

    out, err = capfd.readouterr()
    logged = repr(emulator.requests) + repr(emulator) + out + err
    assert SECRET not in logged and "wrong-secret" not in logged
    assert client.token is not None and client.token not in logged
    assert emulator.requests[2].variables == {"k": KEY_ID, "s": "***"}
    assert emulator.token_exchanges == 3


def test_reset_clears_state_and_faults_but_keeps_the_seed_and_tokens(
    emulator: Emulator, client: Client
) -> None:
    emulator.add_stack("added-later")
    integration_id = client.create()["id"]
    client.attach(integration_id, "stack-a")
    emulator.faults.fail_next(-1, field="awsIntegrationCreate")

    emulator.reset()

    assert emulator.integrations == {} and emulator.attachments == {} and emulator.requests == []
    assert client.create("again")["name"] == "again"  # same token, fault gone
    integration_id = client.create("b")["id"]
    ghost = client.gql(
        PROVIDER_EXTERNAL_ID, {"id": integration_id, "stackId": "added-later", "read": True, "write": True}
    )
    assert ghost == {"data": {"awsIntegration": {"id": integration_id, "externalIdForStack": None}}}


def test_snapshots_are_copies(emulator: Emulator, client: Client) -> None:
    client.create()
    snapshot = emulator.integrations
    snapshot.clear()

    assert len(emulator.integrations) == 1


def test_hundreds_of_requests_per_second_on_one_connection(emulator: Emulator, client: Client) -> None:
    started = time.monotonic()
    for _ in range(200):
        client.data("{ name spaceliftAwsAccountId }")
    elapsed = time.monotonic() - started

    assert elapsed < 2.0, f"200 requests took {elapsed:.2f}s"
    assert len({r.connection for r in emulator.requests}) == 1


def test_restart_keeps_the_port_and_stop_cuts_keep_alive(emulator: Emulator, client: Client) -> None:
    url = emulator.url
    emulator.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        client.post("{ name }", timeout=1)

    emulator.start()
    assert emulator.url == url
    assert client.data("{ name }") == {"name": "acme"}  # tokens survive a restart


def test_command_line_runs_in_the_foreground_and_prints_the_url() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spacelift_emulator",
            "--port",
            "0",
            "--api-key",
            f"{KEY_ID}:{SECRET}",
            "--stack",
            "my-stack-id",
            "--module",
            "my-module-id",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", first_line)
        assert match, first_line
        client = Client(match.group(1))
        client.login()
        integration_id = client.create()["id"]
        assert "errors" not in client.attach(integration_id, "my-module-id")
    finally:
        process.terminate()
        out, err = process.communicate(timeout=5)
    assert process.returncode == 0
    assert SECRET not in first_line + out + err


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
