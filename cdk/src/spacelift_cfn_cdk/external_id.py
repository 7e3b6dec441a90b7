"""``SpaceliftAwsIntegrationExternalId``: read the external ID of any integration.

For integrations made outside the app (Spacelift UI, Terraform) whose role is
defined here; an integration made in the app returns the external IDs itself.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from spacelift_cfn_cdk._common import (
    DEFAULT_SERVICE_TIMEOUT,
    ExternalIdTarget,
    ServiceTokenSource,
    resolve_service_token,
    target_resource,
)

RESOURCE_TYPE = "Custom::SpaceliftAwsIntegrationExternalId"


class SpaceliftAwsIntegrationExternalId(Construct):
    """The external ID of ``integration_id`` for a stack or module; reads only, deletes nothing."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        integration_id: str,
        stack_id: str | None = None,
        module_id: str | None = None,
        read: bool | None = None,
        write: bool | None = None,
        service_token: str | None = None,
        provider: ServiceTokenSource | None = None,
        service_timeout: cdk.Duration | None = DEFAULT_SERVICE_TIMEOUT,
    ) -> None:
        super().__init__(scope, construct_id)
        self.target = ExternalIdTarget(stack_id=stack_id, module_id=module_id, read=read, write=write)
        self.service_token = resolve_service_token(service_token, provider)
        self.resource = target_resource(
            self,
            resource_type=RESOURCE_TYPE,
            integration_id=integration_id,
            target=self.target,
            service_token=self.service_token,
            service_timeout=service_timeout,
        )

    @property
    def external_id(self) -> str:
        return self.resource.get_att_string("ExternalId")

    @property
    def spacelift_aws_account_id(self) -> str:
        return self.resource.get_att_string("SpaceliftAwsAccountId")

    @property
    def assume_role_policy_statement(self) -> str:
        """The API's trust statement, as a JSON string."""
        return self.resource.get_att_string("AssumeRolePolicyStatement")

    def trust_principal(self) -> iam.IPrincipal:
        """The principal for ``iam.Role(assumed_by=...)``, requiring this external ID."""
        return iam.AccountPrincipal(self.spacelift_aws_account_id).with_conditions(
            {"StringEquals": {"sts:ExternalId": [self.external_id]}}
        )
