"""The Spacelift emulator over HTTP: missing objects read as null by default, as errors in the
"error" not-found style, and mutations on missing IDs.

Shared with the other tests/test_emulator_*.py files: the client, the provider's query texts and
the fixtures, in tests/emulator_client.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from spacelift_emulator import Emulator
from tests.emulator_client import (
    FIXTURES,
    PROVIDER_ATTACHMENT_READ,
    PROVIDER_ATTACHMENT_UPDATE,
    PROVIDER_BY_NAME,
    PROVIDER_DELETE,
    PROVIDER_DETACH,
    PROVIDER_READ,
    PROVIDER_UPDATE,
    Client,
    messages,
    provider_variables,
)

# A fresh emulator per test, and a client of it without and with a token (tests/emulator_client.py).
emulator, anonymous, client = FIXTURES


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
