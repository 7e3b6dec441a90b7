"""The Spacelift emulator over HTTP: API keys without admin rights on a space, and accounts
without AWS integrations (both refusal styles, since which one Spacelift uses is not public)."""

from __future__ import annotations

import pytest

from spacelift_emulator import INTEGRATIONS_DISABLED_ERROR, DisabledStyle, Emulator
from tests.emulator_client import (
    FIXTURES,
    PROVIDER_CREATE,
    PROVIDER_DELETE,
    PROVIDER_READ,
    Client,
    messages,
    provider_variables,
)

emulator, anonymous, client = FIXTURES

LIMITED_KEY = "01HXLIMITEDKEY000000000000"
ENABLED = "query { awsIntegrationsEnabled }"


def limited_client(emulator: Emulator, admin_of: list[str]) -> Client:
    emulator.add_api_key(LIMITED_KEY, "limited-secret", admin_of=admin_of)
    limited = Client(emulator.url)
    limited.login(LIMITED_KEY, "limited-secret")
    return limited


def test_a_key_without_admin_rights_on_the_space_is_answered_unauthorized(emulator: Emulator) -> None:
    emulator.add_space("team")
    limited = limited_client(emulator, ["team"])

    refused = limited.gql(PROVIDER_CREATE, provider_variables("in-root"))
    allowed = limited.gql(PROVIDER_CREATE, provider_variables("in-team", space="team"))

    assert messages(refused) == ["unauthorized"]
    assert refused["data"] is None
    assert "errors" not in allowed and allowed["data"]["awsIntegrationCreate"]["space"] == "team"
    assert [i.name for i in emulator.integrations.values()] == ["in-team"]


def test_admin_rights_on_a_parent_space_cover_its_children(emulator: Emulator) -> None:
    emulator.add_space("team")
    emulator.add_space("team-child", parent="team", inherit_entities=False)
    limited = limited_client(emulator, ["team"])

    created = limited.data(PROVIDER_CREATE, provider_variables("x", space="team-child"))[
        "awsIntegrationCreate"
    ]
    limited.data(PROVIDER_DELETE, {"id": created["id"]})
    assert emulator.integrations == {}


def test_a_limited_key_may_not_delete_or_attach_outside_its_spaces(
    emulator: Emulator, client: Client
) -> None:
    integration = client.create("root-integration")  # by the admin key
    limited = limited_client(emulator, ["nowhere-else"])

    assert messages(limited.gql(PROVIDER_DELETE, {"id": integration["id"]})) == ["unauthorized"]
    assert messages(limited.attach(integration["id"], "stack-a")) == ["unauthorized"]
    # Reads are not restricted, and the admin key still works.
    assert limited.data(PROVIDER_READ, {"id": integration["id"]})["awsIntegration"]["id"] == integration["id"]
    assert list(emulator.integrations) == [integration["id"]]
    assert emulator.attachments == {}


def test_keys_are_admin_of_everything_by_default(emulator: Emulator, client: Client) -> None:
    emulator.add_space("team")
    assert client.create("x", space="team")["space"] == "team"  # the fixture's key has no admin_of


@pytest.mark.parametrize(
    ("style", "message"), [("error", INTEGRATIONS_DISABLED_ERROR), ("unauthorized", "unauthorized")]
)
def test_an_account_without_aws_integrations_refuses_them(
    emulator: Emulator, client: Client, style: DisabledStyle, message: str
) -> None:

    assert client.data(ENABLED)["awsIntegrationsEnabled"] is True
    emulator.disable_aws_integrations(style)

    assert client.data(ENABLED)["awsIntegrationsEnabled"] is False
    assert emulator.aws_integrations_enabled is False
    assert messages(client.gql(PROVIDER_CREATE, provider_variables("x"))) == [message]
    assert messages(client.gql(PROVIDER_READ, {"id": "01HXNOSUCH0000000000000000"})) == [message]
    assert client.data("query { name }")["name"] == "acme"  # the account itself still answers
    assert emulator.integrations == {}

    emulator.reset()
    assert client.data(ENABLED)["awsIntegrationsEnabled"] is True


def test_an_unknown_disabled_style_is_refused(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="style"):
        emulator.disable_aws_integrations("quietly")  # type: ignore[arg-type]
