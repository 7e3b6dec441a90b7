"""The Spacelift emulator over HTTP: the request log and its counters, secrets kept out of it,
reset, and snapshots.

Shared with the other tests/test_emulator_*.py files: the client, the provider's query texts and
the fixtures, in tests/emulator_client.py.
"""

from __future__ import annotations

import pytest

from spacelift_emulator import Emulator
from tests.emulator_client import (
    FIXTURES,
    KEY_ID,
    PROVIDER_EXTERNAL_ID,
    SECRET,
    TOKEN,
    Client,
)

# A fresh emulator per test, and a client of it without and with a token (tests/emulator_client.py).
emulator, anonymous, client = FIXTURES


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
