"""``Custom::SpaceliftAwsIntegrationExternalId``: read the external ID of any integration.

The read-only twin of Terraform's ``spacelift_aws_integration_attachment_external_id``
data source, for integrations made outside the stack (UI, Terraform) whose role
lives in CloudFormation. Create and Update are one query; Delete does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spacelift_cfn.errors import GraphQLError, SpaceliftError
from spacelift_cfn.properties import REPLACEMENT, non_empty, parse, prop
from spacelift_cfn.resources.external_ids import (
    EXTERNAL_ID_SELECTION,
    Target,
    read_external_id,
    target_variables,
)
from spacelift_cfn.resources.interface import Request, Result
from spacelift_cfn.spacelift import SpaceliftClient, Variable, arguments, document

RESOURCE_TYPE = "Custom::SpaceliftAwsIntegrationExternalId"


def _read_document(properties: ExternalIdProperties) -> tuple[str, dict[str, Any]]:
    integration = Variable("id", "ID!", properties.integration_id)
    target = target_variables(properties)
    body = (
        f"spaceliftAwsAccountId awsIntegration({integration.passed}) {{ id "
        f"externalIdForStack({arguments(target)}) {EXTERNAL_ID_SELECTION} }}"
    )
    return document("query AWSIntegrationAttachmentExternalIDRead", [integration, *target], body)


@dataclass(frozen=True, kw_only=True)
class ExternalIdProperties(Target):
    integration_id: str = prop(
        "IntegrationId", "ID of an existing Spacelift AWS integration.", check=non_empty, update=REPLACEMENT
    )
    # Redeclared: the access is part of the PhysicalResourceId here, so a change replaces.
    write: bool = prop(
        "Write", "Use the integration for write phases (applying).", default=True, update=REPLACEMENT
    )


def create(client: SpaceliftClient, request: Request) -> Result:
    properties = parse(ExternalIdProperties, request.properties)
    try:
        data = client.query(*_read_document(properties), request.deadline)
    except GraphQLError as error:
        raise SpaceliftError(f"Could not read the external ID: {error}") from error
    integration = data.get("awsIntegration")
    if not isinstance(integration, dict):
        raise SpaceliftError(f"AWS integration {properties.integration_id!r} not found; check IntegrationId.")
    external = read_external_id(integration.get("externalIdForStack"), properties.project_id)
    access = "write" if properties.write else "read"
    return Result(
        f"{properties.integration_id}/{properties.project_id}/{access}",
        {
            "ExternalId": external.external_id,
            "AssumeRolePolicyStatement": external.statement_json,
            "SpaceliftAwsAccountId": str(data.get("spaceliftAwsAccountId") or ""),
        },
    )


def update(client: SpaceliftClient, request: Request) -> Result:
    return create(client, request)


def delete(client: SpaceliftClient, request: Request) -> None:
    """Nothing to delete: this resource only reads."""
