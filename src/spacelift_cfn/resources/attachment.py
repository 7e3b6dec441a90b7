"""``Custom::SpaceliftAwsIntegrationAttachment``: an integration attached to a stack or module.

PhysicalResourceId: ``<integrationId>/<stackOrModuleId>/<attachmentId>`` (the
Terraform provider's ``<integrationId>/<stackOrModuleId>`` plus the attachment
ID, which update and detach need). It stays when only the integration changes
on the same stack; the ownership record (:mod:`spacelift_cfn.ownership`) then
names the attachment that exists, so Update and Delete never guess.

Spacelift tests role assumption when attaching, and a new IAM role takes a
while to be assumable, so exactly the trust-relationship error is retried with
backoff for about a minute, bounded by the function's deadline.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

from spacelift_cfn.deadline import Deadline
from spacelift_cfn.errors import (
    CreateCancelled,
    DeadlineExceeded,
    GraphQLError,
    OutcomeUnknown,
    PropertyError,
    SpaceliftError,
)
from spacelift_cfn.ownership import Ledger, Made
from spacelift_cfn.properties import non_empty, parse, prop
from spacelift_cfn.protocol import CREATE_INCOMPLETE_PREFIX
from spacelift_cfn.resources.external_ids import Target, account
from spacelift_cfn.resources.interface import Request, Result, is_spacelift_id
from spacelift_cfn.spacelift import TRUST_ERROR, SpaceliftClient, Variable, arguments, document

RESOURCE_TYPE = "Custom::SpaceliftAwsIntegrationAttachment"

#: Total time spent retrying the trust-relationship error, and the pauses between tries.
TRUST_RETRY_SECONDS = 60.0
TRUST_RETRY_PAUSES = (1.0, 2.0, 4.0, 8.0, 10.0)

_SELECTION = "{ id stackId isModule read write }"


def _attach_document(properties: AttachmentProperties) -> tuple[str, dict[str, Any]]:
    variables = [*_pair_variables(properties), *_access_variables(properties)]
    body = f"awsIntegrationAttach({arguments(variables)}) {_SELECTION}"
    return document("mutation AWSIntegrationAttach", variables, body)


def _update_document(attachment_id: str, properties: AttachmentProperties) -> tuple[str, dict[str, Any]]:
    variables = [Variable("id", "ID!", attachment_id), *_access_variables(properties)]
    body = f"awsIntegrationAttachmentUpdate({arguments(variables)}) {_SELECTION}"
    return document("mutation AWSIntegrationAttachmentUpdate", variables, body)


def _detach_document(attachment_id: str) -> tuple[str, dict[str, Any]]:
    variables = [Variable("id", "ID!", attachment_id)]
    return document(
        "mutation AWSIntegrationDetach",
        variables,
        f"awsIntegrationDetach({arguments(variables)}) {_SELECTION}",
    )


def _read_document(properties: AttachmentProperties) -> tuple[str, dict[str, Any]]:
    integration, stack = _pair_variables(properties)
    stack = replace(stack, argument="id")
    body = f"awsIntegration({integration.passed}) {{ attachedStack({stack.passed}) {_SELECTION} }}"
    return document("query AWSIntegrationAttachmentRead", [integration, stack], body)


def _pair_variables(properties: AttachmentProperties) -> list[Variable]:
    """The integration (``id``) and the stack or module (``stack``, which takes module IDs too)."""
    return [Variable("id", "ID!", properties.integration_id), Variable("stack", "ID!", properties.project_id)]


def _access_variables(properties: AttachmentProperties) -> list[Variable]:
    return [Variable("read", "Boolean!", properties.read), Variable("write", "Boolean!", properties.write)]


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
        """The ID this provider issued, or None for any other (made up, a marker, empty)."""
        parts = text.split("/")
        if len(parts) != 3 or not all(parts) or not is_spacelift_id(parts[0]):
            return None
        return cls(*parts)

    def as_made(self) -> Made:
        return Made(str(self), self.attachment_id, self.integration_id, self.project_id)


def create(client: SpaceliftClient, request: Request) -> Result:
    properties = parse(AttachmentProperties, request.properties)
    account_name = account(client, request.deadline).name  # before anything irreversible
    ledger = Ledger(request.stack_id, request.logical_resource_id)
    start = ledger.begin_create(request.request_id)
    try:
        if start.cancelled:
            if start.redelivery:  # an earlier delivery of this Create may have attached it
                _detach_adoptable(client, request, properties, ledger)
            raise CreateCancelled
        made = _attach_own(client, request, properties, ledger, adopt=start.redelivery)
        if ledger.record_made(made, request.request_id):
            _detach(client, made.object_id, request.deadline)
            ledger.forget(made)
            raise CreateCancelled
        return _result(account_name, properties, made)
    except Exception as error:
        uncertain = isinstance(error, OutcomeUnknown) or not isinstance(error, SpaceliftError)
        ledger.finish_create(request.request_id, uncertain=uncertain)
        raise


def update(client: SpaceliftClient, request: Request) -> Result:
    """Read/write flips and integration switches change in place; another stack replaces.

    The PhysicalResourceId stays when only ``IntegrationId`` changes: a stack holds one
    read and one write attachment, so the old cannot stay attached beside the new until
    the cleanup phase, and a rollback Update to the same ID restores the old one. The
    attachment that exists is then the one the ownership record names.
    """
    properties = parse(AttachmentProperties, request.properties)
    account_name = account(client, request.deadline).name
    ledger = Ledger(request.stack_id, request.logical_resource_id)
    issued = PhysicalId.parse(request.physical_resource_id)
    if issued is None or issued.project_id != properties.project_id:
        redelivered = ledger.seen_before(request.request_id)
        made = _attach_own(client, request, properties, ledger, adopt=redelivered)
        ledger.record_made(made, request.request_id)
        return _result(account_name, properties, made)
    current = ledger.read().made.get(request.physical_resource_id) or issued.as_made()
    # Recorded as detached: an earlier attempt of a switch detached it, and may have attached.
    interrupted = not current.object_id
    if current.integration_id != properties.integration_id and current.object_id:
        _detach(client, current.object_id, request.deadline)
        current = replace(current, object_id="")
        ledger.record_made(current, request.request_id)
    attachment_id = current.object_id and _set_access(client, request, properties, current.object_id)
    if not attachment_id:  # switched, or detached behind CloudFormation's back
        adopt = interrupted or ledger.seen_before(request.request_id)
        attachment_id = _attach_own(client, request, properties, ledger, adopt=adopt).object_id
    made = Made(request.physical_resource_id, attachment_id, properties.integration_id, properties.project_id)
    if made != current:
        ledger.record_made(made, request.request_id)
    return _result(account_name, properties, made)


def delete(client: SpaceliftClient, request: Request) -> None:
    """Detach the attachment the ID stands for; for any other ID, what this resource made.

    An ID this provider did not issue (CloudFormation's made-up ID for a cancelled
    Create, a marker, empty) never reaches Spacelift: only the attachments the
    ownership record says this resource made are detached.
    """
    ledger = Ledger(request.stack_id, request.logical_resource_id)
    issued = PhysicalId.parse(request.physical_resource_id)
    if issued is not None:
        current = ledger.read().made.get(request.physical_resource_id) or issued.as_made()
        if not ledger.enabled:
            current = _without_record(client, request, current)
        if current.object_id:
            _detach(client, current.object_id, request.deadline)
        ledger.forget(current)
        return
    if not request.physical_resource_id.startswith(CREATE_INCOMPLETE_PREFIX):
        ledger.cancel(request.request_id)
    for made in ledger.settled(request.deadline).made.values():
        if made.object_id:
            _detach(client, made.object_id, request.deadline)
        ledger.forget(made)


def _without_record(client: SpaceliftClient, request: Request, current: Made) -> Made:
    """Without the ownership table, the attachment of an ID whose integration was switched in
    place is found from the deployed properties (which the Delete carries)."""
    try:
        properties = parse(AttachmentProperties, request.properties)
    except PropertyError:
        return current
    if properties.integration_id == current.integration_id:
        return current
    attached = _read_attached(client, request, properties)
    if attached is not None:
        return Made(
            current.physical_id, str(attached["id"]), properties.integration_id, properties.project_id
        )
    return current


def _set_access(
    client: SpaceliftClient, request: Request, properties: AttachmentProperties, attachment_id: str
) -> str:
    """Update read/write in place; "" if the attachment is gone."""
    try:
        attachment = _mutate(
            client,
            _update_document(attachment_id, properties),
            request.deadline,
            "awsIntegrationAttachmentUpdate",
            repeatable=True,
        )
    except GraphQLError as error:
        if not error.not_found:
            raise SpaceliftError(f"Could not update the AWS integration attachment: {error}") from error
        return ""
    return str(attachment["id"])


def _detach(client: SpaceliftClient, attachment_id: str, deadline: Deadline) -> None:
    try:
        client.mutate(*_detach_document(attachment_id), deadline, repeatable=True)
    except GraphQLError as error:
        if not error.not_found:
            raise SpaceliftError(f"Could not detach the AWS integration: {error}") from error


def _attach_own(
    client: SpaceliftClient,
    request: Request,
    properties: AttachmentProperties,
    ledger: Ledger,
    *,
    adopt: bool,
) -> Made:
    """Attach, or take over the attachment of the same pair that this resource made.

    ``adopt``: an earlier delivery of this very request may have attached it and died.
    An attachment another resource made is never taken over.
    """
    try:
        attachment_id = _attach(client, request, properties)
    except OutcomeUnknown:
        found = _adoptable(client, request, properties, ledger, adopt=True)
        if found is not None:
            return found
        attachment_id = _attach(client, request, properties)
    except _Refused as refused:
        found = _adoptable(client, request, properties, ledger, adopt=adopt)
        if found is None:
            raise SpaceliftError(_attach_failure(properties, refused.error)) from refused.error
        return found
    physical_id = PhysicalId(properties.integration_id, properties.project_id, attachment_id)
    return physical_id.as_made()


def _adoptable(
    client: SpaceliftClient,
    request: Request,
    properties: AttachmentProperties,
    ledger: Ledger,
    *,
    adopt: bool,
) -> Made | None:
    """The existing attachment of the pair, if this resource made it (or, with ``adopt``,
    if no resource recorded it and its access is the one asked for)."""
    attached = _read_attached(client, request, properties)
    if attached is None:
        return None
    attachment_id = str(attached["id"])
    recorded = next((m for m in ledger.read().made.values() if m.object_id == attachment_id), None)
    if recorded is not None:
        return recorded
    if not adopt or ledger.owns_attachment(attachment_id) is False:
        return None
    if (attached.get("read"), attached.get("write")) != (properties.read, properties.write):
        return None
    return PhysicalId(properties.integration_id, properties.project_id, attachment_id).as_made()


def _read_attached(
    client: SpaceliftClient, request: Request, properties: AttachmentProperties
) -> dict[str, Any] | None:
    """The integration's attachment to the stack or module, None if there is none.

    Spacelift may answer a missing integration or attachment with null or with a
    "not found" error, at either level (docs/spacelift-api.md, "Not found").
    """
    try:
        data = client.query(*_read_document(properties), request.deadline)
    except GraphQLError as error:
        if error.mentions("not found"):
            return None
        raise
    attached = (data.get("awsIntegration") or {}).get("attachedStack")
    return attached if isinstance(attached, dict) and attached.get("id") else None


def _detach_adoptable(
    client: SpaceliftClient, request: Request, properties: AttachmentProperties, ledger: Ledger
) -> None:
    found = _adoptable(client, request, properties, ledger, adopt=True)
    if found is not None:
        _detach(client, found.object_id, request.deadline)
        ledger.forget(found)


class _Refused(Exception):
    """Spacelift refused the attach for a reason other than the role's trust."""

    def __init__(self, error: GraphQLError) -> None:
        super().__init__(str(error))
        self.error = error


def _attach(client: SpaceliftClient, request: Request, properties: AttachmentProperties) -> str:
    """The new attachment's ID, retrying only the role-trust error (a new role takes time)."""
    attach = _attach_document(properties)
    deadline = request.deadline
    trust_deadline = Deadline(min(deadline.at, Deadline.after(TRUST_RETRY_SECONDS).at))
    for attempt in range(10_000):
        try:
            attachment = _mutate(client, attach, deadline, "awsIntegrationAttach", repeatable=False)
        except GraphQLError as error:
            if not error.mentions(TRUST_ERROR):
                raise _Refused(error) from error
            pause = TRUST_RETRY_PAUSES[min(attempt, len(TRUST_RETRY_PAUSES) - 1)] * random.uniform(0.8, 1.2)
            try:
                trust_deadline.sleep(pause)
            except DeadlineExceeded:
                raise SpaceliftError(_trust_failure(properties)) from error
            continue
        return str(attachment["id"])
    raise AssertionError("unreachable")  # pragma: no cover


def _mutate(
    client: SpaceliftClient,
    operation_document: tuple[str, dict[str, Any]],
    deadline: Deadline,
    operation: str,
    *,
    repeatable: bool,
) -> dict[str, Any]:
    text, variables = operation_document
    attachment = client.mutate(text, variables, deadline, repeatable=repeatable).get(operation)
    if not isinstance(attachment, dict) or not attachment.get("id"):
        raise SpaceliftError(f"Spacelift answered {operation} without an attachment.")
    return attachment


def _result(account_name: str, properties: AttachmentProperties, made: Made) -> Result:
    # The external ID follows the documented format (docs/spacelift-api.md), so reading it
    # back from the API would only cost a round trip.
    access = "write" if properties.write else "read"
    return Result(
        made.physical_id,
        {
            "Id": made.object_id,
            "IntegrationId": properties.integration_id,
            "StackId": properties.project_id,
            "IsModule": _as_text(properties.is_module),
            "Read": _as_text(properties.read),
            "Write": _as_text(properties.write),
            "ExternalId": f"{account_name}@{properties.integration_id}@{properties.project_id}@{access}",
        },
    )


def _as_text(value: bool) -> str:
    """A boolean as CloudFormation passes it: "true" or "false"."""
    return "true" if value else "false"


def _pair(properties: AttachmentProperties) -> str:
    kind = "module" if properties.is_module else "stack"
    return f"integration {properties.integration_id} to {kind} {properties.project_id}"


def _attach_failure(properties: AttachmentProperties, error: GraphQLError) -> str:
    if error.not_found:
        return f"Could not attach {_pair(properties)}: {error}; check that both exist."
    return f"Could not attach {_pair(properties)}: {error}"


def _trust_failure(properties: AttachmentProperties) -> str:
    return (
        f"Could not attach {_pair(properties)}: Spacelift still cannot assume the role. Check the "
        "role's trust policy (principal SpaceliftAwsAccountId, sts:ExternalId from ExternalId.<id>), "
        "that the attachment DependsOn the role, and that STS is enabled in the region Spacelift uses."
    )
