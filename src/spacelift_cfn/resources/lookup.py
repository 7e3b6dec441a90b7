"""``Custom::SpaceliftAwsIntegrationLookup``: read an integration the stack does not manage, by name.

The read-only twin of Terraform's ``spacelift_aws_integration`` data source: a stack
whose role trusts an integration made in the UI or by Terraform reads its ID and
external IDs without taking it over. Create and Update are one query: the list of
integrations (to prove the name names exactly one: uniqueness is only inferred), the
integration by name with the external IDs as aliases, and the account's AWS account
ID. Delete does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spacelift_cfn.errors import DataTooLarge, GraphQLError, PropertyError, SpaceliftError
from spacelift_cfn.properties import REPLACEMENT, non_empty, parse, prop
from spacelift_cfn.protocol import data_size
from spacelift_cfn.resources.external_ids import (
    Target,
    external_id_selections,
    read_external_id,
    require_unique_targets,
    targets_prop,
    trust_policy,
)
from spacelift_cfn.resources.interface import Request, Result
from spacelift_cfn.spacelift import SpaceliftClient, Variable, arguments, document

RESOURCE_TYPE = "Custom::SpaceliftAwsIntegrationLookup"

_SELECTION = "id name roleArn durationSeconds space"


@dataclass(frozen=True, kw_only=True)
class LookupProperties:
    name: str = prop(
        "Name",
        "Name of the existing integration; exactly one integration of the account must have it.",
        check=non_empty,
        update=REPLACEMENT,
    )
    external_ids_for: tuple[Target, ...] = targets_prop()

    def __post_init__(self) -> None:
        require_unique_targets(self.external_ids_for)


def _lookup_document(properties: LookupProperties) -> tuple[str, dict[str, Any]]:
    name = Variable("name", "String!", properties.name)
    targets, selections = external_id_selections(properties.external_ids_for)
    body = (
        "spaceliftAwsAccountId awsIntegrations { id name } "
        f"awsIntegrationByName({name.passed}) {{ {_SELECTION} {selections} }}"
    )
    return document("query AWSIntegrationLookup", [name, *targets], body)


def _by_id_document(integration_id: str, properties: LookupProperties) -> tuple[str, dict[str, Any]]:
    """The same read by ID, for when the by-name answer is not the one integration listed."""
    integration = Variable("id", "ID!", integration_id)
    targets, selections = external_id_selections(properties.external_ids_for)
    body = f"awsIntegration({arguments([integration])}) {{ {_SELECTION} {selections} }}"
    return document("query AWSIntegrationRead", [integration, *targets], body)


def create(client: SpaceliftClient, request: Request) -> Result:
    properties = parse(LookupProperties, request.properties)
    data = _query(client, request, _lookup_document(properties))
    integration_id = _the_one_named(properties.name, data.get("awsIntegrations"))
    integration = data.get("awsIntegrationByName")
    if not isinstance(integration, dict) or integration.get("id") != integration_id:
        # The by-name answer is missing or another one: read the listed one by its ID.
        integration = _query(client, request, _by_id_document(integration_id, properties)).get(
            "awsIntegration"
        )
        if not isinstance(integration, dict):
            raise SpaceliftError(
                f"AWS integration {integration_id} named {properties.name!r} could not be read."
            )
    return _result(integration_id, integration, properties, data, request.data_budget)


def update(client: SpaceliftClient, request: Request) -> Result:
    """Read again; another name (or the integration renamed) answers another ID."""
    return create(client, request)


def delete(client: SpaceliftClient, request: Request) -> None:
    """Nothing to delete: this resource only reads."""


def _query(
    client: SpaceliftClient, request: Request, operation: tuple[str, dict[str, Any]]
) -> dict[str, Any]:
    """The data of a read; errors below the root (an external ID, a "not found" by name) are
    left for the caller to find as nulls, as long as the list of integrations came back."""
    try:
        return client.query(*operation, request.deadline)
    except GraphQLError as error:
        if error.data and (error.data.get("awsIntegrations") is not None or error.data.get("awsIntegration")):
            return dict(error.data)
        raise SpaceliftError(f"Could not look up the AWS integration: {error}") from error


def _the_one_named(name: str, integrations: object) -> str:
    """The ID of the one integration called ``name``; fails when none or several are."""
    listed = integrations if isinstance(integrations, list) else []
    found = sorted(
        str(item["id"])
        for item in listed
        if isinstance(item, dict) and item.get("name") == name and item.get("id")
    )
    if not found:
        raise PropertyError("Name", f"no Spacelift AWS integration is named {name!r}")
    if len(found) > 1:
        raise PropertyError(
            "Name",
            f"{len(found)} integrations are named {name!r} ({', '.join(found[:5])}); names are not unique "
            "in Spacelift: rename all but one, or use the ID of the one you mean",
        )
    return found[0]


def _result(
    integration_id: str,
    integration: dict[str, Any],
    properties: LookupProperties,
    data: dict[str, Any],
    budget: int,
) -> Result:
    """The integration's attributes, named as ``Custom::SpaceliftAwsIntegration`` names them."""
    attributes = {
        "Id": integration_id,
        "IntegrationId": integration_id,
        "Name": str(integration.get("name") or properties.name),
        "RoleArn": str(integration.get("roleArn") or ""),
        "DurationSeconds": str(integration.get("durationSeconds") or ""),
        "SpaceId": str(integration.get("space") or ""),
        "SpaceliftAwsAccountId": str(data.get("spaceliftAwsAccountId") or ""),
    }
    statements = []
    for index, target in enumerate(properties.external_ids_for):
        external = read_external_id(integration.get(f"e{index}"), target.project_id)
        attributes[f"ExternalId.{target.project_id}"] = external.external_id
        statements.append(external.statement)
    attributes["AssumeRolePolicyDocument"] = trust_policy(statements)
    size = data_size(attributes)
    if size > budget:
        raise DataTooLarge(
            "ExternalIdsFor",
            f"{len(properties.external_ids_for)} entries make {size} bytes of attributes, more than the "
            f"{budget} that fit CloudFormation's 4096-byte response; list fewer here and read the others "
            "with Custom::SpaceliftAwsIntegrationExternalId",
        )
    return Result(integration_id, attributes)
