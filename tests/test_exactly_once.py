"""Duplicate deliveries and a Delete racing its Create, with the idempotency table in moto's DynamoDB."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from localcfn import CapturedResponse, LocalFunction
from spacelift_emulator import Emulator
from tests import tally
from tests.conftest import ROLE_ARN, event

PROPERTIES = {"Name": "my_role", "RoleArn": ROLE_ARN, "ExternalIdsFor": [{"StackId": "my-stack-id"}]}


def deliver_concurrently(function: LocalFunction, events: list[dict[str, Any]]) -> list[CapturedResponse]:
    answers: list[CapturedResponse] = []
    threads = [threading.Thread(target=lambda e=e: answers.extend(function.send(e))) for e in events]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    return answers


def test_a_redelivered_create_replays_the_same_answer(
    function: LocalFunction, emulator: Emulator, table: str
) -> None:
    create = event("Create", PROPERTIES)
    first = function.send(create)
    second = function.send(create)
    tally.add("duplicates delivered")

    assert len(emulator.integrations) == 1
    assert emulator.request_count("awsIntegrationCreate") == 1
    assert len(first) == 1 and len(second) == 2  # the capture server keeps both answers
    assert second[0].raw == second[1].raw
    assert first[0].status == "SUCCESS"


def test_concurrent_duplicates_create_one_integration_and_one_answer(
    function: LocalFunction, emulator: Emulator, table: str
) -> None:
    emulator.faults.latency = 0.5
    create = event("Create", PROPERTIES)
    answers = deliver_concurrently(function, [create, create, create])
    tally.add("duplicates delivered", 2)
    emulator.faults.latency = 0

    assert len(emulator.integrations) == 1
    assert emulator.request_count("awsIntegrationCreate") == 1
    assert len(answers) == 1  # the duplicates in flight stay silent
    assert answers[0].status == "SUCCESS"


def test_a_failed_answer_is_replayed_not_changed(
    function: LocalFunction, emulator: Emulator, table: str
) -> None:
    create = event("Create", PROPERTIES)
    emulator.faults.fail_next(-1, status=400)  # not retried: FAILED at once
    (first,) = function.send(create)
    emulator.faults.reset()
    _, second = function.send(create)
    tally.add("duplicates delivered")

    assert first.status == second.status == "FAILED"
    assert first.raw == second.raw
    assert emulator.integrations == {}


def test_a_delete_racing_its_create_leaves_no_integration(
    function: LocalFunction, emulator: Emulator, table: str
) -> None:
    emulator.faults.hang_next(1, seconds=1.0, field="awsIntegrationCreate")
    create = event("Create", PROPERTIES)
    cancel = event("Delete", PROPERTIES)  # no PhysicalResourceId: the Create never answered
    answers = deliver_concurrently(function, [create, cancel])

    by_type = {a.body["RequestId"]: a for a in answers}
    assert by_type[cancel["RequestId"]].status == "SUCCESS"
    assert by_type[create["RequestId"]].status == "FAILED"
    assert "cancelled" in by_type[create["RequestId"]].reason
    assert emulator.integrations == {}


@pytest.mark.parametrize("style", ["null", "error"])
def test_a_cancelling_delete_after_the_create_finished_deletes_it(
    function: LocalFunction, emulator: Emulator, style: str
) -> None:
    emulator.faults.not_found_style = style  # type: ignore[assignment]
    created = function(event("Create", PROPERTIES))
    assert created.status == "SUCCESS"

    cancel = function(event("Delete", PROPERTIES))
    assert cancel.status == "SUCCESS"
    assert emulator.integrations == {}


def test_a_cancelling_delete_does_not_touch_an_integration_it_did_not_make(
    function: LocalFunction, emulator: Emulator
) -> None:
    function(event("Create", PROPERTIES, logical_id="SomeoneElse"))
    cancel = function(event("Delete", PROPERTIES))
    emulator.faults.not_found_style = "error"
    nothing = function(event("Delete", {**PROPERTIES, "Name": "never-made"}))

    assert (cancel.status, nothing.status) == ("SUCCESS", "SUCCESS"), nothing.reason
    assert len(emulator.integrations) == 1


def test_without_the_table_the_function_still_works(function: LocalFunction, emulator: Emulator) -> None:
    create = event("Create", PROPERTIES)
    assert function(create).status == "SUCCESS"
    assert function.send(create)[-1].status == "SUCCESS"  # redelivery: adopted through the owner label
    assert len(emulator.integrations) == 1
