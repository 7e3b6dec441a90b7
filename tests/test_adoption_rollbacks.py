"""A rolled-back adoption gives the integration back: CloudFormation's rollbacks of an adopting
Create, played request by request with real events.

The adopted integration existed before the stack and roles trust its external IDs: whatever
CloudFormation sends (a Delete of the adopted ID after another resource failed, a Delete with
an ID it made up while the Create still runs, the Delete of a failed Create's ID) and whatever
happens to the function (it dies after applying the stack's settings), the integration must
end up existing, with the settings it had before the adoption and without the owner label.
"""

from __future__ import annotations

from typing import Any

import pytest

from localcfn import LocalFunction
from spacelift_cfn.errors import SpaceliftError
from spacelift_emulator import Emulator, IntegrationSettings
from tests.conftest import event
from tests.test_adoption import ORIGINAL, adopting, existing, settings_of
from tests.test_rollback_cases import (
    MADE_UP_INTEGRATION_ID,
    NOTHING_CHANGED,
    Order,
    cancel,
    created,
    delete_for,
    deleted,
    deliver_and_die,
    die_after,
)

pytestmark = pytest.mark.usefixtures("table")  # deployed, the provider always has its table


def test_a_later_resource_failing_gives_the_adopted_integration_back(
    function: LocalFunction, emulator: Emulator
) -> None:
    """The adopting Create succeeded; another resource fails and CloudFormation's rollback sends
    the Delete of the adopted ID, as it would for a stack deletion."""
    integration_id = existing(emulator)
    create = event("Create", adopting(integration_id))
    created(function, create)

    deleted(function, delete_for(create, integration_id))

    assert settings_of(emulator, integration_id) == ORIGINAL


@pytest.mark.parametrize("order", ["while-running", "before-it-starts", "after-it-finished"])
def test_a_cancelled_adoption_gives_the_integration_back(
    function: LocalFunction, emulator: Emulator, order: Order
) -> None:
    """Another resource fails while the adoption runs: the Delete carries an ID CloudFormation
    made up, and the integration must come back, not be deleted by its owner label."""
    integration_id = existing(emulator)
    create = event("Create", adopting(integration_id))

    answer = cancel(
        function, emulator, create, MADE_UP_INTEGRATION_ID, order=order, mutation="awsIntegrationUpdate"
    )

    assert answer.status == "SUCCESS", answer.reason
    assert settings_of(emulator, integration_id) == ORIGINAL


def test_a_failure_after_the_settings_were_applied_gives_the_integration_back_at_once(
    function: LocalFunction, emulator: Emulator
) -> None:
    """Spacelift computes no external ID for a stack that does not exist: the Create fails after
    applying the stack's settings, says so, and has already given the integration back."""
    integration_id = existing(emulator)
    create = event("Create", adopting(integration_id, ExternalIdsFor=[{"StackId": "no-such-stack"}]))

    answer = function(create)

    assert answer.status == "FAILED"
    assert "no-such-stack" in answer.reason
    assert "given back" in answer.reason
    assert not any(words in answer.reason.lower() for words in NOTHING_CHANGED)
    assert settings_of(emulator, integration_id) == ORIGINAL
    deleted(function, delete_for(create, answer.physical_id))
    assert settings_of(emulator, integration_id) == ORIGINAL


def test_when_giving_back_fails_too_the_rollback_delete_gives_it_back(
    function: LocalFunction, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The give-back after a failure cannot reach Spacelift: the FAILED answer names the adopted
    integration, so CloudFormation's rollback Delete of that ID gives it back."""
    from spacelift_cfn.spacelift import SpaceliftClient

    real = SpaceliftClient.mutate
    updates: list[str] = []

    def mutate(self: SpaceliftClient, document: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if "awsIntegrationUpdate" in document:
            updates.append(document)
            if len(updates) == 2:  # the give-back right after the failure
                raise SpaceliftError("Spacelift is unavailable")
        return real(self, document, *args, **kwargs)

    monkeypatch.setattr(SpaceliftClient, "mutate", mutate)
    integration_id = existing(emulator)
    create = event("Create", adopting(integration_id, ExternalIdsFor=[{"StackId": "no-such-stack"}]))

    answer = function(create)

    assert (answer.status, answer.physical_id) == ("FAILED", integration_id)
    assert "rollback gives it back" in answer.reason
    assert settings_of(emulator, integration_id) != ORIGINAL
    deleted(function, delete_for(create, answer.physical_id))
    assert settings_of(emulator, integration_id) == ORIGINAL


def test_a_redelivered_adoption_keeps_the_settings_from_before_the_first_delivery(
    function: LocalFunction, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function died right after applying the stack's settings; Lambda delivers the Create
    again. The integration it reads now carries the stack's settings: the record keeps the
    first delivery's, so the later Delete still restores the original ones."""
    integration_id = existing(emulator)
    die_after(monkeypatch, "awsIntegrationUpdate")
    create = event("Create", adopting(integration_id))
    deliver_and_die(function, create)

    answers = function.send(create)

    assert [(a.status, a.physical_id) for a in answers] == [("SUCCESS", integration_id)]
    deleted(function, delete_for(create, integration_id))
    assert settings_of(emulator, integration_id) == ORIGINAL


def test_a_dead_adoption_cancelled_by_cloudformation_gives_the_integration_back(
    function: LocalFunction, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function died mid-adoption and CloudFormation gave up on the Create: its Delete, with
    an ID it made up, finds the adoption on record and gives the integration back."""
    integration_id = existing(emulator)
    die_after(monkeypatch, "awsIntegrationUpdate")
    create = event("Create", adopting(integration_id))
    deliver_and_die(function, create)

    answers = function.send(delete_for(create, MADE_UP_INTEGRATION_ID), timeout=20.0)

    assert [a.status for a in answers] == ["SUCCESS"], [a.reason for a in answers]
    assert settings_of(emulator, integration_id) == ORIGINAL


def test_a_failed_adopting_update_gives_the_new_integration_back_and_keeps_the_old(
    function: LocalFunction, emulator: Emulator
) -> None:
    """An Update switching to another integration fails after applying the stack's settings to
    it: it is given back at once, and the resource keeps its ID for CloudFormation's rollback."""
    emulator.unique_names = False
    first = existing(emulator)
    create = event("Create", adopting(first))
    created(function, create)
    other = IntegrationSettings(name="other_legacy", role_arn=ORIGINAL.role_arn)
    second = existing(emulator, other)
    properties = adopting(second, ExternalIdsFor=[{"StackId": "no-such-stack"}])

    answer = function(event("Update", properties, old=create["ResourceProperties"], physical_id=first))

    assert (answer.status, answer.physical_id) == ("FAILED", first)
    assert "given back" in answer.reason
    assert settings_of(emulator, second) == other
    assert emulator.integrations[first].name == "my_role"
