"""``Custom::SpaceliftAwsIntegration``: a Spacelift AWS integration.

Create and Update are one GraphQL request each: the external IDs asked for in
``ExternalIdsFor`` are selected, as aliases, on the mutation's result. Every
field changes in place (the API replaces all settings on update), so the
PhysicalResourceId, the integration ID, never changes unless the integration
was deleted behind CloudFormation's back.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, replace
from typing import Any

from spacelift_cfn.properties import (
    PropertyError,
    between,
    each,
    matches,
    non_empty,
    parse,
    prop,
)
from spacelift_cfn.resources.common import (
    Account,
    DataTooLarge,
    Request,
    Result,
    Target,
    account,
    data_size,
    external_id_fields,
    never_created,
    read_external_id,
    trust_policy,
)
from spacelift_cfn.spacelift import GraphQLError, OutcomeUnknown, SpaceliftClient, SpaceliftError

RESOURCE_TYPE = "Custom::SpaceliftAwsIntegration"

ROLE_ARN = r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}"
REGION = r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}"
#: Prefix of the label that marks an integration as made by this provider for one
#: stack's logical resource, so a retried Create adopts it instead of making a second.
OWNER_LABEL_PREFIX = "spacelift-cfn:"


@dataclass(frozen=True, kw_only=True)
class IntegrationProperties:
    name: str = prop("Name", "Name of the integration, unique in the Spacelift account.", check=non_empty)
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


_FIELDS = (
    "$name: String!, $roleArn: String!, $generateCredentialsInWorker: Boolean!, "
    "$externalID: String!, $durationSeconds: Int!, $labels: [String!]!, $space: ID, "
    "$region: String, $autoattachEnabled: Boolean!, $tagAssumeRole: Boolean!"
)
_ARGUMENTS = (
    "name: $name, roleArn: $roleArn, generateCredentialsInWorker: $generateCredentialsInWorker, "
    "externalID: $externalID, durationSeconds: $durationSeconds, labels: $labels, space: $space, "
    "region: $region, autoattachEnabled: $autoattachEnabled, tagAssumeRole: $tagAssumeRole"
)
_SELECTION = "id name roleArn space labels"

_BY_NAME = (
    "query AWSIntegrationByNameRead($name: String!) { awsIntegrationByName(name: $name) { id labels } }"
)
_DELETE = "mutation AWSIntegrationDelete($id: ID!) { awsIntegrationDelete(id: $id) { id } }"


def owner_label(stack_id: str, logical_resource_id: str) -> str:
    """The label marking the integration made for one logical resource of one stack."""
    digest = hashlib.sha256(f"{stack_id}|{logical_resource_id}".encode()).hexdigest()[:24]
    return f"{OWNER_LABEL_PREFIX}{digest}"


def create(client: SpaceliftClient, request: Request) -> Result:
    properties = parse(IntegrationProperties, request.properties)
    spacelift_account = _prepare(client, request, properties)
    return _create(client, request, properties, spacelift_account)


def update(client: SpaceliftClient, request: Request) -> Result:
    properties = parse(IntegrationProperties, request.properties)
    spacelift_account = _prepare(client, request, properties)
    if never_created(request.physical_resource_id):
        return _create(client, request, properties, spacelift_account)
    try:
        integration = _mutate(
            client, request, properties, "awsIntegrationUpdate", request.physical_resource_id
        )
    except GraphQLError as error:
        if not error.not_found:
            raise
        # Deleted behind CloudFormation's back: make a new one; the new ID tells
        # CloudFormation it is a replacement (its Delete of the old ID is harmless).
        return _create(client, request, properties, spacelift_account)
    return _result(integration, properties, spacelift_account, request)


def delete(client: SpaceliftClient, request: Request) -> None:
    if not request.physical_resource_id:
        _delete_cancelled(client, request)
        return
    if never_created(request.physical_resource_id):
        return
    try:
        client.mutate(_DELETE, {"id": request.physical_resource_id}, request.deadline, repeatable=True)
    except GraphQLError as error:
        if error.not_found:
            return
        if error.mentions("attach"):
            raise SpaceliftError(
                f"Spacelift refused to delete integration {request.physical_resource_id} because it is "
                f"still attached to stacks or modules ({error}); detach it first."
            ) from error
        raise


def _delete_cancelled(client: SpaceliftClient, request: Request) -> None:
    """CloudFormation cancelled the Create: delete what it made, if it got that far."""
    try:
        properties = parse(IntegrationProperties, request.properties)
    except PropertyError:
        return  # an invalid Create never reached Spacelift
    made = _find_own(client, request, properties)
    if made:
        delete(client, replace(request, physical_resource_id=made))


def _prepare(client: SpaceliftClient, request: Request, properties: IntegrationProperties) -> Account:
    spacelift_account = account(client, request.deadline)
    _check_fits(properties, spacelift_account, request.data_budget)
    return spacelift_account


def _create(
    client: SpaceliftClient,
    request: Request,
    properties: IntegrationProperties,
    spacelift_account: Account,
) -> Result:
    try:
        integration = _mutate(client, request, properties, "awsIntegrationCreate", None)
    except OutcomeUnknown:
        # The create may have been applied: adopt it if so, else create again.
        adopted = _find_own(client, request, properties)
        operation = "awsIntegrationUpdate" if adopted else "awsIntegrationCreate"
        integration = _mutate(client, request, properties, operation, adopted)
    except GraphQLError as error:
        if not error.mentions("already exists"):
            raise
        # Names are unique, so the conflict is the evidence that an earlier attempt of
        # this Create (whose answer was lost) may have made it: adopt it if it is ours.
        adopted = _find_own(client, request, properties)
        if adopted is None:
            raise SpaceliftError(
                f"Spacelift already has an AWS integration named {properties.name!r} that this resource "
                "did not create; choose another Name or delete that integration."
            ) from error
        integration = _mutate(client, request, properties, "awsIntegrationUpdate", adopted)
    return _result(integration, properties, spacelift_account, request)


def _find_own(client: SpaceliftClient, request: Request, properties: IntegrationProperties) -> str | None:
    """The ID of an integration an earlier attempt of this Create made, if any."""
    try:
        data = client.query(_BY_NAME, {"name": properties.name}, request.deadline)
    except GraphQLError as error:
        if error.not_found:
            return None
        raise
    found = data.get("awsIntegrationByName")
    label = owner_label(request.stack_id, request.logical_resource_id)
    if isinstance(found, dict) and label in (found.get("labels") or []):
        return str(found["id"])
    return None


def _mutate(
    client: SpaceliftClient,
    request: Request,
    properties: IntegrationProperties,
    operation: str,
    integration_id: str | None,
) -> dict[str, Any]:
    declarations, selections, variables = external_id_fields(properties.external_ids_for)
    id_declaration, id_argument = ("$id: ID!, ", "id: $id, ") if integration_id else ("", "")
    document = (
        f"mutation ({id_declaration}{_FIELDS}{', ' + declarations if declarations else ''}) "
        f"{{ {operation}({id_argument}{_ARGUMENTS}) {{ {_SELECTION} {selections} }} }}"
    )
    variables |= _variables(properties, owner_label(request.stack_id, request.logical_resource_id))
    if integration_id:
        variables["id"] = integration_id
    try:
        data = client.mutate(document, variables, request.deadline, repeatable=integration_id is not None)
    except GraphQLError as error:
        if operation == "awsIntegrationCreate" and error.nested:
            # Created, then an external ID failed (say, an unknown stack): undo it.
            made = (error.data or {}).get(operation)
            made_id = made.get("id") if isinstance(made, dict) else _find_own(client, request, properties)
            if made_id:
                _delete_quietly(client, request, str(made_id))
        raise
    integration = data.get(operation)
    if not isinstance(integration, dict) or not integration.get("id"):
        raise SpaceliftError(f"Spacelift answered {operation} without an integration.")
    return integration


def _delete_quietly(client: SpaceliftClient, request: Request, integration_id: str) -> None:
    """Undo a Create whose external IDs failed, so the failure leaves nothing behind."""
    # If this fails too, the user's reason names the integration to remove.
    with contextlib.suppress(SpaceliftError):
        delete(client, replace(request, physical_resource_id=integration_id))


def _variables(properties: IntegrationProperties, owner: str) -> dict[str, Any]:
    labels = [label for label in properties.labels if label != owner] + [owner]
    return {
        "name": properties.name,
        "roleArn": properties.role_arn,
        "generateCredentialsInWorker": properties.generate_credentials_in_worker,
        "externalID": properties.external_id or "",
        "durationSeconds": properties.duration_seconds,
        "labels": labels,
        "space": properties.space_id,
        "region": properties.region,
        "autoattachEnabled": properties.autoattach_enabled,
        "tagAssumeRole": properties.tag_assume_role,
    }


def _result(
    integration: dict[str, Any],
    properties: IntegrationProperties,
    spacelift_account: Account,
    request: Request,
) -> Result:
    statements = []
    data = {
        "Id": str(integration["id"]),
        "Name": str(integration.get("name") or properties.name),
        "RoleArn": str(integration.get("roleArn") or properties.role_arn),
        "SpaceId": str(integration.get("space") or ""),
        "SpaceliftAwsAccountId": spacelift_account.aws_account_id,
    }
    for index, target in enumerate(properties.external_ids_for):
        external = read_external_id(integration.get(f"e{index}"), target.project_id)
        data[f"ExternalId.{target.project_id}"] = external.external_id
        statements.append(external.statement)
    data["AssumeRolePolicyDocument"] = trust_policy(statements)
    return Result(data["Id"], data)


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
        statements.append(_likely_statement(spacelift_account, external_id))
    data["AssumeRolePolicyDocument"] = trust_policy(statements)
    size = data_size(data)
    if size > budget:
        raise DataTooLarge(
            "ExternalIdsFor",
            f"{len(properties.external_ids_for)} entries make about {size} bytes of attributes, more than "
            f"the {budget} that fit CloudFormation's 4096-byte response; list fewer here and read the "
            "others with Custom::SpaceliftAwsIntegrationExternalId",
        )


def _likely_statement(spacelift_account: Account, external_id: str) -> dict[str, Any]:
    # The API's own statement (reference §5.7), padded for fields it may add.
    return {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"AWS": f"arn:aws:iam::{spacelift_account.aws_account_id}:root"},
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
    }
