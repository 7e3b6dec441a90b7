"""Random and hostile events (hypothesis): every answerable one gets exactly one well-formed answer
of at most 4096 bytes, invalid input creates nothing, and nothing escapes as an exception."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app
from localcfn import LambdaContext, LocalFunction
from spacelift_emulator import Emulator
from tests import tally
from tests.conftest import ATTACHMENT, EXTERNAL_ID, INTEGRATION, ROLE_ARN, STACK_ID

KNOWN = [
    "Name",
    "RoleArn",
    "DurationSeconds",
    "Labels",
    "ExternalIdsFor",
    "StackId",
    "ModuleId",
    "Read",
    "Write",
    "IntegrationId",
    "SpaceId",
    "Region",
    "ExternalId",
    "RoleARN",
    "ServiceToken",
]
NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", " ", "true", "900", "-1", "1e9", "null", "\u202e", "💥" * 500, "x" * 5000, ROLE_ARN]
    ),
)
LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), NASTY_TEXT)
JSON = st.recursive(
    LEAF,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KNOWN), st.text(max_size=10)), children, max_size=4),
    ),
    max_leaves=12,
)
PROPERTIES = st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(KNOWN), st.text(max_size=8)), JSON, max_size=6),
    JSON,
)
FIELD_VALUES = {
    "RequestType": st.one_of(st.sampled_from(["Create", "Update", "Delete"]), JSON),
    "ResourceType": st.one_of(st.sampled_from([INTEGRATION, ATTACHMENT, EXTERNAL_ID, "Custom::Other"]), JSON),
    "StackId": st.one_of(st.just(STACK_ID), JSON),
    "LogicalResourceId": st.one_of(st.just("Resource"), NASTY_TEXT, JSON),
    "PhysicalResourceId": st.one_of(st.sampled_from(["01JD8Z6S3M1Q2W3E4R5T6Y7U8K", "a/b/c", ""]), JSON),
    "ResourceProperties": PROPERTIES,
    "OldResourceProperties": PROPERTIES,
}


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {"RequestId": str(uuid.uuid4())}
    for name, values in FIELD_VALUES.items():
        if draw(st.integers(0, 9)) > 0:  # each field is missing one time in ten
            event[name] = draw(values)
    event["HasResponseURL"] = draw(st.integers(0, 19)) > 0
    return event


def check_answer(raw: bytes, event: dict[str, Any]) -> dict[str, Any]:
    assert len(raw) <= 4096
    body = json.loads(raw)
    assert body["Status"] in ("SUCCESS", "FAILED")
    assert isinstance(body["PhysicalResourceId"], str) and body["PhysicalResourceId"]
    assert len(body["PhysicalResourceId"]) <= 1024
    for field in ("StackId", "RequestId", "LogicalResourceId"):
        assert isinstance(body[field], str)
    assert body["RequestId"] == event["RequestId"]
    assert all(isinstance(value, str) for value in body.get("Data", {}).values())
    if body["Status"] == "FAILED":
        assert body["Reason"]
    return dict(body)


@settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(event=events())
def test_hostile_events(function: LocalFunction, emulator: Emulator, event: dict[str, Any]) -> None:
    tally.add("hostile inputs tried")
    has_url = event.pop("HasResponseURL")
    before = dict(emulator.integrations), dict(emulator.attachments)

    if has_url:
        answers = function.send(event)
    else:
        app.handler(event, LambdaContext())
        answers = function.responses.for_request(event["RequestId"])

    if not has_url:
        assert answers == []
        assert (emulator.integrations, emulator.attachments) == before
        return
    assert len(answers) == 1
    body = check_answer(answers[0].raw, event)
    created = set(emulator.integrations) - set(before[0])
    if body["Status"] == "FAILED" or event.get("RequestType") == "Delete":
        assert not created
        assert emulator.attachments.keys() <= before[1].keys()
    elif created:  # valid properties by chance: what was made is what CloudFormation was told
        assert created == {body["PhysicalResourceId"]}
