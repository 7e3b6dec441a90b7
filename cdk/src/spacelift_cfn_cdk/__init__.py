"""AWS CDK v2 constructs for the spacelift-cfn CloudFormation custom resources.

- :class:`SpaceliftProvider` deploys the provider function (this repository's
  ``src/`` and ``layers/deps/``) and exposes its ``service_token``.
- :class:`SpaceliftAwsIntegration`, :class:`SpaceliftAwsIntegrationAttachment` and
  :class:`SpaceliftAwsIntegrationExternalId` are the three resource types, typed,
  taking either a ``provider`` or an imported ``service_token``.
"""

from spacelift_cfn_cdk._common import DEFAULT_SERVICE_TIMEOUT, ExternalIdTarget, ServiceTokenSource
from spacelift_cfn_cdk.attachment import SpaceliftAwsIntegrationAttachment
from spacelift_cfn_cdk.external_id import SpaceliftAwsIntegrationExternalId
from spacelift_cfn_cdk.integration import SpaceliftAwsIntegration, role_arn_for
from spacelift_cfn_cdk.provider import SpaceliftProvider

__all__ = [
    "DEFAULT_SERVICE_TIMEOUT",
    "ExternalIdTarget",
    "ServiceTokenSource",
    "SpaceliftAwsIntegration",
    "SpaceliftAwsIntegrationAttachment",
    "SpaceliftAwsIntegrationExternalId",
    "SpaceliftProvider",
    "role_arn_for",
]
