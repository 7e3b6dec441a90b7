"""Spacelift faults, injected at the emulator: each is retried within bounds or reported
clearly, every request still gets exactly one answer before the deadline, and nothing is
created twice."""

from __future__ import annotations

import socket
import time

from localcfn import LocalFunction
from spacelift_emulator import Emulator
from tests.conftest import ROLE_ARN, event

PROPERTIES = {"Name": "my_role", "RoleArn": ROLE_ARN, "ExternalIdsFor": [{"StackId": "my-stack-id"}]}


def test_5xx_is_retried(function: LocalFunction, emulator: Emulator) -> None:
    emulator.faults.fail_next(2, status=502)
    response = function(event("Create", PROPERTIES))

    assert response.status == "SUCCESS", response.reason
    assert len(emulator.integrations) == 1


def test_429_waits_for_retry_after(function: LocalFunction, emulator: Emulator) -> None:
    emulator.faults.throttle_next(1, retry_after=1, field="awsIntegrationCreate")
    started = time.monotonic()
    response = function(event("Create", PROPERTIES))

    assert response.status == "SUCCESS", response.reason
    assert time.monotonic() - started >= 1.0
    assert len(emulator.integrations) == 1


def test_a_retry_after_beyond_the_deadline_fails_at_once_with_a_reason(
    function: LocalFunction, emulator: Emulator
) -> None:
    function.timeout = 5
    emulator.faults.throttle_next(1, retry_after=60, field="awsIntegrationCreate")
    started = time.monotonic()
    response = function(event("Create", PROPERTIES))

    assert response.status == "FAILED"
    assert "retry later" in response.reason
    assert time.monotonic() - started < 5
    assert emulator.integrations == {}


def test_an_expired_token_is_exchanged_again_once(function: LocalFunction, emulator: Emulator) -> None:
    function(event("Create", {"Name": "first", "RoleArn": ROLE_ARN}))
    emulator.faults.expire_tokens()
    response = function(event("Create", PROPERTIES))

    assert response.status == "SUCCESS", response.reason
    assert emulator.token_exchanges == 2


def test_malformed_json_is_retried_for_safe_operations(function: LocalFunction, emulator: Emulator) -> None:
    created = function(event("Create", PROPERTIES))
    emulator.faults.malformed_next(1, field="awsIntegrationUpdate")
    response = function(event("Update", {**PROPERTIES, "Name": "renamed"}, physical_id=created.physical_id))

    assert (response.status, response.physical_id) == ("SUCCESS", created.physical_id), response.reason
    assert emulator.integrations[created.physical_id].name == "renamed"


def test_a_create_applied_but_unconfirmed_is_adopted_not_repeated(
    function: LocalFunction, emulator: Emulator
) -> None:
    emulator.faults.fail_after_apply_next(1, status=503, field="awsIntegrationCreate")
    response = function(event("Create", PROPERTIES))

    assert response.status == "SUCCESS", response.reason
    assert list(emulator.integrations) == [response.physical_id]
    assert response.data["ExternalId.my-stack-id"].endswith(f"@{response.physical_id}@my-stack-id@write")


def test_a_redelivered_create_after_a_lost_answer_adopts_the_integration(
    function: LocalFunction, emulator: Emulator
) -> None:
    create = event("Create", PROPERTIES)
    function.timeout = 3
    emulator.faults.hang_next(1, seconds=4, field="awsIntegrationCreate")
    first = function(create)
    assert first.status == "FAILED"  # the answer was lost to the deadline; Spacelift made it
    assert len(emulator.integrations) == 1

    function.timeout = 30
    time.sleep(1.2)  # let the hung request finish on the emulator's side
    second = function.send(create)  # Lambda's retry of the same event

    assert second[-1].status == "SUCCESS", second[-1].reason
    assert list(emulator.integrations) == [second[-1].physical_id]


def test_a_name_taken_by_someone_else_is_not_adopted(function: LocalFunction, emulator: Emulator) -> None:
    function(event("Create", PROPERTIES, logical_id="OtherResource"))
    response = function(event("Create", PROPERTIES))

    assert response.status == "FAILED"
    assert "Could not create AWS integration 'my_role'" in response.reason
    assert "already exists" in response.reason
    assert len(emulator.integrations) == 1


def test_spacelift_down_fails_before_the_deadline(function: LocalFunction, emulator: Emulator) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    function.environment = {
        **function.environment,
        "SPACELIFT_API_KEY_ENDPOINT": f"http://127.0.0.1:{closed_port}",
    }
    function.timeout = 6
    started = time.monotonic()
    response = function(event("Create", PROPERTIES))

    assert response.status == "FAILED"
    assert "did not answer" in response.reason and "reachable" in response.reason
    assert time.monotonic() - started < 6


def test_a_hanging_spacelift_is_answered_before_the_deadline(
    function: LocalFunction, emulator: Emulator
) -> None:
    function.timeout = 4
    emulator.faults.latency = 10
    started = time.monotonic()
    answers = function.send(event("Update", PROPERTIES, physical_id="01JD8Z6S3M1Q2W3E4R5T6Y7U8K"))

    assert len(answers) == 1
    assert answers[0].status == "FAILED"
    assert answers[0].physical_id == "01JD8Z6S3M1Q2W3E4R5T6Y7U8K"
    assert time.monotonic() - started < 4
    emulator.faults.latency = 0
