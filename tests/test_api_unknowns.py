"""Where the Spacelift API's behaviour is unknown (docs/spacelift-api.md, "Unknowns"), the provider
must cope with every plausible answer: each test runs the emulator both ways.
"""

from __future__ import annotations

from typing import Any

import pytest

from localcfn import LocalFunction
from spacelift_emulator import Emulator
from tests.conftest import ACCOUNT_NAME, ATTACHMENT, ROLE_ARN, event

pytestmark = pytest.mark.usefixtures("table")

LISTED: dict[str, Any] = {
    "Name": "my_role",
    "RoleArn": ROLE_ARN,
    "ExternalIdsFor": [{"StackId": "my-stack-id"}, {"StackId": "my-other-stack-id"}],
}


@pytest.fixture(params=[False, True], ids=["external-id-nullable", "external-id-required"])
def external_id_required(request: pytest.FixtureRequest, emulator: Emulator) -> bool:
    """Whether ``externalIdForStack`` is non-null is unknown; non-null, an error there nulls the
    whole mutation result although the mutation was applied."""
    emulator.external_id_required = request.param
    return bool(request.param)


@pytest.mark.usefixtures("external_id_required")
@pytest.mark.parametrize("style", ["null", "error"])
def test_a_create_listing_a_missing_stack_fails_and_leaves_nothing(
    function: LocalFunction, emulator: Emulator, style: str
) -> None:
    emulator.faults.not_found_style = style  # type: ignore[assignment]
    properties = {**LISTED, "ExternalIdsFor": [{"StackId": "my-stack-id"}, {"StackId": "no-such-stack"}]}
    created = function(event("Create", properties))
    rollback = function(event("Delete", properties, physical_id=created.physical_id))

    assert created.status == "FAILED"
    assert "no-such-stack" in created.reason
    assert rollback.status == "SUCCESS"
    assert emulator.integrations == {}


@pytest.mark.usefixtures("external_id_required")
def test_an_update_listing_a_deleted_stack_computes_its_external_id(
    function: LocalFunction, emulator: Emulator
) -> None:
    created = function(event("Create", LISTED))
    integration_id = created.physical_id
    emulator.remove_stack("my-other-stack-id")
    relabelled = {**LISTED, "Labels": ["team"]}
    updated = function(event("Update", relabelled, old=LISTED, physical_id=integration_id))

    assert (updated.status, updated.physical_id) == ("SUCCESS", integration_id), updated.reason
    assert (
        updated.data["ExternalId.my-other-stack-id"]
        == f"{ACCOUNT_NAME}@{integration_id}@my-other-stack-id@write"
    )
    assert updated.data["ExternalId.my-stack-id"] == created.data["ExternalId.my-stack-id"]
    assert "team" in emulator.integrations[integration_id].labels


@pytest.mark.parametrize("style", ["null", "error"])
def test_a_lost_attach_that_never_applied_attaches_again(
    function: LocalFunction, emulator: Emulator, integration_id: str, style: str
) -> None:
    """The attach's answer is lost (503 to a mutation that is not safe to repeat); the read-back
    finds nothing, as null or as a "not found" error, so the provider attaches again."""
    emulator.faults.not_found_style = style  # type: ignore[assignment]
    emulator.faults.fail_next(1, status=503, field="awsIntegrationAttach")
    properties = {"IntegrationId": integration_id, "StackId": "my-stack-id"}
    attached = function(event("Create", properties, resource_type=ATTACHMENT))

    assert attached.status == "SUCCESS", attached.reason
    assert list(emulator.attachments) == [attached.data["Id"]]


def test_a_trust_error_worded_unauthorized_is_retried_as_a_trust_error(
    function: LocalFunction, emulator: Emulator, integration_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some wordings of the role-assumption error contain "unauthorized": it must be retried as a
    trust failure, not taken for an expired token."""
    import spacelift_emulator.state

    worded = "unauthorized: " + spacelift_emulator.state.TRUST_ERROR
    monkeypatch.setattr(spacelift_emulator.state, "TRUST_ERROR", worded)
    emulator.faults.trust_failures(1)
    exchanges = emulator.token_exchanges
    properties = {"IntegrationId": integration_id, "StackId": "my-stack-id"}
    attached = function(event("Create", properties, resource_type=ATTACHMENT))

    assert attached.status == "SUCCESS", attached.reason
    assert emulator.token_exchanges == exchanges
    assert next(r.errors for r in emulator.requests if "awsIntegrationAttach" in r.root_fields) == (worded,)
