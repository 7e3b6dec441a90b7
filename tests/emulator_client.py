"""What the tests/test_emulator_*.py files share: a minimal GraphQL client, the Terraform
provider's exact query texts, and the fixtures (a fresh emulator per test, a client of it without
and with a token).

Those files exercise the Spacelift emulator over real HTTP as a client would see it, and pin the
behaviour the provider's tests rely on: production spellings, HTTP-200 errors, token exchange, the
attach rules, external-ID formats, and every fault switch.

A test file takes the fixtures with ``emulator, anonymous, client = FIXTURES``; they replace
conftest.py's session-wide ``emulator`` in that file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from spacelift_emulator import Emulator

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


#: Every fixture above, for the test files to bind together (``client`` needs this ``emulator``).
FIXTURES = (emulator, anonymous, client)
