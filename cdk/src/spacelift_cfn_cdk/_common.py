"""What the three resource constructs share: the service token, the stack-or-module
target, and the ``CustomResource`` they wrap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aws_cdk as cdk
from constructs import Construct

#: CloudFormation stops waiting for the provider after this long. The provider
#: function times out after 120 s, so a stuck request fails the stack in minutes,
#: not after CloudFormation's default hour (the SAM example uses "150" too).
DEFAULT_SERVICE_TIMEOUT = cdk.Duration.seconds(150)


class ServiceTokenSource(Protocol):
    """Anything with a ``service_token``, such as a :class:`SpaceliftProvider`."""

    @property
    def service_token(self) -> str: ...


def resolve_service_token(service_token: str | None, provider: ServiceTokenSource | None) -> str:
    """The ServiceToken from exactly one of an imported token or a provider in this app."""
    if (service_token is None) == (provider is None):
        raise ValueError(
            "Pass exactly one of service_token (for example Fn.import_value('spacelift-cfn-ServiceToken')) "
            "or provider (a SpaceliftProvider)."
        )
    return provider.service_token if provider is not None else str(service_token)


def is_literal(value: object) -> bool:
    """True when ``value`` is known at synthesis time (not a token such as a parameter)."""
    return not cdk.Token.is_unresolved(value)


@dataclass(frozen=True)
class ExternalIdTarget:
    """A Spacelift stack or module, and the access an integration gives it.

    Renders as one ``ExternalIdsFor`` entry (``StackId`` or ``ModuleId``, ``Read``,
    ``Write``). ``read``/``write`` left at ``None`` are omitted, so the provider's
    defaults (both true) apply. Build one with :meth:`stack` or :meth:`module`.
    """

    stack_id: str | None = None
    module_id: str | None = None
    read: bool | None = None
    write: bool | None = None

    def __post_init__(self) -> None:
        if (self.stack_id is None) == (self.module_id is None):
            raise ValueError("Set exactly one of stack_id or module_id.")
        if self.read is False and self.write is False:
            raise ValueError(f"{self.project_id}: at least one of read or write must be true.")

    @classmethod
    def stack(cls, stack_id: str, *, read: bool | None = None, write: bool | None = None) -> ExternalIdTarget:
        return cls(stack_id=stack_id, read=read, write=write)

    @classmethod
    def module(
        cls, module_id: str, *, read: bool | None = None, write: bool | None = None
    ) -> ExternalIdTarget:
        return cls(module_id=module_id, read=read, write=write)

    @property
    def project_id(self) -> str:
        """The stack or module ID (the key of the ``ExternalId.<id>`` attribute)."""
        return self.stack_id if self.stack_id is not None else str(self.module_id)

    def to_properties(self) -> dict[str, Any]:
        """The CloudFormation properties, with booleans kept as booleans."""
        properties: dict[str, Any] = (
            {"StackId": self.stack_id} if self.stack_id is not None else {"ModuleId": self.module_id}
        )
        if self.read is not None:
            properties["Read"] = self.read
        if self.write is not None:
            properties["Write"] = self.write
        return properties


def target_resource(
    scope: Construct,
    *,
    resource_type: str,
    integration_id: str,
    target: ExternalIdTarget,
    service_token: str,
    service_timeout: cdk.Duration | None,
    removal_policy: cdk.RemovalPolicy | None = None,
) -> cdk.CustomResource:
    """The resource of a construct naming an integration and a stack or module (attachment, external ID)."""
    return custom_resource(
        scope,
        resource_type=resource_type,
        service_token=service_token,
        properties={"IntegrationId": integration_id, **target.to_properties()},
        service_timeout=service_timeout,
        removal_policy=removal_policy,
    )


def custom_resource(
    scope: Construct,
    *,
    resource_type: str,
    service_token: str,
    properties: Mapping[str, Any],
    service_timeout: cdk.Duration | None,
    removal_policy: cdk.RemovalPolicy | None,
) -> cdk.CustomResource:
    """The ``Custom::Spacelift*`` resource, as the construct's default child ``Resource``.

    Properties keep their CloudFormation names and native types: CDK writes
    ``3600`` and ``false`` into the template, CloudFormation sends them to the
    provider as strings, and the provider reads both forms. Unset (``None``)
    properties are left out so the provider's defaults apply.
    """
    return cdk.CustomResource(
        scope,
        "Resource",
        service_token=service_token,
        resource_type=resource_type,
        properties={name: value for name, value in properties.items() if value is not None},
        service_timeout=service_timeout,
        removal_policy=removal_policy,
    )
