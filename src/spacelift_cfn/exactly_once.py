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

The same table holds each logical resource's ownership record (see
:mod:`spacelift_cfn.ownership`), which handles a Delete that cancels a running Create.

Without ``IDEMPOTENCY_TABLE`` (local runs) every delivery is handled as new.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import cache
from typing import Any

from spacelift_cfn.errors import DuplicateInProgress
from spacelift_cfn.protocol import Outcome

logger = logging.getLogger(__name__)

TABLE = "IDEMPOTENCY_TABLE"
KEY_FIELDS = "[StackId, RequestId, LogicalResourceId]"
#: Lambda gives up on an event after at most 6 hours; CloudFormation waits 1 hour at most.
RECORD_SECONDS = 3 * 3600


def table_name() -> str | None:
    return os.environ.get(TABLE) or None


def run_once(key: dict[str, str], context: Any, compute: Callable[[], Outcome]) -> Outcome:
    """``compute()`` once per event; later deliveries get the stored outcome.

    Raises when the table fails before ``compute()`` ran; once it ran, its outcome is
    returned even if the table could not store it.
    """
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
        computed.append(compute())
        return computed[-1].as_dict()

    computed: list[Outcome] = []
    try:
        return Outcome.from_dict(outcome(event=key))
    except IdempotencyAlreadyInProgressError:
        raise DuplicateInProgress from None
    except Exception:
        if not computed:
            raise  # the table failed before the work began: nothing was changed
        # The work is done and only storing its outcome failed: CloudFormation must still
        # hear what was done, or a FAILED answer would orphan it.
        logger.exception("Could not store the outcome in the idempotency table; answering it anyway")
        return computed[-1]


@cache
def _persistence(table: str) -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=table, boto3_client=dynamodb())  # one boto3 session


@cache
def dynamodb() -> Any:
    import boto3

    return boto3.client("dynamodb")
