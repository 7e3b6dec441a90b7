"""``Custom::SpaceliftAwsIntegration``: a Spacelift AWS integration.

Create and Update are one GraphQL request each: the external IDs asked for in
``ExternalIdsFor`` are selected, as aliases, on the mutation's result. Every
field changes in place (the API replaces all settings on update), so the
PhysicalResourceId, the integration ID, never changes unless the integration
was deleted behind CloudFormation's back, or ``AdoptIntegrationId`` names another.

``AdoptIntegrationId`` takes over an existing integration instead of creating one
(the counterpart of ``terraform import``): its settings are recorded in the ownership
record before the stack's are applied, and every Delete gives it back (restores those
settings, without the owner label) instead of deleting it. A Delete cannot tell a
rollback from a deliberate removal, and a rollback must never delete what the stack
did not make.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from typing import Any

from spacelift_cfn.errors import (
    AppliedFailure,
    CreateCancelled,
    DataTooLarge,
    DeadlineExceeded,
    GraphQLError,
    OutcomeUnknown,
    PropertyError,
    SpaceliftError,
)
from spacelift_cfn.ownership import Ledger, Made, Record, owner_key
from spacelift_cfn.properties import REPLACEMENT, between, each, matches, non_empty, parse, prop
from spacelift_cfn.protocol import CREATE_INCOMPLETE_PREFIX, data_size
from spacelift_cfn.resources.external_ids import (
    Account,
    ExternalId,
    Target,
    account,
    external_id_selections,
    read_external_id,
    require_unique_targets,
    targets_prop,
    trust_policy,
)
from spacelift_cfn.resources.interface import SPACELIFT_ID, Request, Result, is_spacelift_id
from spacelift_cfn.spacelift import SpaceliftClient, Variable, arguments, document

logger = logging.getLogger(__name__)

RESOURCE_TYPE = "Custom::SpaceliftAwsIntegration"

ROLE_ARN = r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}"
REGION = r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}"
#: Prefix of the label that marks an integration as made by this provider for one
#: stack's logical resource, so a retried Create adopts it instead of making a second.
OWNER_LABEL_PREFIX = "spacelift-cfn:"
#: Any resource's owner label (see :func:`owner_label`).
OWNER_LABEL = re.compile(re.escape(OWNER_LABEL_PREFIX) + "[0-9a-f]{24}")


@dataclass(frozen=True, kw_only=True)
class IntegrationProperties:
    name: str = prop(
        "Name",
        "Name of the integration; keep it unique in the Spacelift account (lookups by name expect one).",
        check=non_empty,
    )
    role_arn: str = prop(
        "RoleArn",
        "ARN of the IAM role Spacelift assumes, in any partition. Write it as a string "
        "(`!Sub arn:aws:iam::${AWS::AccountId}:role/name`), not `!GetAtt`, to avoid a cycle.",
        check=matches(ROLE_ARN, "an IAM role ARN such as arn:aws:iam::123456789012:role/my_role"),
    )
    duration_seconds: int = prop(
        "DurationSeconds",
        "Lifetime of the assumed-role session in seconds (at most the role's MaxSessionDuration).",
        default=900,
        check=between(900, 43200),
    )
    external_id: str | None = prop(
        "ExternalId", "Custom external ID; only private workers use it.", default=None
    )
    generate_credentials_in_worker: bool = prop(
        "GenerateCredentialsInWorker",
        "Let private workers assume the role with their own credentials.",
        default=False,
    )
    labels: tuple[str, ...] = prop(
        "Labels",
        "Labels of the integration (`autoattach:<label>` attaches it to stacks with that label).",
        default=(),
        check=each(non_empty),
    )
    space_id: str | None = prop(
        "SpaceId",
        "ID (slug) of the Spacelift space, not its name; the server chooses when unset.",
        default=None,
        check=non_empty,
    )
    region: str | None = prop(
        "Region",
        "AWS region whose regional STS endpoint Spacelift uses.",
        default=None,
        check=matches(REGION, "an AWS region such as eu-west-1"),
    )
    autoattach_enabled: bool = prop(
        "AutoattachEnabled", "Attach to stacks labelled `autoattach:<label>`.", default=False
    )
    tag_assume_role: bool = prop(
        "TagAssumeRole",
        "Tag the role session with run, stack and space (needs an `sts:TagSession` trust statement).",
        default=False,
    )
    external_ids_for: tuple[Target, ...] = targets_prop()
    adopt_integration_id: str | None = prop(
        "AdoptIntegrationId",
        "ID of an existing integration (made in the UI or by Terraform) to take over instead of "
        "creating one; its ID and external IDs stay, and a Delete gives it back instead of deleting "
        "it (see [Adopt an existing integration](#adopt-an-existing-integration)).",
        default=None,
        check=matches(SPACELIFT_ID.pattern, "the 26-character ID of a Spacelift AWS integration"),
        update=REPLACEMENT,
    )

    def __post_init__(self) -> None:
        require_unique_targets(self.external_ids_for)


_SELECTION = "id name roleArn space labels"

_LIST = "query AWSIntegrationsRead { awsIntegrations { id labels } }"
#: Every setting create and update take, as the integration reports them.
_SETTINGS_SELECTION = (
    "name roleArn generateCredentialsInWorker externalId durationSeconds labels space region "
    "autoattachEnabled tagAssumeRole"
)
_DELETE = "mutation AWSIntegrationDelete($id: ID!) { awsIntegrationDelete(id: $id) { id } }"


def owner_label(stack_id: str, logical_resource_id: str) -> str:
    """The label marking the integration made for one logical resource of one stack."""
    return f"{OWNER_LABEL_PREFIX}{owner_key(stack_id, logical_resource_id)[:24]}"


def create(client: SpaceliftClient, request: Request) -> Result:
    properties = parse(IntegrationProperties, request.properties)
    spacelift_account = _prepare(client, request, properties)
    ledger = Ledger(request.stack_id, request.logical_resource_id)
    if properties.adopt_integration_id:
        _require_ledger(ledger)
    start = ledger.begin_create(request.request_id)
    try:
        if start.cancelled:
            if start.redelivery:  # an earlier delivery of this Create may have made or adopted it
                _undo_earlier_delivery(client, request, ledger)
            raise CreateCancelled
        if properties.adopt_integration_id:
            return _adopt(client, request, properties, spacelift_account, ledger)
        mutated = _create(client, request, properties, adopt=start.redelivery)
        made = Made(mutated.id, mutated.id)
        return _keep(
            client,
            request,
            ledger,
            made,
            mutated=mutated,
            properties=properties,
            spacelift_account=spacelift_account,
        )
    except Exception as error:
        uncertain = isinstance(error, OutcomeUnknown) or not isinstance(error, SpaceliftError)
        ledger.finish_create(request.request_id, uncertain=uncertain)
        raise


def update(client: SpaceliftClient, request: Request) -> Result:
    """Change the integration in place; adopting another one (``AdoptIntegrationId`` set to
    an ID that is not this resource's) is a replacement: the new ID is answered, and
    CloudFormation's cleanup Delete of the old one deletes it, or gives it back if adopted."""
    properties = parse(IntegrationProperties, request.properties)
    spacelift_account = _prepare(client, request, properties)
    adopt_id = properties.adopt_integration_id
    if adopt_id and adopt_id != request.physical_resource_id:
        ledger = Ledger(request.stack_id, request.logical_resource_id)
        _require_ledger(ledger)
        return _adopt(client, request, properties, spacelift_account, ledger)
    if not is_spacelift_id(request.physical_resource_id):
        return _replace(client, request, properties, spacelift_account)
    try:
        mutated = _mutate(client, request, properties, "awsIntegrationUpdate", request.physical_resource_id)
    except GraphQLError as error:
        if not error.not_found:
            raise
        if adopt_id:
            raise PropertyError(
                "AdoptIntegrationId",
                f"integration {adopt_id} no longer exists in Spacelift; remove AdoptIntegrationId "
                "to make a new integration",
            ) from error
        # Deleted behind CloudFormation's back: make a new one; the new ID tells
        # CloudFormation it is a replacement (its Delete of the old ID is harmless).
        return _replace(client, request, properties, spacelift_account)
    return _result(mutated, properties, spacelift_account, request, strict=False)


def delete(client: SpaceliftClient, request: Request) -> None:
    """Delete the integration the ID names; for any other ID, what this resource made.

    An adopted integration is given back instead (see the module docstring): the record
    says so, or, should the record be unreadable, the Delete's own ``AdoptIntegrationId``;
    with neither to go by, the integration is given back too, as deleting what the stack
    may not have made cannot be undone.

    An ID that is not a Spacelift ID was never issued by this provider: it is
    CloudFormation's made-up ID for a cancelled Create, a marker, or empty. It never
    reaches Spacelift; the objects this logical resource made are looked up instead.
    """
    ledger = Ledger(request.stack_id, request.logical_resource_id)
    physical_id = request.physical_resource_id
    if is_spacelift_id(physical_id):
        record = ledger.read()
        made = record.made.get(physical_id) or Made(physical_id, physical_id)
        if not made.adopted and (record.unreadable or _named_for_adoption(request) == physical_id):
            if record.unreadable:
                logger.warning(
                    "The record is unreadable: integration %s is given back, not deleted", physical_id
                )
            made = replace(made, adopted_by=request.request_id)
        _remove(client, request, made)
        ledger.forget(made)
        return
    incomplete = physical_id.startswith(CREATE_INCOMPLETE_PREFIX)
    if not incomplete:
        ledger.cancel(request.request_id)
    record = ledger.settled(request.deadline)
    for made in record.made.values():
        _remove(client, request, made)
        ledger.forget(made)
    if incomplete or not ledger.enabled or record.may_hold_unrecorded:
        # A Create may have made one without recording it: its owner label tells.
        _delete_own(client, request, spare=_adopted_ids(record, request))


def _delete(client: SpaceliftClient, request: Request, integration_id: str) -> None:
    try:
        client.mutate(_DELETE, {"id": integration_id}, request.deadline, repeatable=True)
    except GraphQLError as error:
        if error.not_found:
            return
        if error.mentions("attach"):
            raise SpaceliftError(
                f"Spacelift refused to delete integration {integration_id} because it is "
                f"still attached to stacks or modules ({error}); detach it first."
            ) from error
        raise


def _remove(client: SpaceliftClient, request: Request, made: Made) -> None:
    """Delete what this resource made; give back what it adopted."""
    if made.adopted:
        _give_back(client, request, made)
    else:
        _delete(client, request, made.object_id)


def _undo(client: SpaceliftClient, request: Request, ledger: Ledger, made: Made, error: Exception) -> None:
    """Delete (or give back) what a failing Create made or adopted; if that fails too, answer
    its ID so that CloudFormation's rollback Delete does it."""
    try:
        _remove(client, request, made)
    except (SpaceliftError, DeadlineExceeded):
        done = (
            "adopted; the stack's rollback gives it back"
            if made.adopted
            else "created; the stack's rollback deletes it"
        )
        raise AppliedFailure(f"{error} Integration {made.object_id} was {done}.", made.physical_id) from error
    ledger.forget(made)


def _delete_own(client: SpaceliftClient, request: Request, spare: frozenset[str] = frozenset()) -> None:
    """Delete the integrations carrying this resource's owner label, but those in ``spare``
    (adopted: given back, never deleted)."""
    for integration_id in _find_own(client, request):
        if integration_id not in spare:
            _delete(client, request, integration_id)


def _undo_earlier_delivery(client: SpaceliftClient, request: Request, ledger: Ledger) -> None:
    """A cancelled Create delivered again: remove what its earlier delivery made or adopted."""
    record = ledger.read()
    for made in record.made.values():
        if made.adopted_by == request.request_id:
            _give_back(client, request, made)
            ledger.forget(made)
    _delete_own(client, request, spare=_adopted_ids(record, request))


# ------------------------------------------------------------------------------------ adoption


def _require_ledger(ledger: Ledger) -> None:
    if not ledger.enabled:
        raise PropertyError(
            "AdoptIntegrationId",
            "needs the provider's DynamoDB table (IDEMPOTENCY_TABLE), which keeps the integration's "
            "settings so that a rollback can give it back",
        )


def _named_for_adoption(request: Request) -> str:
    """The request's own ``AdoptIntegrationId`` ("" when absent or malformed)."""
    value = request.properties.get("AdoptIntegrationId")
    return value if isinstance(value, str) else ""


def _adopted_ids(record: Record, request: Request) -> frozenset[str]:
    """Integrations this resource adopted: never to be deleted, whatever label they carry."""
    adopted = {made.object_id for made in record.made.values() if made.adopted}
    return frozenset(adopted | {_named_for_adoption(request)} - {""})


def _adopt(
    client: SpaceliftClient,
    request: Request,
    properties: IntegrationProperties,
    spacelift_account: Account,
    ledger: Ledger,
) -> Result:
    """Take over an existing integration: check it is free, record its settings, apply the
    stack's (with the owner label), answer its ID and external IDs.

    The record comes first, so whatever happens next (a failure, a cancellation, the
    function dying, a rollback) finds the integration to give back. On a failure here it
    is given back at once, and the FAILED answer of a Create names it should that fail too.
    """
    integration_id = properties.adopt_integration_id or ""
    current = _read(client, request, integration_id)
    if current is None:
        raise PropertyError("AdoptIntegrationId", f"no Spacelift AWS integration has the ID {integration_id}")
    _check_free(current, request, integration_id)
    previous = {key: current.get(key) for key in _SETTINGS_SELECTION.split()}
    held = owner_label(request.stack_id, request.logical_resource_id) in (current.get("labels") or [])
    made = ledger.record_adopting(
        Made(integration_id, integration_id, adopted_by=request.request_id, previous=json.dumps(previous)),
        still_held=held,
    )
    try:
        mutated = _mutate(client, request, properties, "awsIntegrationUpdate", integration_id)
    except (SpaceliftError, DeadlineExceeded) as error:
        _undo_adoption(client, request, ledger, made, error)
        raise SpaceliftError(
            f"Could not adopt AWS integration {integration_id} ({error}); it was given back as it was."
        ) from error
    return _keep(
        client,
        request,
        ledger,
        made,
        mutated=mutated,
        properties=properties,
        spacelift_account=spacelift_account,
    )


def _keep(
    client: SpaceliftClient,
    request: Request,
    ledger: Ledger,
    made: Made,
    *,
    mutated: Mutated,
    properties: IntegrationProperties,
    spacelift_account: Account,
) -> Result:
    """Record what this request made or adopted, and answer it. A cancellation that came in
    the meantime, or an answer that cannot be built, removes it again: deletes what was made,
    gives back what was adopted."""
    if ledger.record_made(made, request.request_id):
        _remove(client, request, made)
        ledger.forget(made)
        raise CreateCancelled
    try:
        return _result(mutated, properties, spacelift_account, request, strict=True)
    except (SpaceliftError, DeadlineExceeded) as error:
        if made.adopted:
            _undo_adoption(client, request, ledger, made, error)
            raise SpaceliftError(f"{error} The adopted integration was given back as it was.") from error
        _undo(client, request, ledger, made, error)
        raise SpaceliftError(f"{error} The integration it created was deleted again.") from error


def _undo_adoption(
    client: SpaceliftClient, request: Request, ledger: Ledger, made: Made, error: Exception
) -> None:
    """Give back what a failing adoption took. A Create that cannot answers the integration's
    ID so that its rollback Delete gives it back; an Update keeps its own ID (CloudFormation
    rolls back to it), so the reason says what is left and how to give it back."""
    try:
        _undo(client, request, ledger, made, error)
    except AppliedFailure as failure:
        if request.request_type == "Create":
            raise
        label = owner_label(request.stack_id, request.logical_resource_id)
        raise SpaceliftError(
            f"{error} Integration {made.object_id} could not be given back ({failure.__context__}); it keeps "
            f"the stack's settings and the label {label}: adopting it again with this resource, then "
            "deleting the resource, gives it back."
        ) from error


def _check_free(integration: dict[str, Any], request: Request, integration_id: str) -> None:
    """Refuse an integration that another CloudFormation resource manages (its owner label).

    The label is a one-way hash of a stack and a logical ID: whether that resource still
    exists cannot be told from here (it may live in another account or region), and two
    resources managing one integration would undo each other's updates.
    """
    own = owner_label(request.stack_id, request.logical_resource_id)
    others = [
        label for label in integration.get("labels") or [] if OWNER_LABEL.fullmatch(label) and label != own
    ]
    if others:
        raise PropertyError(
            "AdoptIntegrationId",
            f"integration {integration_id} is managed by another CloudFormation resource (it carries "
            f"the label {others[0]}); if that resource is gone, remove the label in Spacelift and try again",
        )


def _give_back(client: SpaceliftClient, request: Request, made: Made) -> None:
    """Restore an adopted integration's settings from before the adoption, without this
    resource's owner label. Without them on record, or if Spacelift refuses them (their space
    is gone, say), only the owner label is removed and the stack's settings stay."""
    if made.previous:
        try:
            _restore(client, request, made.object_id, json.loads(made.previous))
            return
        except GraphQLError as error:
            if error.not_found:
                return
            logger.warning(
                "Spacelift refused the settings from before the adoption (%s); keeping the current ones",
                error,
            )
    current = _read(client, request, made.object_id)
    if current is not None:
        _restore(client, request, made.object_id, current)


def _restore(
    client: SpaceliftClient, request: Request, integration_id: str, settings: dict[str, Any]
) -> None:
    """Set an integration's settings as Spacelift reported them, without this resource's owner label."""
    own = owner_label(request.stack_id, request.logical_resource_id)
    restored = IntegrationProperties(
        name=str(settings.get("name") or ""),
        role_arn=str(settings.get("roleArn") or ""),
        duration_seconds=int(settings.get("durationSeconds") or 900),
        external_id=settings.get("externalId") or None,
        generate_credentials_in_worker=bool(settings.get("generateCredentialsInWorker")),
        labels=tuple(str(label) for label in settings.get("labels") or () if label != own),
        space_id=settings.get("space") or None,
        region=settings.get("region") or None,
        autoattach_enabled=bool(settings.get("autoattachEnabled")),
        tag_assume_role=bool(settings.get("tagAssumeRole")),
    )
    _mutate(client, request, restored, "awsIntegrationUpdate", integration_id, owner=None)


def _read(client: SpaceliftClient, request: Request, integration_id: str) -> dict[str, Any] | None:
    """An integration's settings; None if there is none (null or a "not found" error)."""
    variables = [Variable("id", "ID!", integration_id)]
    text, values = document(
        "query AWSIntegrationRead",
        variables,
        f"awsIntegration({arguments(variables)}) {{ id {_SETTINGS_SELECTION} }}",
    )
    try:
        data = client.query(text, values, request.deadline)
    except GraphQLError as error:
        if error.not_found:
            return None
        raise
    found = data.get("awsIntegration")
    return found if isinstance(found, dict) and found.get("id") else None


# ------------------------------------------------------------------------------------ create


def _prepare(client: SpaceliftClient, request: Request, properties: IntegrationProperties) -> Account:
    spacelift_account = account(client, request.deadline)
    _check_fits(properties, spacelift_account, request.data_budget)
    return spacelift_account


def _replace(
    client: SpaceliftClient,
    request: Request,
    properties: IntegrationProperties,
    spacelift_account: Account,
) -> Result:
    """A new integration for an Update whose old one is gone; recorded as this resource's."""
    mutated = _create(client, request, properties, adopt=False)
    Ledger(request.stack_id, request.logical_resource_id).record_made(
        Made(mutated.id, mutated.id), request.request_id
    )
    return _result(mutated, properties, spacelift_account, request, strict=False)


@dataclass(frozen=True)
class Mutated:
    """An integration as a mutation answered it, with the errors of its external IDs."""

    integration: dict[str, Any]
    external_id_errors: dict[str, str]

    @property
    def id(self) -> str:
        return str(self.integration["id"])


def _create(
    client: SpaceliftClient, request: Request, properties: IntegrationProperties, *, adopt: bool
) -> Mutated:
    """Create, or adopt what an earlier attempt of this Create made.

    Adoption looks for the owner label, never at names (their uniqueness is only
    inferred) or at an error's wording.
    """
    found = _find_own(client, request) if adopt else []
    if found:
        return _mutate(client, request, properties, "awsIntegrationUpdate", found[0])
    try:
        return _mutate(client, request, properties, "awsIntegrationCreate", None)
    except OutcomeUnknown:
        pass  # the create may have been applied: adopt it if so
    except GraphQLError as error:
        # Refused. If an earlier attempt whose answer was lost made it, the conflict may be
        # with that one (names look unique); the owner label tells.
        found = _find_own(client, request)
        if not found:
            raise SpaceliftError(f"Could not create AWS integration {properties.name!r}: {error}") from error
    found = found or _find_own(client, request)
    operation = "awsIntegrationUpdate" if found else "awsIntegrationCreate"
    return _mutate(client, request, properties, operation, found[0] if found else None)


def _find_own(client: SpaceliftClient, request: Request) -> list[str]:
    """The IDs of the integrations carrying this logical resource's owner label."""
    label = owner_label(request.stack_id, request.logical_resource_id)
    data = client.query(_LIST, {}, request.deadline)
    integrations = data.get("awsIntegrations") or []
    return [
        str(found["id"])
        for found in integrations
        if isinstance(found, dict) and found.get("id") and label in (found.get("labels") or [])
    ]


def _mutate(
    client: SpaceliftClient,
    request: Request,
    properties: IntegrationProperties,
    operation: str,
    integration_id: str | None,
    *,
    owner: str | None = "",
) -> Mutated:
    """Create or update with every setting; ``owner``: the label to add ("" for this
    resource's, None for none: an integration given back)."""
    targets, selections = external_id_selections(properties.external_ids_for)
    if owner == "":
        owner = owner_label(request.stack_id, request.logical_resource_id)
    settings = _settings(properties, owner)
    if integration_id:
        settings.insert(0, Variable("id", "ID!", integration_id))
    text, variables = document(
        "mutation",
        [*settings, *targets],
        f"{operation}({arguments(settings)}) {{ {_SELECTION} {selections} }}",
    )
    errors: dict[str, str] = {}
    try:
        data = client.mutate(text, variables, request.deadline, repeatable=integration_id is not None)
    except GraphQLError as error:
        if not error.nested:
            raise
        # Applied; only some external IDs failed (say, a stack that does not exist).
        made = (error.data or {}).get(operation)
        if not isinstance(made, dict) or not made.get("id"):
            # A non-null external ID field nulled the whole result: read it back without them.
            return _reread(client, request, properties, integration_id, error)
        data, errors = {operation: made}, _external_id_errors(error)
    integration = data.get(operation)
    if not isinstance(integration, dict) or not integration.get("id"):
        raise SpaceliftError(f"Spacelift answered {operation} without an integration.")
    return Mutated(integration, errors)


def _external_id_errors(error: GraphQLError) -> dict[str, str]:
    """The errors below the mutation's result, by the alias (``e<index>``) they concern."""
    return {
        str(path[1]): message
        for message, path in zip(error.messages, error.paths, strict=True)
        if len(path) > 1
    }


def _reread(
    client: SpaceliftClient,
    request: Request,
    properties: IntegrationProperties,
    integration_id: str | None,
    error: GraphQLError,
) -> Mutated:
    """The integration a mutation applied but could not answer, from the same update without
    external IDs (repeatable), carrying the external IDs' errors."""
    target = integration_id or next(iter(_find_own(client, request)), None)
    if target is None:
        raise error
    plain = replace(properties, external_ids_for=())
    answered = _mutate(client, request, plain, "awsIntegrationUpdate", target)
    return Mutated(answered.integration, _external_id_errors(error))


def _settings(properties: IntegrationProperties, owner: str | None) -> list[Variable]:
    """The ten settings create and update take, all sent (update replaces every setting)."""
    labels = [label for label in properties.labels if label != owner] + ([owner] if owner else [])
    return [
        Variable("name", "String!", properties.name),
        Variable("roleArn", "String!", properties.role_arn),
        Variable("generateCredentialsInWorker", "Boolean!", properties.generate_credentials_in_worker),
        Variable("externalID", "String!", properties.external_id or ""),
        Variable("durationSeconds", "Int!", properties.duration_seconds),
        Variable("labels", "[String!]!", labels),
        Variable("space", "ID", properties.space_id),
        Variable("region", "String", properties.region),
        Variable("autoattachEnabled", "Boolean!", properties.autoattach_enabled),
        Variable("tagAssumeRole", "Boolean!", properties.tag_assume_role),
    ]


def _result(
    mutated: Mutated,
    properties: IntegrationProperties,
    spacelift_account: Account,
    request: Request,
    *,
    strict: bool,
) -> Result:
    """The attributes; an external ID Spacelift did not compute fails a Create (``strict``),
    and is computed locally on Update, so a stack deleted in Spacelift cannot block a rollback."""
    integration = mutated.integration
    if strict and mutated.external_id_errors:
        alias, problem = min(mutated.external_id_errors.items())
        failed = properties.external_ids_for[int(alias.removeprefix("e"))].project_id
        raise SpaceliftError(
            f"Spacelift computed no external ID for {failed} ({problem}); check that it exists."
        )
    statements = []
    data = {
        "Id": mutated.id,
        "Name": str(integration.get("name") or properties.name),
        "RoleArn": str(integration.get("roleArn") or properties.role_arn),
        "SpaceId": str(integration.get("space") or ""),
        "SpaceliftAwsAccountId": spacelift_account.aws_account_id,
    }
    for index, target in enumerate(properties.external_ids_for):
        alias = f"e{index}"
        answered = integration.get(alias)
        if answered is None and not strict:
            external = _computed_external_id(spacelift_account, mutated.id, target)
            logger.warning(
                "Spacelift computed no external ID for %s (%s); using the documented format: %s",
                target.project_id,
                mutated.external_id_errors.get(alias, "null"),
                external.external_id,
            )
        else:
            external = read_external_id(answered, target.project_id)
        data[f"ExternalId.{target.project_id}"] = external.external_id
        statements.append(external.statement)
    data["AssumeRolePolicyDocument"] = trust_policy(statements)
    return Result(data["Id"], data)


def _computed_external_id(spacelift_account: Account, integration_id: str, target: Target) -> ExternalId:
    """``<account>@<integration>@<stack or module>@<read|write>`` (docs/spacelift-api.md)."""
    access = "write" if target.write else "read"
    external_id = f"{spacelift_account.name}@{integration_id}@{target.project_id}@{access}"
    statement = _computed_statement(spacelift_account, external_id)
    return ExternalId(external_id, statement, json.dumps(statement, separators=(",", ":")))


def _check_fits(properties: IntegrationProperties, spacelift_account: Account, budget: int) -> None:
    """Fail before creating anything when the attributes cannot fit the response."""
    placeholder_id = "0" * 26
    statements, data = (
        [],
        {
            "Id": placeholder_id,
            "Name": properties.name,
            "RoleArn": properties.role_arn,
            "SpaceId": properties.space_id or "x" * 64,
            "SpaceliftAwsAccountId": spacelift_account.aws_account_id,
        },
    )
    for target in properties.external_ids_for:
        external_id = f"{spacelift_account.name}@{placeholder_id}@{target.project_id}@write"
        data[f"ExternalId.{target.project_id}"] = external_id
        statements.append(_computed_statement(spacelift_account, external_id, principal_arn=True))
    data["AssumeRolePolicyDocument"] = trust_policy(statements)
    size = data_size(data)
    if size > budget:
        raise DataTooLarge(
            "ExternalIdsFor",
            f"{len(properties.external_ids_for)} entries make about {size} bytes of attributes, more than "
            f"the {budget} that fit CloudFormation's 4096-byte response; list fewer here and read the "
            "others with Custom::SpaceliftAwsIntegrationExternalId",
        )


def _computed_statement(
    spacelift_account: Account, external_id: str, *, principal_arn: bool = False
) -> dict[str, Any]:
    """The trust statement Spacelift documents (its account ID as principal); with
    ``principal_arn`` in the longer form IAM stores (``arn:aws:iam::<id>:root``), for sizing."""
    principal = spacelift_account.aws_account_id
    return {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"AWS": f"arn:aws:iam::{principal}:root" if principal_arn else principal},
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
    }
