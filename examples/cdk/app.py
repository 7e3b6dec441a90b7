"""The seed example (``examples/integration-stack.yaml``) as a CDK app.

It runs with the construct library's wheel installed (``make cdk`` builds it; see
requirements.txt), anywhere: the wheel carries the provider's function and layer.

A Spacelift AWS integration, the IAM role Spacelift assumes (its trust policy
built from the integration's external IDs) and the integration attached to a
stack and a module once the role exists. The provider is imported from the
stack that deployed it (``<provider_stack_name>-ServiceToken``), like the
CloudFormation example. Give the context values ``spacelift_api_key_endpoint``,
``spacelift_api_key_id`` and ``spacelift_api_key_secret_arn`` to deploy that
provider stack from this app too::

    cdk deploy --all -c spacelift_api_key_endpoint=https://acme.app.spacelift.io \\
        -c spacelift_api_key_id=01ABC... \\
        -c spacelift_api_key_secret_arn=arn:aws:secretsmanager:...:secret:spacelift-api-key-AbCdEf
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from spacelift_cfn_cdk import (
    ExternalIdTarget,
    SpaceliftAwsIntegration,
    SpaceliftAwsIntegrationAttachment,
    SpaceliftProvider,
)


class IntegrationStack(cdk.Stack):
    """The integration, its role and its two attachments."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service_token: str,
        role_name: str,
        spacelift_stack_id: str,
        spacelift_module_id: str,
        module_write: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        integration = SpaceliftAwsIntegration(
            self,
            "SpaceliftIntegration",
            service_token=service_token,
            name=role_name,
            # Not role.role_arn: the role's trust policy needs the integration first.
            role_arn=SpaceliftAwsIntegration.role_arn_for(self, role_name),
            duration_seconds=3600,
            labels=["team-infra"],
            external_ids_for=[
                ExternalIdTarget.stack(spacelift_stack_id),
                ExternalIdTarget.module(spacelift_module_id, write=module_write),
            ],
        )
        role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            # Spacelift's AWS account, only with the external IDs of the stack and module.
            assumed_by=integration.trust_principal(),
            max_session_duration=cdk.Duration.seconds(3600),
            # The policy attachment of the Terraform example.
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("PowerUserAccess")],
        )
        stack_attachment = SpaceliftAwsIntegrationAttachment(
            self, "StackAttachment", integration=integration, stack_id=spacelift_stack_id
        )
        module_attachment = SpaceliftAwsIntegrationAttachment(
            self,
            "ModuleAttachment",
            integration=integration,
            module_id=spacelift_module_id,
            write=module_write,
        )
        # Spacelift assumes the role when attaching: attach once the role exists.
        for attachment in (stack_attachment, module_attachment):
            attachment.node.add_dependency(role)

        cdk.CfnOutput(self, "IntegrationId", value=integration.integration_id)
        cdk.CfnOutput(self, "RoleArn", value=role.role_arn)
        cdk.CfnOutput(self, "StackExternalId", value=integration.external_id(spacelift_stack_id))


class ProviderStack(cdk.Stack):
    """The provider function, exporting ``<stack name>-ServiceToken`` like the SAM stack."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api_key_endpoint: str,
        api_key_id: str,
        api_key_secret_arn: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        SpaceliftProvider(
            self,
            "Provider",
            api_key_endpoint=api_key_endpoint,
            api_key_id=api_key_id,
            api_key_secret=secretsmanager.Secret.from_secret_complete_arn(
                self, "ApiKeySecret", api_key_secret_arn
            ),
            export_name=f"{self.stack_name}-ServiceToken",
        )


def context_bool(app: cdk.App, key: str) -> bool:
    """A boolean context value: ``-c key=true`` arrives as a string, cdk.json as a boolean."""
    value = app.node.try_get_context(key)
    return value is True or str(value).strip().lower() == "true"


def required_context(app: cdk.App, key: str) -> str:
    value = app.node.try_get_context(key)
    if not value:
        raise SystemExit(f"Deploying the provider stack needs the context value {key} (-c {key}=...).")
    return str(value)


def main() -> None:
    app = cdk.App()
    context = app.node.try_get_context
    provider_stack_name = str(context("provider_stack_name") or "spacelift-cfn")
    integration_stack = IntegrationStack(
        app,
        "SpaceliftIntegrationExample",
        service_token=cdk.Fn.import_value(f"{provider_stack_name}-ServiceToken"),
        role_name=str(context("role_name") or "my_role"),
        spacelift_stack_id=str(context("spacelift_stack_id") or "my-stack-id"),
        spacelift_module_id=str(context("spacelift_module_id") or "my-module-id"),
        module_write=context_bool(app, "module_write"),
    )
    if context("spacelift_api_key_endpoint"):
        provider_stack = ProviderStack(
            app,
            "SpaceliftProvider",
            stack_name=provider_stack_name,
            api_key_endpoint=required_context(app, "spacelift_api_key_endpoint"),
            api_key_id=required_context(app, "spacelift_api_key_id"),
            api_key_secret_arn=required_context(app, "spacelift_api_key_secret_arn"),
        )
        # The import needs the export first (Fn.import_value gives CDK no reference to follow).
        integration_stack.node.add_dependency(provider_stack)
    app.synth()


if __name__ == "__main__":
    main()
