"""The emulated account: integrations, attachments, stacks, modules and spaces, and the rules.

Everything here is transport-free: rule violations raise `ApiError`, whose text the GraphQL
layer reports as an error message (with HTTP 200, as Spacelift does). All records are frozen
dataclasses that are replaced, never mutated, so the snapshots handed to tests cannot change
under them. One re-entrant lock serialises every read and write: the HTTP server is threaded,
and an attach must check its rules and insert the attachment atomically.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ROOT_SPACE = "root"
DEFAULT_DURATION_SECONDS = 900
MIN_DURATION_SECONDS = 900
MAX_DURATION_SECONDS = 43200

TRUST_ERROR = "you need to configure trust relationship section in your AWS account"
READ_WRITE_ERROR = "at least one of either 'read' or 'write' must be true"

# arn:<partition>:iam::<12-digit account>:role/<optional path/><name>; IAM's role-name charset.
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}")
# us-east-1, eu-central-2, us-gov-west-1, cn-north-1 ...
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class ApiError(Exception):
    """A request the real API would refuse; `str(error)` is the GraphQL error message."""


def new_ulid(now: float | None = None) -> str:
    """A 26-character ULID (48-bit millisecond time, 80 random bits), as Spacelift's IDs are."""
    millis = int((time.time() if now is None else now) * 1000)
    value = (millis << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


@dataclass(frozen=True, kw_only=True)
class IntegrationSettings:
    """What create and update set: the ten arguments both mutations take, after defaults.

    `external_id` is the *custom* external ID (input `externalID`), None when unset.
    """

    name: str
    role_arn: str
    generate_credentials_in_worker: bool = False
    labels: tuple[str, ...] = ()
    external_id: str | None = None
    duration_seconds: int = DEFAULT_DURATION_SECONDS
    space: str = ROOT_SPACE
    region: str | None = None
    autoattach_enabled: bool = False
    tag_assume_role: bool = False


@dataclass(frozen=True, kw_only=True)
class Integration(IntegrationSettings):
    """A stored AWS integration."""

    id: str


@dataclass(frozen=True)
class Attachment:
    """An integration attached to a stack or module (`stack_id` holds either kind of ID)."""

    id: str
    integration_id: str
    stack_id: str
    is_module: bool
    read: bool
    write: bool


@dataclass(frozen=True)
class Project:
    """A stack or a module; Spacelift's provider calls either a "project"."""

    id: str
    space: str
    is_module: bool
    name: str


@dataclass(frozen=True)
class Space:
    """A space; `parent` is None only for root. Entities are inherited only if it says so."""

    id: str
    parent: str | None
    inherit_entities: bool = True


@dataclass(frozen=True)
class ExternalId:
    """The result of `externalIdForStack`."""

    external_id: str
    assume_role_policy_statement: str


TrustCheck = Callable[[Integration, str, str], bool]
"""`(integration, stack_or_module_id, external_id) -> trusted`: the role assumption test."""


class State:
    """The account's objects and the rules the API enforces on them; starts with space root."""

    def __init__(self, account_name: str, aws_account_id: str, unique_names: bool = True) -> None:
        self.account_name = account_name
        self.aws_account_id = aws_account_id
        #: Whether integration names are unique (case-insensitively). The public sources only
        #: *infer* it, so a client must work either way; tests run both.
        self.unique_names = unique_names
        self._integrations: dict[str, Integration] = {}
        self._attachments: dict[str, Attachment] = {}
        self._projects: dict[str, Project] = {}
        self._spaces: dict[str, Space] = {ROOT_SPACE: Space(ROOT_SPACE, None)}
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- registry (test setup)

    def add_space(self, space_id: str, parent: str = ROOT_SPACE, inherit_entities: bool = True) -> None:
        """Register a space under an existing parent (a setup error raises ValueError)."""
        with self._lock:
            if space_id in self._spaces:
                raise ValueError(f"space {space_id!r} already exists")
            if parent not in self._spaces:
                raise ValueError(f"parent space {parent!r} does not exist")
            self._spaces[space_id] = Space(space_id, parent, inherit_entities)

    def add_project(self, project_id: str, space: str, is_module: bool, name: str | None) -> None:
        """Register a stack or module in an existing space (a setup error raises ValueError)."""
        with self._lock:
            if project_id in self._projects:
                raise ValueError(f"stack or module {project_id!r} already exists")
            if space not in self._spaces:
                raise ValueError(f"space {space!r} does not exist")
            self._projects[project_id] = Project(project_id, space, is_module, name or project_id)

    def remove_project(self, project_id: str, is_module: bool) -> list[Attachment]:
        """A stack or module deleted in Spacelift: it goes, and its attachments with it (the
        removed attachments are returned). A setup error (no such stack or module) raises
        ValueError."""
        with self._lock:
            project = self._projects.get(project_id)
            if project is None or project.is_module != is_module:
                raise ValueError(f"{'module' if is_module else 'stack'} {project_id!r} does not exist")
            del self._projects[project_id]
            removed = [a for a in self._attachments.values() if a.stack_id == project_id]
            for attachment in removed:
                del self._attachments[attachment.id]
            return removed

    # ---------------------------------------------------------------- snapshots and lookups

    def integrations(self) -> dict[str, Integration]:
        with self._lock:
            return dict(self._integrations)

    def attachments(self) -> dict[str, Attachment]:
        with self._lock:
            return dict(self._attachments)

    def integration(self, integration_id: str) -> Integration | None:
        with self._lock:
            return self._integrations.get(integration_id)

    def integration_by_name(self, name: str) -> Integration | None:
        """Exact (case-sensitive) match on the name."""
        with self._lock:
            return next((i for i in self._integrations.values() if i.name == name), None)

    def project(self, project_id: str) -> Project | None:
        with self._lock:
            return self._projects.get(project_id)

    def attachment_of(self, integration_id: str, project_id: str) -> Attachment | None:
        with self._lock:
            return next(
                (
                    a
                    for a in self._attachments.values()
                    if a.integration_id == integration_id and a.stack_id == project_id
                ),
                None,
            )

    def attachments_of_project(self, project_id: str) -> list[Attachment]:
        with self._lock:
            return [a for a in self._attachments.values() if a.stack_id == project_id]

    def attachable_in_space(self, space_id: str) -> list[Integration]:
        """Integrations a stack in `space_id` could attach: those in it or inherited by it."""
        with self._lock:
            if space_id not in self._spaces:
                raise ApiError(f'space "{space_id}" not found')
            return [i for i in self._integrations.values() if self._sees(space_id, i.space)]

    def external_id_for(
        self, integration_id: str, project_id: str, read: bool, write: bool
    ) -> ExternalId | None:
        """The computed external ID and its one-statement trust policy (a JSON string); None
        when the stack or module does not exist (the resolver applies the not-found style)."""
        with self._lock:
            self._require_integration(integration_id)
            if project_id not in self._projects:
                return None
            if not (read or write):
                raise ApiError(READ_WRITE_ERROR)
            external_id = self._external_id(integration_id, project_id, write)
            statement = {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": self.aws_account_id},
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
            return ExternalId(external_id, json.dumps(statement, separators=(",", ":")))

    # ---------------------------------------------------------------- integration mutations

    def create_integration(self, settings: IntegrationSettings) -> Integration:
        with self._lock:
            self._check_settings(settings, exclude_id=None)
            integration = Integration(id=new_ulid(), **_fields(settings))
            self._integrations[integration.id] = integration
            return integration

    def update_integration(self, integration_id: str, settings: IntegrationSettings) -> Integration:
        """Replace every setting (update is a full replacement, as the provider uses it)."""
        with self._lock:
            self._require_integration(integration_id)
            self._check_settings(settings, exclude_id=integration_id)
            for attachment in self._attachments.values():
                project = self._projects[attachment.stack_id]
                if attachment.integration_id == integration_id and not self._sees(
                    project.space, settings.space
                ):
                    raise ApiError(
                        f"cannot move integration to space {settings.space}, "
                        f"{_kind(project)} {project.id} space has no access to integration space"
                    )
            integration = Integration(id=integration_id, **_fields(settings))
            self._integrations[integration_id] = integration
            return integration

    def delete_integration(self, integration_id: str) -> Integration:
        with self._lock:
            integration = self._require_integration(integration_id)
            attached = sorted(
                a.stack_id for a in self._attachments.values() if a.integration_id == integration_id
            )
            if attached:
                raise ApiError(
                    f"AWS integration {integration_id} is still attached to "
                    f"{', '.join(attached)}; detach it first"
                )
            del self._integrations[integration_id]
            return integration

    # ---------------------------------------------------------------- attachment mutations

    def attach(
        self, integration_id: str, project_id: str, read: bool, write: bool, trust: TrustCheck
    ) -> Attachment:
        """Attach after the API's checks, ending with the role assumption test (`trust`)."""
        with self._lock:
            integration = self._require_integration(integration_id)
            project = self._require_project(project_id)
            if not (read or write):
                raise ApiError(READ_WRITE_ERROR)
            if not self._sees(project.space, integration.space):
                raise ApiError(
                    f"cannot attach integration, {_kind(project)} {project.id} space has no "
                    "access to integration space"
                )
            if self.attachment_of(integration_id, project_id) is not None:
                raise ApiError(
                    f"AWS integration {integration_id} is already attached to {_kind(project)} {project.id}"
                )
            self._check_one_read_one_write(project, read, write, exclude_id=None)
            self._test_role_assumption(integration, project.id, write, trust)
            attachment = Attachment(new_ulid(), integration_id, project_id, project.is_module, read, write)
            self._attachments[attachment.id] = attachment
            return attachment

    def update_attachment(self, attachment_id: str, read: bool, write: bool, trust: TrustCheck) -> Attachment:
        with self._lock:
            current = self._require_attachment(attachment_id)
            if not (read or write):
                raise ApiError(READ_WRITE_ERROR)
            project = self._projects[current.stack_id]
            self._check_one_read_one_write(project, read, write, exclude_id=attachment_id)
            integration = self._integrations[current.integration_id]
            self._test_role_assumption(integration, project.id, write, trust)
            updated = dataclasses.replace(current, read=read, write=write)
            self._attachments[attachment_id] = updated
            return updated

    def detach(self, attachment_id: str) -> Attachment:
        with self._lock:
            return self._attachments.pop(self._require_attachment(attachment_id).id)

    # ---------------------------------------------------------------- rules

    def _check_settings(self, settings: IntegrationSettings, exclude_id: str | None) -> None:
        if not settings.name.strip():
            raise ApiError("name must not be empty")
        clash = next(
            (
                i
                for i in self._integrations.values()
                if self.unique_names and i.id != exclude_id and i.name.casefold() == settings.name.casefold()
            ),
            None,
        )
        if clash is not None:
            raise ApiError(f'an AWS integration named "{clash.name}" already exists')
        if not _ROLE_ARN.fullmatch(settings.role_arn):
            raise ApiError(f'roleArn "{settings.role_arn}" is not a valid IAM role ARN')
        if not MIN_DURATION_SECONDS <= settings.duration_seconds <= MAX_DURATION_SECONDS:
            raise ApiError(
                f"durationSeconds must be between {MIN_DURATION_SECONDS} and "
                f"{MAX_DURATION_SECONDS}, got {settings.duration_seconds}"
            )
        if settings.space not in self._spaces:
            raise ApiError(f'space "{settings.space}" not found')
        if settings.region is not None and not _REGION.fullmatch(settings.region):
            raise ApiError(f'region "{settings.region}" is not a valid AWS region')

    def _check_one_read_one_write(
        self, project: Project, read: bool, write: bool, exclude_id: str | None
    ) -> None:
        """A Stack can have at most one read, and one write attachment (schema description)."""
        for other in self.attachments_of_project(project.id):
            if other.id == exclude_id:
                continue
            for mode, wanted, taken in (("read", read, other.read), ("write", write, other.write)):
                if wanted and taken:
                    raise ApiError(f"{_kind(project)} {project.id} already has a {mode} attachment")

    def _test_role_assumption(
        self, integration: Integration, project_id: str, write: bool, trust: TrustCheck
    ) -> None:
        if not trust(integration, project_id, self._external_id(integration.id, project_id, write)):
            raise ApiError(TRUST_ERROR)

    def lineage(self, space_id: str) -> list[str]:
        """`space_id` and its ancestors up to root (whatever their entity inheritance): a role
        bound on a space also applies below it."""
        lineage: list[str] = []
        current: str | None = space_id
        with self._lock:
            while current is not None and current in self._spaces:
                lineage.append(current)
                current = self._spaces[current].parent
        return lineage

    def _sees(self, space_id: str, target: str) -> bool:
        """Whether objects in space `target` are visible from `space_id` (same or inherited)."""
        current: str | None = space_id
        while current is not None:
            if current == target:
                return True
            space = self._spaces[current]
            current = space.parent if space.inherit_entities else None
        return False

    def _external_id(self, integration_id: str, project_id: str, write: bool) -> str:
        return f"{self.account_name}@{integration_id}@{project_id}@{'write' if write else 'read'}"

    def _require_integration(self, integration_id: str) -> Integration:
        integration = self._integrations.get(integration_id)
        if integration is None:
            raise ApiError(f'AWS integration "{integration_id}" not found')
        return integration

    def _require_project(self, project_id: str) -> Project:
        project = self._projects.get(project_id)
        if project is None:
            raise ApiError(f'stack "{project_id}" not found')
        return project

    def _require_attachment(self, attachment_id: str) -> Attachment:
        attachment = self._attachments.get(attachment_id)
        if attachment is None:
            raise ApiError(f'AWS integration attachment "{attachment_id}" not found')
        return attachment


def _fields(settings: IntegrationSettings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(IntegrationSettings)}


def _kind(project: Project) -> str:
    return "module" if project.is_module else "stack"
