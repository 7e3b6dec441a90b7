"""``Custom::SpaceliftAwsIntegrationAttachment``: an integration attached to a stack or module.

PhysicalResourceId: ``<integrationId>/<stackOrModuleId>/<attachmentId>`` (the
Terraform provider's ``<integrationId>/<stackOrModuleId>`` plus the attachment
ID, which update and detach need), so Update and Delete never guess.

Spacelift tests role assumption when attaching, and a new IAM role takes a
while to be assumable, so exactly the trust-relationship error is retried with
backoff for about a minute, bounded by the function's deadline.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from spacelift_cfn.deadline import Deadline, DeadlineExceeded
from spacelift_cfn.properties import non_empty, parse, prop
from spacelift_cfn.resources.common import Request, Result, Target, account, never_created
from spacelift_cfn.spacelift import GraphQLError, OutcomeUnknown, SpaceliftClient, SpaceliftError

RESOURCE_TYPE = "Custom::SpaceliftAwsIntegrationAttachment"

TRUST_ERROR = "you need to configure trust relationship"
#: Total time spent retrying the trust-relationship error, and the pauses between tries.
TRUST_RETRY_SECONDS = 60.0
TRUST_RETRY_PAUSES = (1.0, 2.0, 4.0, 8.0, 10.0)

_SELECTION = "{ id stackId isModule read write }"
_ATTACH = (
    "mutation AWSIntegrationAttach($id: ID!, $stack: ID!, $read: Boolean!, $write: Boolean!) "
    f"{{ awsIntegrationAttach(id: $id, stack: $stack, read: $read, write: $write) {_SELECTION} }}"
)
_UPDATE = (
    "mutation AWSIntegrationAttachmentUpdate($id: ID!, $read: Boolean!, $write: Boolean!) "
    f"{{ awsIntegrationAttachmentUpdate(id: $id, read: $read, write: $write) {_SELECTION} }}"
)
_DETACH = f"mutation AWSIntegrationDetach($id: ID!) {{ awsIntegrationDetach(id: $id) {_SELECTION} }}"
_READ = (
    "query AWSIntegrationAttachmentRead($id: ID!, $stack: ID!) "
    f"{{ awsIntegration(id: $id) {{ attachedStack(id: $stack) {_SELECTION} }} }}"
)


@dataclass(frozen=True, kw_only=True)
class AttachmentProperties(Target):
    integration_id: str = prop(
        "IntegrationId",
        "ID of the integration, usually `!Ref` of a SpaceliftAwsIntegration.",
        check=non_empty,
    )


@dataclass(frozen=True)
class PhysicalId:
    integration_id: str
    project_id: str
    attachment_id: str

    def __str__(self) -> str:
        return f"{self.integration_id}/{self.project_id}/{self.attachment_id}"

    @classmethod
    def parse(cls, text: str) -> PhysicalId | None:
        parts = text.split("/")
        if never_created(text) or len(parts) != 3 or not all(parts):
            return None
        return cls(*parts)


def create(client: SpaceliftClient, request: Request) -> Result:
    properties = parse(AttachmentProperties, request.properties)
    return _attach(client, request, properties)


def update(client: SpaceliftClient, request: Request) -> Result:
    properties = parse(AttachmentProperties, request.properties)
    current = PhysicalId.parse(request.physical_resource_id)
    if current is None:
        return _attach(client, request, properties)
    if (current.integration_id, current.project_id) != (
        properties.integration_id,
        properties.project_id,
    ):
        if current.project_id == properties.project_id:
            # A stack holds one read and one write attachment: free the slot first.
            _detach(client, current.attachment_id, request.deadline)
        return _attach(client, request, properties)
    try:
        attachment = _mutate(
            client,
            _UPDATE,
            {"id": current.attachment_id, "read": properties.read, "write": properties.write},
            request.deadline,
            "awsIntegrationAttachmentUpdate",
            repeatable=True,
        )
    except GraphQLError as error:
        if not error.not_found:
            raise SpaceliftError(f"Could not update the AWS integration attachment: {error}") from error
        return _attach(client, request, properties)  # detached behind CloudFormation's back
    return _result(client, request, properties, attachment)


def delete(client: SpaceliftClient, request: Request) -> None:
    current = PhysicalId.parse(request.physical_resource_id)
    if current is not None:
        _detach(client, current.attachment_id, request.deadline)


def _detach(client: SpaceliftClient, attachment_id: str, deadline: Deadline) -> None:
    try:
        client.mutate(_DETACH, {"id": attachment_id}, deadline, repeatable=True)
    except GraphQLError as error:
        if not error.not_found:
            raise SpaceliftError(f"Could not detach the AWS integration: {error}") from error


def _attach(client: SpaceliftClient, request: Request, properties: AttachmentProperties) -> Result:
    variables = {
        "id": properties.integration_id,
        "stack": properties.project_id,
        "read": properties.read,
        "write": properties.write,
    }
    deadline = request.deadline
    trust_deadline = Deadline(min(deadline.at, Deadline.after(TRUST_RETRY_SECONDS).at))
    for attempt in range(10_000):
        try:
            attachment = _mutate(
                client, _ATTACH, variables, deadline, "awsIntegrationAttach", repeatable=False
            )
        except OutcomeUnknown:
            attachment = _existing(client, properties, deadline) or _mutate(
                client, _ATTACH, variables, deadline, "awsIntegrationAttach", repeatable=False
            )
        except GraphQLError as error:
            if not error.mentions(TRUST_ERROR):
                raise SpaceliftError(_attach_failure(properties, error)) from error
            pause = TRUST_RETRY_PAUSES[min(attempt, len(TRUST_RETRY_PAUSES) - 1)] * random.uniform(0.8, 1.2)
            try:
                trust_deadline.sleep(pause)
            except DeadlineExceeded:
                raise SpaceliftError(_trust_failure(properties)) from error
            continue
        return _result(client, request, properties, attachment)
    raise AssertionError("unreachable")  # pragma: no cover


def _existing(
    client: SpaceliftClient, properties: AttachmentProperties, deadline: Deadline
) -> dict[str, Any] | None:
    """The attachment an attach whose answer was lost may have made."""
    data = client.query(_READ, {"id": properties.integration_id, "stack": properties.project_id}, deadline)
    attached = (data.get("awsIntegration") or {}).get("attachedStack")
    if isinstance(attached, dict) and (attached.get("read"), attached.get("write")) == (
        properties.read,
        properties.write,
    ):
        return attached
    return None


def _mutate(
    client: SpaceliftClient,
    document: str,
    variables: dict[str, Any],
    deadline: Deadline,
    operation: str,
    *,
    repeatable: bool,
) -> dict[str, Any]:
    attachment = client.mutate(document, variables, deadline, repeatable=repeatable).get(operation)
    if not isinstance(attachment, dict) or not attachment.get("id"):
        raise SpaceliftError(f"Spacelift answered {operation} without an attachment.")
    return attachment


def _result(
    client: SpaceliftClient,
    request: Request,
    properties: AttachmentProperties,
    attachment: dict[str, Any],
) -> Result:
    # The external ID follows the documented format (reference §10), so reading it
    # back from the API would only cost a round trip.
    account_name = account(client, request.deadline).name
    access = "write" if properties.write else "read"
    physical_id = PhysicalId(properties.integration_id, properties.project_id, str(attachment["id"]))
    return Result(
        str(physical_id),
        {
            "Id": str(attachment["id"]),
            "IntegrationId": properties.integration_id,
            "StackId": properties.project_id,
            "IsModule": _flag(bool(attachment.get("isModule", properties.is_module))),
            "Read": _flag(bool(attachment.get("read"))),
            "Write": _flag(bool(attachment.get("write"))),
            "ExternalId": f"{account_name}@{properties.integration_id}@{properties.project_id}@{access}",
        },
    )


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _what(properties: AttachmentProperties) -> str:
    kind = "module" if properties.is_module else "stack"
    return f"integration {properties.integration_id} to {kind} {properties.project_id}"


def _attach_failure(properties: AttachmentProperties, error: GraphQLError) -> str:
    if error.not_found:
        return f"Could not attach {_what(properties)}: {error}; check that both exist."
    return f"Could not attach {_what(properties)}: {error}"


def _trust_failure(properties: AttachmentProperties) -> str:
    return (
        f"Could not attach {_what(properties)}: Spacelift still cannot assume the role. Check the "
        "role's trust policy (principal SpaceliftAwsAccountId, sts:ExternalId from ExternalId.<id>), "
        "that the attachment DependsOn the role, and that STS is enabled in the region Spacelift uses."
    )
