"""``SpaceliftAwsIntegration``: the ``Custom::SpaceliftAwsIntegration`` resource, typed.

Besides the attributes, it builds the trust policy of the role Spacelift assumes
from the external IDs it computes, which is the part of the CloudFormation
example that is easiest to get wrong by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from spacelift_cfn_cdk._common import (
    DEFAULT_SERVICE_TIMEOUT,
    ExternalIdTarget,
    ServiceTokenSource,
    custom_resource,
    is_literal,
    resolve_service_token,
)

RESOURCE_TYPE = "Custom::SpaceliftAwsIntegration"

#: The bounds the provider (and Spacelift) accept for DurationSeconds.
MIN_DURATION_SECONDS, MAX_DURATION_SECONDS = 900, 43200


def role_arn_for(scope: Construct, role_name: str) -> str:
    """The ARN a role named ``role_name`` will have in ``scope``'s stack.

    Pass this, not ``role.role_arn``, as ``role_arn``: the role's trust policy
    needs the integration's attributes, so the integration cannot also wait for
    the role (CloudFormation would report a circular dependency).
    """
    return cdk.Stack.of(scope).format_arn(
        service="iam",
        region="",
        resource="role",
        resource_name=role_name,
        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
    )


class SpaceliftAwsIntegration(Construct):
    """A Spacelift AWS integration (``Custom::SpaceliftAwsIntegration``).

    Give exactly one of ``service_token`` (for a provider deployed elsewhere, e.g.
    ``Fn.import_value("spacelift-cfn-ServiceToken")``) or ``provider`` (a
    :class:`SpaceliftProvider` in this app). ``None`` leaves a property out so the
    provider's default applies. List in ``external_ids_for`` every stack and module
    that will use the integration: their external IDs become attributes, and the
    trust policy helpers admit exactly those.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        role_arn: str,
        service_token: str | None = None,
        provider: ServiceTokenSource | None = None,
        duration_seconds: int | None = None,
        external_id: str | None = None,
        generate_credentials_in_worker: bool | None = None,
        labels: Sequence[str] | None = None,
        space_id: str | None = None,
        region: str | None = None,
        autoattach_enabled: bool | None = None,
        tag_assume_role: bool | None = None,
        external_ids_for: Sequence[ExternalIdTarget] = (),
        service_timeout: cdk.Duration | None = DEFAULT_SERVICE_TIMEOUT,
        removal_policy: cdk.RemovalPolicy | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        _check_duration(duration_seconds)
        _check_unique(external_ids_for)
        self.service_token = resolve_service_token(service_token, provider)
        self.external_ids_for: tuple[ExternalIdTarget, ...] = tuple(external_ids_for)
        self.tag_assume_role = bool(tag_assume_role)
        self.resource = custom_resource(
            self,
            resource_type=RESOURCE_TYPE,
            service_token=self.service_token,
            properties={
                "Name": name,
                "RoleArn": role_arn,
                "DurationSeconds": duration_seconds,
                "ExternalId": external_id,
                "GenerateCredentialsInWorker": generate_credentials_in_worker,
                "Labels": list(labels) if labels is not None else None,
                "SpaceId": space_id,
                "Region": region,
                "AutoattachEnabled": autoattach_enabled,
                "TagAssumeRole": tag_assume_role,
                "ExternalIdsFor": [target.to_properties() for target in self.external_ids_for] or None,
            },
            service_timeout=service_timeout,
            removal_policy=removal_policy,
        )

    @property
    def integration_id(self) -> str:
        """The integration's ID (``Ref``), for attachments."""
        return self.resource.ref

    @property
    def name(self) -> str:
        return self.resource.get_att_string("Name")

    @property
    def role_arn(self) -> str:
        return self.resource.get_att_string("RoleArn")

    @property
    def space_id(self) -> str:
        """The space the integration is in (chosen by the server when ``space_id`` was unset)."""
        return self.resource.get_att_string("SpaceId")

    @property
    def spacelift_aws_account_id(self) -> str:
        """The AWS account Spacelift assumes roles from: the trust policy's principal."""
        return self.resource.get_att_string("SpaceliftAwsAccountId")

    @property
    def assume_role_policy_document(self) -> str:
        """The whole trust policy, as the JSON string the Spacelift API writes.

        For ``iam.CfnRole(assume_role_policy_document=...)``; the L2 ``iam.Role``
        needs a principal instead: use :meth:`trust_principal`.
        """
        return self.resource.get_att_string("AssumeRolePolicyDocument")

    def external_id(self, project_id: str) -> str:
        """The external ID Spacelift uses for a stack or module listed in ``external_ids_for``.

        Checked here because an attribute that does not exist only fails at deploy time.
        """
        if not is_literal(project_id):
            raise ValueError("external_id() needs a literal stack or module ID, not a token.")
        for target in self.external_ids_for:
            if is_literal(target.project_id) and target.project_id == project_id:
                return self.resource.get_att_string(f"ExternalId.{project_id}")
        listed = ", ".join(repr(target.project_id) for target in self.external_ids_for) or "none"
        raise ValueError(f"{project_id!r} is not in external_ids_for (listed: {listed}).")

    def external_ids(self) -> list[str]:
        """The external IDs of every ``external_ids_for`` entry, in order."""
        if not self.external_ids_for:
            # Without an sts:ExternalId condition any Spacelift account could assume
            # the role (the confused deputy problem): never build such a policy.
            raise ValueError(
                "external_ids_for is empty: list the stacks and modules that use this integration, "
                "so the trust policy can require their external IDs."
            )
        if not all(is_literal(target.project_id) for target in self.external_ids_for):
            raise ValueError(
                "An external_ids_for entry is a token, so its ExternalId.<id> attribute cannot be named; "
                "use assume_role_policy_document with iam.CfnRole instead."
            )
        return [self.external_id(target.project_id) for target in self.external_ids_for]

    def trust_principal(self) -> iam.IPrincipal:
        """The principal for ``iam.Role(assumed_by=...)``: Spacelift's account, with the external IDs.

        With ``tag_assume_role`` it also allows ``sts:TagSession``, which Spacelift
        needs to tag the session.
        """
        principal = iam.AccountPrincipal(self.spacelift_aws_account_id).with_conditions(self._conditions())
        return principal.with_session_tags() if self.tag_assume_role else principal

    def trust_policy_statements(self) -> list[iam.PolicyStatement]:
        """The statements of the role's trust policy (for a ``PolicyDocument`` of your own)."""
        actions = ["sts:AssumeRole", "sts:TagSession"] if self.tag_assume_role else ["sts:AssumeRole"]
        return [
            iam.PolicyStatement(
                effect=iam.Effect.ALLOW,
                actions=actions,
                principals=[iam.AccountPrincipal(self.spacelift_aws_account_id)],
                conditions=self._conditions(),
            )
        ]

    def trust_policy_document(self) -> iam.PolicyDocument:
        """The role's whole trust policy, e.g. for ``iam.CfnRole(assume_role_policy_document=...)``."""
        return iam.PolicyDocument(statements=self.trust_policy_statements())

    def _conditions(self) -> dict[str, dict[str, list[str]]]:
        return {"StringEquals": {"sts:ExternalId": self.external_ids()}}


def _check_duration(duration_seconds: int | None) -> None:
    if duration_seconds is None or not is_literal(duration_seconds):
        return
    if isinstance(duration_seconds, bool) or not isinstance(duration_seconds, int):
        raise TypeError(f"duration_seconds must be a whole number of seconds, got {duration_seconds!r}")
    if not MIN_DURATION_SECONDS <= duration_seconds <= MAX_DURATION_SECONDS:
        raise ValueError(
            f"duration_seconds must be between {MIN_DURATION_SECONDS} and {MAX_DURATION_SECONDS}, "
            f"got {duration_seconds}"
        )


def _check_unique(targets: Sequence[ExternalIdTarget]) -> None:
    seen: set[str] = set()
    for target in targets:
        if not is_literal(target.project_id):
            continue
        if target.project_id in seen:
            raise ValueError(f"external_ids_for lists {target.project_id!r} twice")
        seen.add(target.project_id)
