"""``SpaceliftAwsIntegrationAttachment``: an integration attached to a stack or module."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from spacelift_cfn_cdk._common import (
    DEFAULT_SERVICE_TIMEOUT,
    ExternalIdTarget,
    ServiceTokenSource,
    resolve_service_token,
    target_resource,
)
from spacelift_cfn_cdk.integration import SpaceliftAwsIntegration

RESOURCE_TYPE = "Custom::SpaceliftAwsIntegrationAttachment"


class SpaceliftAwsIntegrationAttachment(Construct):
    """Attaches an integration to a Spacelift stack (``stack_id``) or module (``module_id``).

    Spacelift tries to assume the role when attaching, so make the attachment
    depend on the role: ``attachment.node.add_dependency(role)``. Give the
    integration as ``integration`` (its service token is then reused unless
    ``service_token`` or ``provider`` is given) or as a plain ``integration_id``
    (then ``service_token`` or ``provider`` is required).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        integration: SpaceliftAwsIntegration | None = None,
        integration_id: str | None = None,
        stack_id: str | None = None,
        module_id: str | None = None,
        read: bool | None = None,
        write: bool | None = None,
        service_token: str | None = None,
        provider: ServiceTokenSource | None = None,
        service_timeout: cdk.Duration | None = DEFAULT_SERVICE_TIMEOUT,
        removal_policy: cdk.RemovalPolicy | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if integration is not None and integration_id is None:
            integration_id = integration.integration_id
            if service_token is None and provider is None:
                service_token = integration.service_token
        elif integration is not None or integration_id is None:
            raise ValueError("Pass exactly one of integration or integration_id.")
        self.target = ExternalIdTarget(stack_id=stack_id, module_id=module_id, read=read, write=write)
        self.service_token = resolve_service_token(service_token, provider)
        self.resource = target_resource(
            self,
            resource_type=RESOURCE_TYPE,
            integration_id=integration_id,
            target=self.target,
            service_token=self.service_token,
            service_timeout=service_timeout,
            removal_policy=removal_policy,
        )

    @property
    def attachment_id(self) -> str:
        """Spacelift's ID of the attachment."""
        return self.resource.get_att_string("Id")

    @property
    def external_id(self) -> str:
        """The external ID Spacelift uses when it assumes the role for this stack or module."""
        return self.resource.get_att_string("ExternalId")
