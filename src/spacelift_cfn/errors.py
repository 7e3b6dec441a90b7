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

This module depends on nothing else in the package, so every module can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
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
