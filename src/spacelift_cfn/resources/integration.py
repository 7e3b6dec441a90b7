"""``Custom::SpaceliftAwsIntegration``: a Spacelift AWS integration.

Create and Update are one GraphQL request each: the external IDs asked for in
``ExternalIdsFor`` are selected, as aliases, on the mutation's result. Every
field changes in place (the API replaces all settings on update), so the
PhysicalResourceId, the integration ID, never changes unless the integration
was deleted behind CloudFormation's back.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any

from spacelift_cfn.errors import (
    AppliedFailure,
    CreateCancelled,
    DataTooLarge,
    DeadlineExceeded,
    GraphQLError,
    OutcomeUnknown,
    PropertyError,
    SpaceliftError,
)
from spacelift_cfn.ownership import Ledger, Made, owner_key
from spacelift_cfn.properties import between, each, matches, non_empty, parse, prop
from spacelift_cfn.protocol import CREATE_INCOMPLETE_PREFIX, data_size
from spacelift_cfn.resources.external_ids import (
    Account,
    ExternalId,
    Target,
    account,
    external_id_selections,
    read_external_id,
    trust_policy,
)
from spacelift_cfn.resources.interface import Request, Result, is_spacelift_id
from spacelift_cfn.spacelift import SpaceliftClient, Variable, arguments, document

logger = logging.getLogger(__name__)

RESOURCE_TYPE = "Custom::SpaceliftAwsIntegration"

ROLE_ARN = r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}"
REGION = r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}"
#: Prefix of the label that marks an integration as made by this provider for one
#: stack's logical resource, so a retried Create adopts it instead of making a second.
OWNER_LABEL_PREFIX = "spacelift-cfn:"


@dataclass(frozen=True, kw_only=True)
class IntegrationProperties:
    name: str = prop(
        "Name",
        "Name of the integration; keep it unique in the Spacelift account (lookups by name expect one).",
        check=non_empty,
    )
    role_arn: str = prop(
        "RoleArn",
        "ARN of the IAM role Spacelift assumes, in any partition. Write it as a string "
        "(`!Sub arn:aws:iam::${AWS::AccountId}:role/name`), not `!GetAtt`, to avoid a cycle.",
        check=matches(ROLE_ARN, "an IAM role ARN such as arn:aws:iam::123456789012:role/my_role"),
    )
    duration_seconds: int = prop(
        "DurationSeconds",
        "Lifetime of the assumed-role session in seconds (at most the role's MaxSessionDuration).",
        default=900,
        check=between(900, 43200),
    )
    external_id: str | None = prop(
        "ExternalId", "Custom external ID; only private workers use it.", default=None
    )
    generate_credentials_in_worker: bool = prop(
        "GenerateCredentialsInWorker",
        "Let private workers assume the role with their own credentials.",
        default=False,
    )
    labels: tuple[str, ...] = prop(
        "Labels",
        "Labels of the integration (`autoattach:<label>` attaches it to stacks with that label).",
        default=(),
        check=each(non_empty),
    )
    space_id: str | None = prop(
        "SpaceId",
        "ID (slug) of the Spacelift space, not its name; the server chooses when unset.",
        default=None,
        check=non_empty,
    )
    region: str | None = prop(
        "Region",
        "AWS region whose regional STS endpoint Spacelift uses.",
        default=None,
        check=matches(REGION, "an AWS region such as eu-west-1"),
    )
    autoattach_enabled: bool = prop(
        "AutoattachEnabled", "Attach to stacks labelled `autoattach:<label>`.", default=False
    )
    tag_assume_role: bool = prop(
        "TagAssumeRole",
        "Tag the role session with run, stack and space (needs an `sts:TagSession` trust statement).",
        default=False,
    )
    external_ids_for: tuple[Target, ...] = prop(
        "ExternalIdsFor",
        "Stacks and modules (`StackId` or `ModuleId`, `Read`, `Write`) whose external IDs to return "
        "as `ExternalId.<id>` and in `AssumeRolePolicyDocument`.",
        default=(),
    )

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for index, target in enumerate(self.external_ids_for):
            if target.project_id in seen:
                raise PropertyError(f"ExternalIdsFor[{index}]", f"{target.project_id!r} is listed twice")
            seen.add(target.project_id)


_SELECTION = "id name roleArn space labels"

_LIST = "query AWSIntegrationsRead { awsIntegrations { id labels } }"
_DELETE = "mutation AWSIntegrationDelete($id: ID!) { awsIntegrationDelete(id: $id) { id } }"


def owner_label(stack_id: str, logical_resource_id: str) -> str:
    """The label marking the integration made for one logical resource of one stack."""
    return f"{OWNER_LABEL_PREFIX}{owner_key(stack_id, logical_resource_id)[:24]}"


def create(client: SpaceliftClient, request: Request) -> Result:
    properties = parse(IntegrationProperties, request.properties)
    spacelift_account = _prepare(client, request, properties)
    ledger = Ledger(request.stack_id, request.logical_resource_id)
    start = ledger.begin_create(request.request_id)
    try:
        if start.cancelled:
            if start.redelivery:  # an earlier delivery of this Create may have made it
                _delete_own(client, request)
            raise CreateCancelled
        mutated = _create(client, request, properties, adopt=start.redelivery)
        made = Made(mutated.id, mutated.id)
        if ledger.record_made(made, request.request_id):
            _delete(client, request, mutated.id)
            ledger.forget(made)
            raise CreateCancelled
        try:
            return _result(mutated, properties, spacelift_account, request, strict=True)
        except (SpaceliftError, DeadlineExceeded) as error:
            _undo(client, request, ledger, made, error)
            raise SpaceliftError(f"{error} The integration it created was deleted again.") from error
    except Exception as error:
        uncertain = isinstance(error, OutcomeUnknown) or not isinstance(error, SpaceliftError)
        ledger.finish_create(request.request_id, uncertain=uncertain)
        raise


def update(client: SpaceliftClient, request: Request) -> Result:
    properties = parse(IntegrationProperties, request.properties)
    spacelift_account = _prepare(client, request, properties)
    if not is_spacelift_id(request.physical_resource_id):
        return _replace(client, request, properties, spacelift_account)
    try:
        mutated = _mutate(client, request, properties, "awsIntegrationUpdate", request.physical_resource_id)
    except GraphQLError as error:
        if not error.not_found:
            raise
        # Deleted behind CloudFormation's back: make a new one; the new ID tells
        # CloudFormation it is a replacement (its Delete of the old ID is harmless).
        return _replace(client, request, properties, spacelift_account)
    return _result(mutated, properties, spacelift_account, request, strict=False)


def delete(client: SpaceliftClient, request: Request) -> None:
    """Delete the integration the ID names; for any other ID, what this resource made.

    An ID that is not a Spacelift ID was never issued by this provider: it is
    CloudFormation's made-up ID for a cancelled Create, a marker, or empty. It never
    reaches Spacelift; the objects this logical resource made are looked up instead.
    """
    ledger = Ledger(request.stack_id, request.logical_resource_id)
    if is_spacelift_id(request.physical_resource_id):
        _delete(client, request, request.physical_resource_id)
        ledger.forget(Made(request.physical_resource_id, request.physical_resource_id))
        return
    incomplete = request.physical_resource_id.startswith(CREATE_INCOMPLETE_PREFIX)
    if not incomplete:
        ledger.cancel(request.request_id)
    record = ledger.settled(request.deadline)
    for made in record.made.values():
        _delete(client, request, made.object_id)
        ledger.forget(made)
    if incomplete or not ledger.enabled or record.may_hold_unrecorded:
        # A Create may have made one without recording it: its owner label tells.
        _delete_own(client, request)


def _delete(client: SpaceliftClient, request: Request, integration_id: str) -> None:
    try:
        client.mutate(_DELETE, {"id": integration_id}, request.deadline, repeatable=True)
    except GraphQLError as error:
        if error.not_found:
            return
        if error.mentions("attach"):
            raise SpaceliftError(
                f"Spacelift refused to delete integration {integration_id} because it is "
                f"still attached to stacks or modules ({error}); detach it first."
            ) from error
        raise


def _undo(client: SpaceliftClient, request: Request, ledger: Ledger, made: Made, error: Exception) -> None:
    """Delete what a failing Create made; if that fails too, answer its ID so that
    CloudFormation's rollback Delete removes it."""
    try:
        _delete(client, request, made.object_id)
    except (SpaceliftError, DeadlineExceeded):
        raise AppliedFailure(
            f"{error} Integration {made.object_id} was created; the stack's rollback deletes it.",
            made.physical_id,
        ) from error
    ledger.forget(made)


def _delete_own(client: SpaceliftClient, request: Request) -> None:
    for integration_id in _find_own(client, request):
        _delete(client, request, integration_id)


def _prepare(client: SpaceliftClient, request: Request, properties: IntegrationProperties) -> Account:
    spacelift_account = account(client, request.deadline)
    _check_fits(properties, spacelift_account, request.data_budget)
    return spacelift_account


def _replace(
    client: SpaceliftClient,
    request: Request,
    properties: IntegrationProperties,
    spacelift_account: Account,
) -> Result:
    """A new integration for an Update whose old one is gone; recorded as this resource's."""
    mutated = _create(client, request, properties, adopt=False)
    Ledger(request.stack_id, request.logical_resource_id).record_made(
        Made(mutated.id, mutated.id), request.request_id
    )
    return _result(mutated, properties, spacelift_account, request, strict=False)


@dataclass(frozen=True)
class Mutated:
    """An integration as a mutation answered it, with the errors of its external IDs."""

    integration: dict[str, Any]
    external_id_errors: dict[str, str]

    @property
    def id(self) -> str:
        return str(self.integration["id"])


def _create(
    client: SpaceliftClient, request: Request, properties: IntegrationProperties, *, adopt: bool
) -> Mutated:
    """Create, or adopt what an earlier attempt of this Create made.

    Adoption looks for the owner label, never at names (their uniqueness is only
    inferred) or at an error's wording.
    """
    found = _find_own(client, request) if adopt else []
    if found:
        return _mutate(client, request, properties, "awsIntegrationUpdate", found[0])
    try:
        return _mutate(client, request, properties, "awsIntegrationCreate", None)
    except OutcomeUnknown:
        pass  # the create may have been applied: adopt it if so
    except GraphQLError as error:
        # Refused. If an earlier attempt whose answer was lost made it, the conflict may be
        # with that one (names look unique); the owner label tells.
        found = _find_own(client, request)
        if not found:
            raise SpaceliftError(f"Could not create AWS integration {properties.name!r}: {error}") from error
    found = found or _find_own(client, request)
    operation = "awsIntegrationUpdate" if found else "awsIntegrationCreate"
    return _mutate(client, request, properties, operation, found[0] if found else None)


def _find_own(client: SpaceliftClient, request: Request) -> list[str]:
    """The IDs of the integrations carrying this logical resource's owner label."""
    label = owner_label(request.stack_id, request.logical_resource_id)
    data = client.query(_LIST, {}, request.deadline)
    integrations = data.get("awsIntegrations") or []
    return [
        str(found["id"])
        for found in integrations
        if isinstance(found, dict) and found.get("id") and label in (found.get("labels") or [])
    ]


def _mutate(
    client: SpaceliftClient,
    request: Request,
    properties: IntegrationProperties,
    operation: str,
    integration_id: str | None,
) -> Mutated:
    targets, selections = external_id_selections(properties.external_ids_for)
    settings = _settings(properties, owner_label(request.stack_id, request.logical_resource_id))
    if integration_id:
        settings.insert(0, Variable("id", "ID!", integration_id))
    text, variables = document(
        "mutation",
        [*settings, *targets],
        f"{operation}({arguments(settings)}) {{ {_SELECTION} {selections} }}",
    )
    errors: dict[str, str] = {}
    try:
        data = client.mutate(text, variables, request.deadline, repeatable=integration_id is not None)
    except GraphQLError as error:
        if not error.nested:
            raise
        # Applied; only some external IDs failed (say, a stack that does not exist).
        made = (error.data or {}).get(operation)
        if not isinstance(made, dict) or not made.get("id"):
            # A non-null external ID field nulled the whole result: read it back without them.
            return _reread(client, request, properties, integration_id, error)
        data, errors = {operation: made}, _external_id_errors(error)
    integration = data.get(operation)
    if not isinstance(integration, dict) or not integration.get("id"):
        raise SpaceliftError(f"Spacelift answered {operation} without an integration.")
    return Mutated(integration, errors)


def _external_id_errors(error: GraphQLError) -> dict[str, str]:
    """The errors below the mutation's result, by the alias (``e<index>``) they concern."""
    return {
        str(path[1]): message
        for message, path in zip(error.messages, error.paths, strict=True)
        if len(path) > 1
    }


def _reread(
    client: SpaceliftClient,
    request: Request,
    properties: IntegrationProperties,
    integration_id: str | None,
    error: GraphQLError,
) -> Mutated:
    """The integration a mutation applied but could not answer, from the same update without
    external IDs (repeatable), carrying the external IDs' errors."""
    target = integration_id or next(iter(_find_own(client, request)), None)
    if target is None:
        raise error
    plain = replace(properties, external_ids_for=())
    answered = _mutate(client, request, plain, "awsIntegrationUpdate", target)
    return Mutated(answered.integration, _external_id_errors(error))


def _settings(properties: IntegrationProperties, owner: str) -> list[Variable]:
    """The ten settings create and update take, all sent (update replaces every setting)."""
    labels = [label for label in properties.labels if label != owner] + [owner]
    return [
        Variable("name", "String!", properties.name),
        Variable("roleArn", "String!", properties.role_arn),
        Variable("generateCredentialsInWorker", "Boolean!", properties.generate_credentials_in_worker),
        Variable("externalID", "String!", properties.external_id or ""),
        Variable("durationSeconds", "Int!", properties.duration_seconds),
        Variable("labels", "[String!]!", labels),
        Variable("space", "ID", properties.space_id),
        Variable("region", "String", properties.region),
        Variable("autoattachEnabled", "Boolean!", properties.autoattach_enabled),
        Variable("tagAssumeRole", "Boolean!", properties.tag_assume_role),
    ]


def _result(
    mutated: Mutated,
    properties: IntegrationProperties,
    spacelift_account: Account,
    request: Request,
    *,
    strict: bool,
) -> Result:
    """The attributes; an external ID Spacelift did not compute fails a Create (``strict``),
    and is computed locally on Update, so a stack deleted in Spacelift cannot block a rollback."""
    integration = mutated.integration
    if strict and mutated.external_id_errors:
        alias, problem = min(mutated.external_id_errors.items())
        failed = properties.external_ids_for[int(alias.removeprefix("e"))].project_id
        raise SpaceliftError(
            f"Spacelift computed no external ID for {failed} ({problem}); check that it exists."
        )
    statements = []
    data = {
        "Id": mutated.id,
        "Name": str(integration.get("name") or properties.name),
        "RoleArn": str(integration.get("roleArn") or properties.role_arn),
        "SpaceId": str(integration.get("space") or ""),
        "SpaceliftAwsAccountId": spacelift_account.aws_account_id,
    }
    for index, target in enumerate(properties.external_ids_for):
        alias = f"e{index}"
        answered = integration.get(alias)
        if answered is None and not strict:
            external = _computed_external_id(spacelift_account, mutated.id, target)
            logger.warning(
                "Spacelift computed no external ID for %s (%s); using the documented format: %s",
                target.project_id,
                mutated.external_id_errors.get(alias, "null"),
                external.external_id,
            )
        else:
            external = read_external_id(answered, target.project_id)
        data[f"ExternalId.{target.project_id}"] = external.external_id
        statements.append(external.statement)
    data["AssumeRolePolicyDocument"] = trust_policy(statements)
    return Result(data["Id"], data)


def _computed_external_id(spacelift_account: Account, integration_id: str, target: Target) -> ExternalId:
    """``<account>@<integration>@<stack or module>@<read|write>`` (docs/spacelift-api.md)."""
    access = "write" if target.write else "read"
    external_id = f"{spacelift_account.name}@{integration_id}@{target.project_id}@{access}"
    statement = _computed_statement(spacelift_account, external_id)
    return ExternalId(external_id, statement, json.dumps(statement, separators=(",", ":")))


def _check_fits(properties: IntegrationProperties, spacelift_account: Account, budget: int) -> None:
    """Fail before creating anything when the attributes cannot fit the response."""
    placeholder_id = "0" * 26
    statements, data = (
        [],
        {
            "Id": placeholder_id,
            "Name": properties.name,
            "RoleArn": properties.role_arn,
            "SpaceId": properties.space_id or "x" * 64,
            "SpaceliftAwsAccountId": spacelift_account.aws_account_id,
        },
    )
    for target in properties.external_ids_for:
        external_id = f"{spacelift_account.name}@{placeholder_id}@{target.project_id}@write"
        data[f"ExternalId.{target.project_id}"] = external_id
        statements.append(_computed_statement(spacelift_account, external_id, principal_arn=True))
    data["AssumeRolePolicyDocument"] = trust_policy(statements)
    size = data_size(data)
    if size > budget:
        raise DataTooLarge(
            "ExternalIdsFor",
            f"{len(properties.external_ids_for)} entries make about {size} bytes of attributes, more than "
            f"the {budget} that fit CloudFormation's 4096-byte response; list fewer here and read the "
            "others with Custom::SpaceliftAwsIntegrationExternalId",
        )


def _computed_statement(
    spacelift_account: Account, external_id: str, *, principal_arn: bool = False
) -> dict[str, Any]:
    """The trust statement Spacelift documents (its account ID as principal); with
    ``principal_arn`` in the longer form IAM stores (``arn:aws:iam::<id>:root``), for sizing."""
    principal = spacelift_account.aws_account_id
    return {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"AWS": f"arn:aws:iam::{principal}:root" if principal_arn else principal},
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
    }
