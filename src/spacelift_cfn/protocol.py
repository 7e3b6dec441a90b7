"""CloudFormation's side of the contract: the request envelope, the one answer, its limits, and
the markers a failed Create answers with (docs/cloudformation.md).

Every module may depend on this one; it depends on nothing in the package, so the event's path
reads one way: ``app`` → ``handler`` → resource module → Spacelift client, with the responder
and exactly-once beside the handler as services.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

SUCCESS = "SUCCESS"
FAILED = "FAILED"
MAX_BODY_BYTES = 4096
MAX_REASON_CHARS = 700
REDACTED = "***"


@dataclass(frozen=True)
class Outcome:
    """The one answer to one request; JSON-serialisable so it can be stored and replayed."""

    status: str
    physical_resource_id: str
    reason: str = ""
    data: dict[str, str] = field(default_factory=dict)
    #: Where the details are (log group, stream, Lambda request ID), appended to a FAILED
    #: reason and never cut. Stored with the outcome: a replayed answer points to the logs of
    #: the delivery that did the work.
    where: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "physical_resource_id": self.physical_resource_id,
            "reason": self.reason,
            "data": self.data,
            "where": self.where,
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> Outcome:
        return cls(
            str(stored["status"]),
            str(stored["physical_resource_id"]),
            str(stored.get("reason", "")),
            dict(stored.get("data") or {}),
            str(stored.get("where", "")),
        )

    def pointing_to(self, where: str) -> Outcome:
        """This outcome, its FAILED reason pointing to ``where`` unless it points somewhere already."""
        if self.status != FAILED or self.where or not where:
            return self
        return replace(self, where=where)


def response_body(
    outcome: Outcome,
    stack_id: str,
    request_id: str,
    logical_resource_id: str,
    secrets: Iterable[str] = (),
) -> bytes:
    """The PUT body, never over 4096 bytes: the reason redacted, its head's start and its tail
    (``outcome.where``) kept whole, the end of the head shortened when it must be."""
    tail = outcome.where if outcome.status == FAILED else ""
    head = redact(outcome.reason, secrets)
    reason = _joined(head, tail, MAX_REASON_CHARS)
    body: dict[str, Any] = {
        "Status": outcome.status,
        "Reason": reason,
        "PhysicalResourceId": outcome.physical_resource_id,
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": logical_resource_id,
        "NoEcho": False,
        "Data": dict(sorted(outcome.data.items())),  # stable bytes when an outcome is replayed
    }
    encoded = json.dumps(body, ensure_ascii=False).encode()
    if len(encoded) > MAX_BODY_BYTES:
        body["Status"], body["Data"] = FAILED, {}
        head = (
            f"The attributes of this resource ({data_size(outcome.data)} bytes) do not fit "
            "CloudFormation's 4096-byte response; ask for fewer external IDs."
        )
        tail = outcome.where
        body["Reason"] = _joined(head, tail, MAX_REASON_CHARS)
        encoded = json.dumps(body, ensure_ascii=False).encode()
    limit = len(head)
    while len(encoded) > MAX_BODY_BYTES and limit > 20:
        limit //= 2
        body["Reason"] = _joined(_short(head, limit), tail, MAX_REASON_CHARS)
        encoded = json.dumps(body, ensure_ascii=False).encode()
    return encoded


def _joined(head: str, tail: str, limit: int) -> str:
    """``head`` then ``tail``; the head shortened from its end so the whole fits ``limit``
    characters, but never below a useful start (the tail is never cut)."""
    if not tail:
        return _short(head, limit)
    if not head:
        return tail
    room = max(limit - len(tail) - 1, min(len(head), 120))
    return f"{_short(head, room)} {tail}"


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _short(text: str, limit: int = MAX_REASON_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: The PhysicalResourceId of a Create that failed before anything existed.
#: CloudFormation sends a Delete for it, which must succeed without calling Spacelift.
CREATE_FAILED_PREFIX = "spacelift-cfn:create-failed:"
#: The PhysicalResourceId of a Create that failed without knowing whether Spacelift applied
#: it (the answer was lost, or time ran out): its Delete looks for what it may have made.
CREATE_INCOMPLETE_PREFIX = "spacelift-cfn:create-incomplete:"


def create_failed_id(logical_resource_id: str) -> str:
    return f"{CREATE_FAILED_PREFIX}{logical_resource_id}"[:1024]


def create_incomplete_id(logical_resource_id: str) -> str:
    return f"{CREATE_INCOMPLETE_PREFIX}{logical_resource_id}"[:1024]


def is_failed_create_id(physical_resource_id: str) -> bool:
    """The ID this provider answers a Create with that made nothing."""
    return physical_resource_id.startswith(CREATE_FAILED_PREFIX)


def data_size(data: Mapping[str, str]) -> int:
    """Bytes ``data`` takes in the response body (as the responder serialises it)."""
    return len(json.dumps(data, ensure_ascii=False).encode())


REQUEST_TYPES = ("Create", "Update", "Delete")
#: Room kept in the response for a PhysicalResourceId longer than the event's.
_ID_ALLOWANCE = 64

#: Longest values (UTF-8 bytes) CloudFormation sends; longer ones are refused and echoed cut
#: short, so that even then the answer fits its 4096 bytes.
_FIELD_LIMITS = {
    "RequestType": 16,
    "ResponseURL": 4096,
    "StackId": 512,
    "RequestId": 128,
    "LogicalResourceId": 255,
    "PhysicalResourceId": 1024,
    "ResourceType": 128,
}


@dataclass(frozen=True)
class Envelope:
    """The fields of a CloudFormation event, each checked for its type."""

    request_type: str
    response_url: str
    stack_id: str
    request_id: str
    logical_resource_id: str
    physical_resource_id: str
    resource_type: str
    properties: Mapping[str, Any]
    problems: tuple[str, ...]

    @classmethod
    def from_event(cls, event: object) -> Envelope:
        fields = event if isinstance(event, Mapping) else {}
        problems: list[str] = [] if isinstance(event, Mapping) else ["the event is not a JSON object"]

        def text(name: str, required: bool = True) -> str:
            value = fields.get(name)
            if isinstance(value, str) and len(value.encode()) > _FIELD_LIMITS[name]:
                problems.append(f"event field {name} is longer than CloudFormation allows")
                return value.encode()[: _FIELD_LIMITS[name]].decode(errors="ignore")
            if isinstance(value, str) and (value or not required):
                return value
            if required or value is not None:
                problems.append(f"event field {name} is missing or not a non-empty string")
            return ""

        def mapping(name: str) -> Mapping[str, Any]:
            value = fields.get(name)
            return value if isinstance(value, Mapping) else {}

        request_type = text("RequestType")
        if request_type and request_type not in REQUEST_TYPES:
            problems.append(f"RequestType {request_type[:40]!r} is not Create, Update or Delete")
        return cls(
            request_type=request_type,
            response_url=text("ResponseURL"),
            stack_id=text("StackId"),
            request_id=text("RequestId"),
            logical_resource_id=text("LogicalResourceId"),
            physical_resource_id=text("PhysicalResourceId", required=False),
            resource_type=text("ResourceType"),
            properties=mapping("ResourceProperties"),
            problems=tuple(problems),
        )

    def crhelper_event(self) -> dict[str, str]:
        """The fields crhelper reads, all present, so it never fails on a malformed event."""
        event = {
            "RequestType": self.request_type,
            "ResponseURL": self.response_url,
            "StackId": self.stack_id,
            "RequestId": self.request_id,
            "LogicalResourceId": self.logical_resource_id,
        }
        if self.physical_resource_id:
            event["PhysicalResourceId"] = self.physical_resource_id
        return event

    def idempotency_key(self) -> dict[str, str]:
        return {
            "StackId": self.stack_id,
            "RequestId": self.request_id,
            "LogicalResourceId": self.logical_resource_id,
        }

    def data_budget(self) -> int:
        empty = Outcome(SUCCESS, self.physical_resource_id or "x" * 26)
        envelope_size = len(response_body(empty, self.stack_id, self.request_id, self.logical_resource_id))
        return MAX_BODY_BYTES - envelope_size - _ID_ALLOWANCE

    def failed(self, reason: str, *, uncertain: bool = False) -> Outcome:
        """FAILED, with an ID CloudFormation accepts and a later Delete recognises.

        A failed Create answers a marker: ``uncertain`` when Spacelift may have applied
        something (its Delete then looks for it), else one whose Delete does nothing.
        """
        physical_id = self.physical_resource_id
        if self.request_type == "Create" or not physical_id:
            marker = create_incomplete_id if uncertain else create_failed_id
            physical_id = marker(self.logical_resource_id)
        return Outcome(FAILED, physical_id, reason)
