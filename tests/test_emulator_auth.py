"""The Spacelift emulator over HTTP: the API key exchange, tokens and their expiry, and what
needs a token.

Shared with the other tests/test_emulator_*.py files: the client, the provider's query texts and
the fixtures, in tests/emulator_client.py.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from spacelift_emulator import Emulator
from tests.emulator_client import (
    FIXTURES,
    KEY_ID,
    ROLE,
    SECRET,
    TOKEN,
    Client,
    messages,
)

# A fresh emulator per test, and a client of it without and with a token (tests/emulator_client.py).
emulator, anonymous, client = FIXTURES


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


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
