"""The CloudFormation events the benchmark sends, shaped as CloudFormation sends them.

Property values are strings (CloudFormation stringifies them); every event gets
a fresh RequestId and its own ResponseURL on the capture server, so answers are
told apart and never replayed by the idempotency table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from localcfn import ResponseServer

STACK_ARN = "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/5b6c7d80-c9a1-11ef-9f2a-0a1b2c3d4e5f"
SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:spacelift-cfn-provider"
ROLE_ARN = "arn:aws:iam::123456789012:role/spacelift-bench"
INTEGRATION = "Custom::SpaceliftAwsIntegration"
ATTACHMENT = "Custom::SpaceliftAwsIntegrationAttachment"


def integration_properties(name: str, stacks: Sequence[str]) -> dict[str, Any]:
    return {
        "ServiceToken": SERVICE_TOKEN,
        "Name": name,
        "RoleArn": ROLE_ARN,
        "DurationSeconds": "3600",
        "Labels": ["team-infra"],
        "ExternalIdsFor": [{"StackId": stack} for stack in stacks],
    }


def event(
    responses: ResponseServer,
    request_type: str,
    logical_id: str,
    properties: dict[str, Any],
    *,
    resource_type: str = INTEGRATION,
    physical_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    request_id = str(uuid.uuid4())
    built: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": SERVICE_TOKEN,
        "ResponseURL": responses.url(request_id),
        "StackId": STACK_ARN,
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": properties,
    }
    if physical_id is not None:
        built["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        built["OldResourceProperties"] = old_properties
    return built


def create_integration(responses: ResponseServer, name: str, stacks: Sequence[str]) -> dict[str, Any]:
    """A Create of an integration named ``name`` (also its logical ID) with ExternalIdsFor ``stacks``."""
    return event(responses, "Create", name.replace("-", ""), integration_properties(name, stacks))


def update_integration(
    responses: ResponseServer, name: str, stacks: Sequence[str], physical_id: str
) -> dict[str, Any]:
    """An Update that changes the duration and the labels."""
    old = integration_properties(name, stacks)
    new = {**old, "DurationSeconds": "7200", "Labels": ["team-infra", "updated"]}
    return event(responses, "Update", name.replace("-", ""), new, physical_id=physical_id, old_properties=old)


def delete_integration(
    responses: ResponseServer, name: str, stacks: Sequence[str], physical_id: str
) -> dict[str, Any]:
    return event(
        responses,
        "Delete",
        name.replace("-", ""),
        integration_properties(name, stacks),
        physical_id=physical_id,
    )


def create_attachment(responses: ResponseServer, integration_id: str, stack: str) -> dict[str, Any]:
    properties = {"ServiceToken": SERVICE_TOKEN, "IntegrationId": integration_id, "StackId": stack}
    return event(responses, "Create", "StackAttachment", properties, resource_type=ATTACHMENT)
