"""Every exception the provider raises, in one place.

Which messages may reach the stack's user (the FAILED answer's Reason, shown in the stack's
events) is decided here, by the base class: anything under :class:`UserFacingError` is written
for that reader and carries no secret; anything else is logged and answered with a generic
reason. The hierarchy::

    Exception
    ├── UserFacingError          safe to show: its message becomes the Reason
    │   ├── PropertyError        a property is missing, unknown or malformed (names it)
    │   │   └── DataTooLarge     the attributes would not fit the 4096-byte response
    │   ├── ConfigurationError   the function's environment is incomplete or unsafe
    │   ├── TableUnavailable     the DynamoDB table failed before the work began
    │   └── SpaceliftError       a Spacelift call failed
    │       ├── GraphQLError     the API answered errors[] (HTTP 200)
    │       ├── OutcomeUnknown   a mutation may have been applied; its answer was lost
    │       ├── AppliedFailure   a Create failed after Spacelift made something (carries its ID)
    │       └── CreateCancelled  CloudFormation cancelled the Create; what it made is gone
    ├── DeadlineExceeded         the time budget ran out (the handler words the Reason)
    └── DuplicateInProgress      another delivery of the same event runs and will answer

The misconfigurations a first deployment can hit (the secret, its KMS key, the endpoint, the
key ID and secret, the key's rights, the account's AWS integrations) are worded once, in
:data:`MISCONFIGURATIONS`: each names the setting and the fix, and docs/troubleshooting.md shows
every one verbatim (a test renders them from here and looks for them there).

This module depends on nothing else in the package, so every module can use it.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class UserFacingError(Exception):
    """The message is written for the stack's user and is safe to show in a Reason."""


class PropertyError(UserFacingError, ValueError):
    """A property is missing, unknown or malformed; the message names it."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"Property {path}: {problem}" if path else problem)

    def under(self, prefix: str) -> PropertyError:
        """The same error, located below ``prefix`` (for nested properties)."""
        if not self.path:
            return PropertyError(prefix, self.problem)
        separator = "" if self.path.startswith("[") else "."
        return PropertyError(f"{prefix}{separator}{self.path}", self.problem)


class DataTooLarge(PropertyError):
    """The attributes would not fit CloudFormation's 4096-byte response."""


class ConfigurationError(UserFacingError):
    """The function's environment is incomplete or unsafe; the message says how to fix it."""


class TableUnavailable(UserFacingError):
    """The DynamoDB table could not be used before the work began: nothing was changed."""

    def __init__(self, cause: str = "") -> None:
        super().__init__(
            "The provider could not use its DynamoDB table and did not start; nothing was changed in "
            f"Spacelift. Check the table named by IDEMPOTENCY_TABLE{f' ({cause})' if cause else ''}."
        )


class SpaceliftError(UserFacingError):
    """A Spacelift call failed."""


class GraphQLError(SpaceliftError):
    """The API answered with ``errors[]`` (HTTP 200)."""

    def __init__(self, errors: list[tuple[str, tuple[object, ...]]], data: Mapping[str, Any] | None) -> None:
        self.messages = [message for message, _ in errors]
        self.paths = [path for _, path in errors]
        self.data = data
        super().__init__("; ".join(self.messages))

    @property
    def not_found(self) -> bool:
        """The object asked for itself (not something nested in it) does not exist."""
        return any(
            "not found" in message.lower() and len(path) <= 1
            for message, path in zip(self.messages, self.paths, strict=True)
        )

    @property
    def nested(self) -> bool:
        """Some error is below a root field: the root field itself was resolved (and applied)."""
        return any(len(path) > 1 for path in self.paths)

    def mentions(self, text: str) -> bool:
        return any(text.lower() in message.lower() for message in self.messages)


class OutcomeUnknown(SpaceliftError):
    """A mutation that is not safe to repeat failed after it may have been applied."""


class AppliedFailure(SpaceliftError):
    """A Create failed after Spacelift made something: CloudFormation is answered FAILED with
    the made object's ID, so the rollback Delete removes exactly that."""

    def __init__(self, reason: str, physical_resource_id: str) -> None:
        super().__init__(reason)
        self.physical_resource_id = physical_resource_id


class CreateCancelled(SpaceliftError):
    """CloudFormation cancelled this Create; what it made was removed again."""

    def __init__(self) -> None:
        super().__init__("CloudFormation cancelled this Create; nothing it made is left in Spacelift.")


class DeadlineExceeded(Exception):
    """The time budget ran out before the work finished."""


class DuplicateInProgress(Exception):
    """The same event is being handled by another delivery, which will answer."""


@dataclass(frozen=True)
class Misconfiguration:
    """One way a deployment can be set up wrong, and the Reason CloudFormation shows for it.

    ``template`` may hold ``{fields}`` (a host name, an HTTP status, an error code): never a
    secret. docs/troubleshooting.md shows the template with each field as ``<field>``.
    """

    key: str
    template: str

    def reason(self, **fields: object) -> str:
        return self.template.format(**fields)

    @property
    def fields(self) -> list[str]:
        return [name for _, name, _, _ in string.Formatter().parse(self.template) if name]

    def as_documented(self) -> str:
        """The reason as docs/troubleshooting.md shows it: each field as ``<field>``."""
        return self.reason(**{name: f"<{name}>" for name in self.fields})


_SECRET = "SpaceliftApiKeySecretArn (SPACELIFT_API_KEY_SECRET_ARN)"
_KMS = "SpaceliftApiKeySecretKmsKeyArn"
_ENDPOINT = "SpaceliftApiKeyEndpoint (SPACELIFT_API_KEY_ENDPOINT)"
_KEY_ID = "SpaceliftApiKeyId (SPACELIFT_API_KEY_ID)"

SECRET_NOT_FOUND = Misconfiguration(
    "secret-not-found",
    f"Secrets Manager has no secret at {_SECRET}, ResourceNotFoundException: set it to the full ARN "
    "of the secret that holds the API key secret, in this function's account and Region.",
)
SECRET_ACCESS_DENIED = Misconfiguration(
    "secret-access-denied",
    f"The function's role may not read the secret at {_SECRET}, AccessDeniedException: its policy "
    "allows that exact ARN only, so give the full ARN with its 6-character suffix, and check that no "
    "resource policy on the secret and no SCP denies secretsmanager:GetSecretValue.",
)
SECRET_KMS_DENIED = Misconfiguration(
    "secret-kms-denied",
    "The secret is encrypted with a KMS key the function may not use (AccessDeniedException: Access "
    f"to KMS is not allowed): set {_KMS} to the ARN of that customer managed key, and let the "
    "key policy allow the account's IAM policies (or the function's role) kms:Decrypt.",
)
SECRET_DECRYPTION_FAILURE = Misconfiguration(
    "secret-decryption-failure",
    "Secrets Manager could not decrypt the secret with its KMS key (DecryptionFailure): check that "
    f"the key named by {_KMS} is enabled and not pending deletion, and that its key policy allows "
    "the function's role kms:Decrypt.",
)
SECRET_SCHEDULED_FOR_DELETION = Misconfiguration(
    "secret-scheduled-for-deletion",
    f"The secret at {_SECRET} is scheduled for deletion, InvalidRequestException: restore it with "
    "aws secretsmanager restore-secret, or point the parameter at another secret.",
)
SECRET_UNREADABLE = Misconfiguration(
    "secret-unreadable",
    f"Secrets Manager refused the secret at {_SECRET}, {{code}}: check the parameter and the "
    "function's role.",
)
SECRET_EMPTY = Misconfiguration(
    "secret-empty",
    f"The secret at {_SECRET} is empty or not a string: store the API key secret as the secret's "
    "plain text value (not JSON).",
)
ENDPOINT_UNRESOLVED = Misconfiguration(
    "endpoint-unresolved",
    f"The host of {_ENDPOINT}, {{host}}, does not resolve: set it to your account's URL, such as "
    "https://acme.app.spacelift.io (https://acme.app.us.spacelift.io for US accounts).",
)
ENDPOINT_NOT_SPACELIFT = Misconfiguration(
    "endpoint-not-spacelift",
    f"{_ENDPOINT} does not serve the Spacelift GraphQL API ({{answer}} at {{url}}): set it to your "
    "account's URL, such as https://acme.app.spacelift.io.",
)
ENDPOINT_TLS = Misconfiguration(
    "endpoint-tls",
    f"The TLS certificate of {_ENDPOINT} could not be verified: check the URL (a proxy or a "
    "self-hosted install needs a certificate the Lambda runtime trusts).",
)
KEY_ID_UNKNOWN = Misconfiguration(
    "key-id-unknown",
    f"Spacelift knows no API key with the ID in {_KEY_ID}: check the key ID (26 characters) and that "
    f"{_ENDPOINT} is the account the key belongs to.",
)
KEY_SECRET_REFUSED = Misconfiguration(
    "key-secret-refused",
    f"Spacelift refused the API key secret for the key in {_KEY_ID}: store that key's secret in "
    f"the secret at {_SECRET}.",
)
KEY_NOT_ADMIN = Misconfiguration(
    "key-not-admin",
    f"Spacelift answered unauthorized: the API key in {_KEY_ID} needs admin rights on the "
    "integration's space (or a space above it); give it that role and use the space's ID, not its "
    "name.",
)
AWS_INTEGRATIONS_DISABLED = Misconfiguration(
    "aws-integrations-disabled",
    "AWS integrations are not enabled in the Spacelift account at "
    f"{_ENDPOINT}, awsIntegrationsEnabled is false: ask Spacelift to enable them for the account.",
)

#: Every misconfiguration, in the order docs/troubleshooting.md lists them.
MISCONFIGURATIONS: tuple[Misconfiguration, ...] = (
    SECRET_NOT_FOUND,
    SECRET_ACCESS_DENIED,
    SECRET_KMS_DENIED,
    SECRET_DECRYPTION_FAILURE,
    SECRET_SCHEDULED_FOR_DELETION,
    SECRET_UNREADABLE,
    SECRET_EMPTY,
    ENDPOINT_UNRESOLVED,
    ENDPOINT_NOT_SPACELIFT,
    ENDPOINT_TLS,
    KEY_ID_UNKNOWN,
    KEY_SECRET_REFUSED,
    KEY_NOT_ADMIN,
    AWS_INTEGRATIONS_DISABLED,
)
