"""From a CloudFormation event to exactly one answer.

event → :class:`Envelope` (checked fields) → resource module (validated
properties → Spacelift calls) → :class:`Outcome` → :class:`Responder` (PUT).
Nothing below this module knows about events or responses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from spacelift_cfn import exactly_once, observability
from spacelift_cfn.deadline import Deadline, LambdaContextLike
from spacelift_cfn.errors import (
    AppliedFailure,
    DeadlineExceeded,
    DuplicateInProgress,
    OutcomeUnknown,
    TableUnavailable,
    UserFacingError,
)
from spacelift_cfn.protocol import FAILED, SUCCESS, Envelope, Outcome, create_failed_id, is_failed_create_id
from spacelift_cfn.resources import attachment, external_id, integration, lookup
from spacelift_cfn.resources.interface import Request, ResourceHandler
from spacelift_cfn.responder import Responder
from spacelift_cfn.settings import Settings
from spacelift_cfn.spacelift import SpaceliftClient

logger = observability.logger
# At DEBUG these log request lines and bodies: the presigned ResponseURL's signature and the
# secret read from Secrets Manager. crhelper's boto_level did the same.
for _library in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_library).setLevel(logging.WARNING)

RESOURCE_TYPES: Mapping[str, ResourceHandler] = {
    integration.RESOURCE_TYPE: integration,
    attachment.RESOURCE_TYPE: attachment,
    external_id.RESOURCE_TYPE: external_id,
    lookup.RESOURCE_TYPE: lookup,
}
_LOG_KEYS = ("stack_id", "request_id", "logical_resource_id", "request_type", "resource_type")

_clients: dict[Settings, SpaceliftClient] = {}


@observability.traced
# cold_start, function_request_id, ... on every line; never the event (its ResponseURL is a
# presigned URL), whatever POWERTOOLS_LOGGER_LOG_EVENT says.
@logger.inject_lambda_context(clear_state=True, log_event=False)
def lambda_handler(event: object, context: LambdaContextLike) -> None:
    """The function's entry point (through ``app.handler``)."""
    started = time.monotonic()
    envelope = Envelope.from_event(event)
    _log_context(envelope)
    if not envelope.response_url.startswith(("https://", "http://")):
        logger.error("Rejected an event without a usable ResponseURL; it cannot be answered")
        _flush_metrics(envelope, "Unanswerable", started)
        return
    work_deadline, put_deadline = Deadline.for_work(context)
    where = observability.where_to_look(context)
    names = sorted(str(name)[:64] for name in envelope.properties)[:30]
    logger.info("Received request", extra={"property_names": names})
    client: SpaceliftClient | None = None

    def work() -> Outcome:
        nonlocal client
        outcome, client = outcome_of(envelope, work_deadline)
        return outcome.pointing_to(where)  # before it is stored: replays point to these logs

    try:
        outcome = _exactly_once(envelope, context, work).pointing_to(where)
    except DuplicateInProgress:
        logger.warning("Another delivery of this event is running and will answer; this one stays silent")
        _flush_metrics(envelope, "Duplicate", started)
        return
    responder = Responder(put_deadline, lambda: client.secrets() if client else ())
    responder.answer(envelope.crhelper_event(), context, outcome)
    extra = {
        "status": outcome.status,
        "physical_resource_id": outcome.physical_resource_id,
        "sent": responder.sent,
    }
    logger.info("Answered", extra=extra)
    _flush_metrics(envelope, outcome.status, started)


def _flush_metrics(envelope: Envelope, outcome: str, started: float) -> None:
    duration_ms = (time.monotonic() - started) * 1000
    # Only the types served become a dimension: an event's own text would make a metric per typo.
    resource_type = envelope.resource_type if envelope.resource_type in RESOURCE_TYPES else "Other"
    try:
        observability.flush(resource_type, outcome, duration_ms)
    except Exception:  # metrics must never change the answer
        logger.exception("Could not emit the metrics")


def _exactly_once(envelope: Envelope, context: LambdaContextLike, work: Callable[[], Outcome]) -> Outcome:
    """Create and Update once per event (see exactly_once); Delete is idempotent by itself."""
    if envelope.request_type == "Delete" or envelope.problems:
        return work()
    try:
        return exactly_once.run_once(envelope.idempotency_key(), context, work)
    except DuplicateInProgress:
        raise
    except Exception as error:
        logger.exception("The idempotency table failed")
        return envelope.failed(str(TableUnavailable(type(error).__name__)))


def outcome_of(envelope: Envelope, deadline: Deadline) -> tuple[Outcome, SpaceliftClient | None]:
    """The outcome of one request; never raises."""
    client = None
    try:
        if envelope.problems:
            return _nothing_or_failed(envelope, "Malformed request: " + "; ".join(envelope.problems)), None
        resource = RESOURCE_TYPES.get(envelope.resource_type)
        if resource is None:
            reason = (
                f"Unknown ResourceType {envelope.resource_type[:60]!r}; this function serves "
                + ", ".join(RESOURCE_TYPES)
            )
            return _nothing_or_failed(envelope, reason), None
        if envelope.request_type == "Delete" and is_failed_create_id(envelope.physical_resource_id):
            # The ID of a failed Create: acknowledged even when the function is misconfigured,
            # or the stack's rollback would fail too.
            return _acknowledged(envelope), None
        client = _client()
        return _run(resource, client, envelope, deadline), client
    except AppliedFailure as error:
        return Outcome(FAILED, error.physical_resource_id, str(error)), client
    except OutcomeUnknown as error:
        return envelope.failed(str(error), uncertain=True), client
    except UserFacingError as error:
        return envelope.failed(str(error)), client
    except DeadlineExceeded:
        reason = (
            "Spacelift did not finish before the function's time ran out; raise its Timeout or try again."
        )
        return envelope.failed(reason, uncertain=True), client
    except Exception as error:
        logger.exception("Unexpected error")
        return envelope.failed(
            f"Internal error ({type(error).__name__}); see the provider function's logs.", uncertain=True
        ), client


def _run(
    resource: ResourceHandler, client: SpaceliftClient, envelope: Envelope, deadline: Deadline
) -> Outcome:
    request = Request(
        request_type=envelope.request_type,
        stack_id=envelope.stack_id,
        request_id=envelope.request_id,
        logical_resource_id=envelope.logical_resource_id,
        physical_resource_id=envelope.physical_resource_id,
        properties=envelope.properties,
        deadline=deadline,
        data_budget=envelope.data_budget(),
    )
    if request.request_type == "Delete":
        resource.delete(client, request)
        return _acknowledged(envelope)
    result = (
        resource.create(client, request)
        if request.request_type == "Create"
        else resource.update(client, request)
    )
    return Outcome(SUCCESS, result.physical_resource_id, "", result.data)


def _nothing_or_failed(envelope: Envelope, reason: str) -> Outcome:
    """A Delete we cannot act on has nothing to delete; anything else fails."""
    return _acknowledged(envelope) if envelope.request_type == "Delete" else envelope.failed(reason)


def _acknowledged(envelope: Envelope) -> Outcome:
    """SUCCESS for a Delete, echoing its PhysicalResourceId."""
    return Outcome(SUCCESS, envelope.physical_resource_id or create_failed_id(envelope.logical_resource_id))


def _client() -> SpaceliftClient:
    """One client per configuration and container, so its token and connections are reused."""
    settings = Settings.from_environment()
    if settings not in _clients:
        _clients[settings] = SpaceliftClient(settings)
    return _clients[settings]


def _log_context(envelope: Envelope) -> None:
    logger.remove_keys(list(_LOG_KEYS))
    logger.append_keys(
        stack_id=envelope.stack_id,
        request_id=envelope.request_id,
        logical_resource_id=envelope.logical_resource_id,
        request_type=envelope.request_type,
        resource_type=envelope.resource_type,
    )
