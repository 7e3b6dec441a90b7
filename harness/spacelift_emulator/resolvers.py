"""The executable schema: `schema.graphql` plus the resolvers that map it onto `State`.

Resolvers stay thin: they check the caller's token, turn GraphQL arguments into domain calls,
and apply the not-found style. Domain rule violations surface as `ApiError`, which
graphql-core reports as an `errors[]` entry with the field's `path` (and, as the GraphQL rules
require, a null at the nearest nullable parent).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

from graphql import GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema, build_schema

from .auth import Grant, Tokens
from .faults import Faults
from .state import (
    DEFAULT_DURATION_SECONDS,
    ROOT_SPACE,
    ApiError,
    Attachment,
    ExternalId,
    Integration,
    IntegrationSettings,
    Project,
    State,
    TrustCheck,
)

Resolver = Callable[..., Any]


@dataclass(frozen=True)
class Context:
    """What one request's resolvers need; `identity` is the key ID behind a live token."""

    state: State
    tokens: Tokens
    faults: Faults
    trust: TrustCheck
    identity: str | None
    audience: str
    #: The error every AWS integration field answers when the account has them disabled
    #: (None: enabled).
    integrations_refusal: str | None = None


Info = GraphQLResolveInfo[Context]


@dataclass(frozen=True)
class Viewer:
    id: str


#: The external ID field as the SDL declares it (nullable), and its non-null variant.
_EXTERNAL_ID_FIELD = (
    "externalIdForStack(stackId: ID!, read: Boolean!, write: Boolean!): AwsIntegrationExternalId"
)


@functools.cache
def build_executable_schema(external_id_required: bool = False) -> GraphQLSchema:
    """Parse the SDL shipped with the package and attach the resolvers. Built once per
    process and shared: resolvers find everything per-request in the context.

    ``external_id_required`` declares ``externalIdForStack`` non-null: whether it is nullable
    is unknown, and when it is not, an error there nulls the whole mutation result.
    """
    sdl = resources.files(__package__).joinpath("schema.graphql").read_text(encoding="utf-8")
    if _EXTERNAL_ID_FIELD not in sdl:
        raise RuntimeError("schema.graphql no longer declares externalIdForStack as expected")
    if external_id_required:
        sdl = sdl.replace(_EXTERNAL_ID_FIELD, _EXTERNAL_ID_FIELD + "!")
    schema = build_schema(sdl)
    for type_name, field_resolvers in _RESOLVERS.items():
        fields = cast(GraphQLObjectType, schema.get_type(type_name)).fields
        for field_name, resolver in field_resolvers.items():
            fields[field_name].resolve = resolver
    return schema


@functools.cache
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def resolve_attribute(source: Any, info: GraphQLResolveInfo[Any], **_: Any) -> Any:
    """Default resolver: the camelCase GraphQL field read from the snake_case attribute."""
    return getattr(source, _snake(info.field_name))


# -------------------------------------------------------------------- helpers


def _authenticated(resolver: Callable[..., Any]) -> Resolver:
    """Every root field except the token exchange needs a live bearer token."""

    @functools.wraps(resolver)
    def wrapper(source: Any, info: Info, **args: Any) -> Any:
        context = info.context
        if context.identity is None:
            raise ApiError("unauthorized")
        if context.integrations_refusal is not None and info.field_name in _AWS_INTEGRATION_FIELDS:
            raise ApiError(context.integrations_refusal)
        return resolver(context, source, **args)

    return wrapper


#: The root fields an account without AWS integrations refuses (`awsIntegrationsEnabled`, which
#: answers false then, is not one of them).
_AWS_INTEGRATION_FIELDS = frozenset(
    {
        "awsIntegration",
        "awsIntegrationByName",
        "awsIntegrations",
        "attachableAwsIntegrationsInSpace",
        "awsIntegrationCreate",
        "awsIntegrationUpdate",
        "awsIntegrationDelete",
        "awsIntegrationAttach",
        "awsIntegrationAttachmentUpdate",
        "awsIntegrationDetach",
    }
)


def _require_admin(context: Context, *spaces: str) -> None:
    """A mutation needs the key to be admin of each space it changes (or of a space above it);
    otherwise the API answers `unauthorized`, as it does for an under-privileged token."""
    administered = context.tokens.admin_spaces(cast(str, context.identity))
    if administered is None:
        return
    for space in spaces:
        if administered.isdisjoint(context.state.lineage(space)):
            raise ApiError("unauthorized")


def _space_of(context: Context, integration_id: str) -> tuple[str, ...]:
    integration = context.state.integration(integration_id)
    return () if integration is None else (integration.space,)


def _space_of_attachment(context: Context, attachment_id: str) -> tuple[str, ...]:
    attachment = context.state.attachments().get(attachment_id)
    return () if attachment is None else _space_of(context, attachment.integration_id)


def _absent(context: Context, message: str) -> None:
    """A missing object: null, or an error `... not found` under `not_found_style="error"`."""
    if context.faults.not_found_style == "error":
        raise ApiError(message)


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _settings(args: dict[str, Any]) -> IntegrationSettings:
    """Create/update arguments after defaults: an omitted or null argument takes the default
    (update is a full replacement, so omitting one resets it rather than keeping it)."""
    return IntegrationSettings(
        name=args["name"],
        role_arn=args["roleArn"],
        generate_credentials_in_worker=args["generateCredentialsInWorker"],
        labels=tuple(_or(args.get("labels"), ())),
        # "" is how the provider clears the custom external ID; store it as unset.
        external_id=args.get("externalID") or None,
        duration_seconds=_or(args.get("durationSeconds"), DEFAULT_DURATION_SECONDS),
        space=_or(args.get("space"), ROOT_SPACE),
        region=args.get("region"),
        autoattach_enabled=_or(args.get("autoattachEnabled"), False),
        tag_assume_role=_or(args.get("tagAssumeRole"), False),
    )


# -------------------------------------------------------------------- Query


@_authenticated
def _aws_integration(context: Context, _: None, id: str) -> Integration | None:
    integration = context.state.integration(id)
    if integration is None:
        _absent(context, f'AWS integration "{id}" not found')
    return integration


@_authenticated
def _aws_integration_by_name(context: Context, _: None, name: str) -> Integration | None:
    integration = context.state.integration_by_name(name)
    if integration is None:
        _absent(context, f'AWS integration named "{name}" not found')
    return integration


@_authenticated
def _aws_integrations(context: Context, _: None, includeLegacy: bool | None = None) -> list[Integration]:
    # Nothing here is legacy (stackIntegrationAwsCreate is not served), so the flag is moot.
    return list(context.state.integrations().values())


@_authenticated
def _aws_integrations_enabled(context: Context, _: None) -> bool:
    return context.integrations_refusal is None


@_authenticated
def _attachable_in_space(context: Context, _: None, id: str) -> list[Integration]:
    return context.state.attachable_in_space(id)


@_authenticated
def _spacelift_aws_account_id(context: Context, _: None) -> str:
    return context.state.aws_account_id


@_authenticated
def _account_name(context: Context, _: None) -> str:
    return context.state.account_name


@_authenticated
def _viewer(context: Context, _: None) -> Viewer:
    return Viewer(cast(str, context.identity))


@_authenticated
def _stack(context: Context, _: None, id: str) -> Project | None:
    project = context.state.project(id)
    return project if project is not None and not project.is_module else None


# -------------------------------------------------------------------- object fields


def _attached_stack(integration: Integration, info: Info, id: str) -> Attachment | None:
    context = info.context
    attachment = context.state.attachment_of(integration.id, id)
    if attachment is None:
        _absent(context, f'attachment of AWS integration "{integration.id}" to "{id}" not found')
    return attachment


def _external_id_for_stack(
    integration: Integration, info: Info, stackId: str, read: bool, write: bool
) -> ExternalId | None:
    external_id = info.context.state.external_id_for(integration.id, stackId, read, write)
    if external_id is None:
        _absent(info.context, f'stack "{stackId}" not found')
    return external_id


def _stack_name(attachment: Attachment, info: Info) -> str | None:
    project = info.context.state.project(attachment.stack_id)
    return None if project is None else project.name


def _is_autoattached(attachment: Attachment, info: Info) -> bool:
    # Autoattachment (labels `autoattach:<x>`) is not emulated: every attachment is explicit.
    return False


def _stack_attachments(stack: Project, info: Info) -> list[Attachment]:
    return info.context.state.attachments_of_project(stack.id)


# -------------------------------------------------------------------- Mutation


def _api_key_user(_: None, info: Info, id: str, secret: str) -> Grant | None:
    context = info.context
    return context.tokens.exchange(id, secret, context.audience)


@_authenticated
def _create(context: Context, _: None, **args: Any) -> Integration:
    settings = _settings(args)
    _require_admin(context, settings.space)
    return context.state.create_integration(settings)


@_authenticated
def _update(context: Context, _: None, id: str, **args: Any) -> Integration:
    settings = _settings(args)
    _require_admin(context, settings.space, *_space_of(context, id))
    return context.state.update_integration(id, settings)


@_authenticated
def _delete(context: Context, _: None, id: str) -> Integration:
    _require_admin(context, *_space_of(context, id))
    return context.state.delete_integration(id)


@_authenticated
def _attach(context: Context, _: None, id: str, stack: str, read: bool, write: bool) -> Attachment:
    _require_admin(context, *_space_of(context, id))
    return context.state.attach(id, stack, read, write, context.trust)


@_authenticated
def _attachment_update(context: Context, _: None, id: str, read: bool, write: bool) -> Attachment:
    _require_admin(context, *_space_of_attachment(context, id))
    return context.state.update_attachment(id, read, write, context.trust)


@_authenticated
def _detach(context: Context, _: None, id: str) -> Attachment:
    _require_admin(context, *_space_of_attachment(context, id))
    return context.state.detach(id)


_RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {
        "awsIntegration": _aws_integration,
        "awsIntegrationByName": _aws_integration_by_name,
        "awsIntegrations": _aws_integrations,
        "awsIntegrationsEnabled": _aws_integrations_enabled,
        "attachableAwsIntegrationsInSpace": _attachable_in_space,
        "spaceliftAwsAccountId": _spacelift_aws_account_id,
        "name": _account_name,
        "viewer": _viewer,
        "stack": _stack,
    },
    "Mutation": {
        "apiKeyUser": _api_key_user,
        "awsIntegrationCreate": _create,
        "awsIntegrationUpdate": _update,
        "awsIntegrationDelete": _delete,
        "awsIntegrationAttach": _attach,
        "awsIntegrationAttachmentUpdate": _attachment_update,
        "awsIntegrationDetach": _detach,
    },
    "AwsIntegration": {
        "attachedStack": _attached_stack,
        "externalIdForStack": _external_id_for_stack,
    },
    "AwsIntegrationStackAttachment": {
        "stackName": _stack_name,
        "isAutoattached": _is_autoattached,
    },
    "Stack": {"attachedAwsIntegrations": _stack_attachments},
}
