"""Exactly once, across duplicate deliveries and a Delete that races its Create.

Lambda invokes custom resources asynchronously and may deliver one event two or
three times, one after another or at the same time. Powertools Idempotency,
with the DynamoDB table named by ``IDEMPOTENCY_TABLE`` and keyed on StackId +
RequestId + LogicalResourceId, makes the first delivery do the work and store
its :class:`Outcome` (FAILED ones too, so CloudFormation never gets two
different answers); a later delivery replays the stored outcome, and one that
arrives while the first is still running stays silent (the first answers).
Only Create and Update go through it: Delete is idempotent by nature and must
keep working when the table does not.

When CloudFormation cancels a Create (another resource failed), it sends a
Delete without a PhysicalResourceId while the Create may still be running. That
Delete leaves a *cancellation* for the logical resource in the same table; a
Create that finishes afterwards finds it and removes what it made.

Without ``IDEMPOTENCY_TABLE`` (local runs) every delivery is handled as new.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from spacelift_cfn.responder import Outcome

logger = logging.getLogger(__name__)

TABLE = "IDEMPOTENCY_TABLE"
KEY_FIELDS = "[StackId, RequestId, LogicalResourceId]"
#: Lambda gives up on an event after at most 6 hours; CloudFormation waits 1 hour at most.
RECORD_SECONDS = 3 * 3600


class DuplicateInProgress(Exception):
    """The same event is being handled by another delivery, which will answer."""


def table_name() -> str | None:
    return os.environ.get(TABLE) or None


def run_once(key: dict[str, str], context: Any, compute: Callable[[], Outcome]) -> Outcome:
    """``compute()`` once per event; later deliveries get the stored outcome."""
    table = table_name()
    if table is None:
        return compute()
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    config = IdempotencyConfig(
        event_key_jmespath=KEY_FIELDS, raise_on_no_idempotency_key=True, expires_after_seconds=RECORD_SECONDS
    )
    # The in-progress record then expires with this invocation, so a redelivery after a
    # crash or a timeout is handled instead of being refused for the record's lifetime.
    config.register_lambda_context(context)

    @idempotent_function(  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
        data_keyword_argument="event", persistence_store=_persistence(table), config=config
    )
    def outcome(event: dict[str, str]) -> dict[str, Any]:
        return compute().as_dict()

    try:
        return Outcome.from_dict(outcome(event=key))
    except IdempotencyAlreadyInProgressError:
        raise DuplicateInProgress from None


def cancel(stack_id: str, logical_resource_id: str) -> None:
    """Record that CloudFormation gave up on this logical resource's Create.

    Best effort: a Delete must succeed even when the table cannot be written.
    """
    table = table_name()
    if table is None:
        return
    try:
        _dynamodb().put_item(
            TableName=table,
            Item={
                "id": {"S": _cancellation_id(stack_id, logical_resource_id)},
                "expiration": {"N": str(int(time.time()) + RECORD_SECONDS)},
            },
        )
    except Exception:
        logger.exception("Could not record the cancellation in the idempotency table")


def cancelled(stack_id: str, logical_resource_id: str) -> bool:
    """Whether a Delete cancelled this logical resource's Create (False if the table fails)."""
    table = table_name()
    if table is None:
        return False
    try:
        item = (
            _dynamodb()
            .get_item(
                TableName=table,
                Key={"id": {"S": _cancellation_id(stack_id, logical_resource_id)}},
                ConsistentRead=True,
            )
            .get("Item")
        )
    except Exception:
        logger.exception("Could not read cancellations from the idempotency table")
        return False
    return item is not None and int(item["expiration"]["N"]) > time.time()


def _cancellation_id(stack_id: str, logical_resource_id: str) -> str:
    digest = hashlib.sha256(f"{stack_id}|{logical_resource_id}".encode()).hexdigest()
    return f"cancelled#{digest}"


@cache
def _persistence(table: str) -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=table, boto3_client=_dynamodb())  # one boto3 session


@cache
def _dynamodb() -> Any:
    import boto3

    return boto3.client("dynamodb")
