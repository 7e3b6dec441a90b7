"""What each logical resource made in Spacelift, and which of its Creates were cancelled.

CloudFormation's rollback and cancellation paths send requests that do not name
the object they are about (see docs/reliability.md, "Ownership"):

* a Create cancelled while it runs gets a Delete with a PhysicalResourceId that
  CloudFormation made up, and the Create's own answer is ignored;
* a Create that fails after Spacelift applied something must leave its
  rollback Delete a way to find it;
* an attachment switched to another integration on the same stack keeps its
  PhysicalResourceId (Spacelift holds one read and one write attachment per
  stack, so old and new cannot coexist), so the ID no longer names the
  attachment that exists.

Integrations carry an owner label, attachments carry nothing, so this module
keeps a durable record per logical resource (StackId + LogicalResourceId) in
the idempotency table, one item each:

* ``create_request``: the RequestId of the latest Create that began;
* ``finished``: RequestIds of Creates that answered, whatever they answered;
* ``uncertain``: those of them that failed not knowing whether Spacelift applied them;
* ``cancelled``: RequestIds of Creates that CloudFormation cancelled;
* ``cancel_deliveries``: RequestIds of the cancelling Deletes already handled;
* ``pending_until``: a cancellation that arrived before its Create began;
* one ``made:<PhysicalResourceId>`` attribute per object that resource made, or adopted
  (``AdoptIntegrationId``): an adopted integration's entry holds its settings from before
  the adoption, recorded before anything changes, so that every Delete gives it back.

An attachment also gets an index item ``attachment#<id>`` naming its owner, so
no resource adopts an attachment another resource made.

Without ``IDEMPOTENCY_TABLE`` (local runs) the ledger is empty and disabled:
callers fall back to what the physical ID and the owner label tell.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from spacelift_cfn.deadline import Deadline
from spacelift_cfn.errors import TableUnavailable
from spacelift_cfn.exactly_once import dynamodb, table_name

logger = logging.getLogger(__name__)

_MADE = "made:"
#: How often a cancelling Delete looks whether the Create it cancelled has finished, and the
#: time it keeps for its own calls.
SETTLE_POLL_SECONDS = 0.25
SETTLE_MARGIN_SECONDS = 15.0
#: How long a cancellation that found no Create waits for one. The function's event
#: source gives up on an event after MaximumEventAgeInSeconds (150 s in template.yaml),
#: so a Create delivered later than this can never start.
PENDING_SECONDS = 300


def owner_key(stack_id: str, logical_resource_id: str) -> str:
    """The one identity of a logical resource of a stack, for its record and its owner label."""
    return hashlib.sha256(f"{stack_id}|{logical_resource_id}".encode()).hexdigest()


@dataclass(frozen=True)
class Made:
    """One object a logical resource made: an integration, or an attachment.

    For an attachment, ``object_id`` is the attachment that exists now ("" while
    detached during a switch), which may differ from the one in the physical ID.
    """

    physical_id: str
    object_id: str
    integration_id: str = ""
    project_id: str = ""
    #: For an integration taken over with ``AdoptIntegrationId``: the RequestId of the request
    #: that adopted it. Such an integration is given back, never deleted.
    adopted_by: str = ""
    #: Its settings before the adoption (JSON), restored when it is given back (also after the
    #: stack updated it); "" when unknown: it is then given back as the stack left it.
    previous: str = ""

    @property
    def adopted(self) -> bool:
        return bool(self.adopted_by)

    def as_item(self) -> dict[str, Any]:
        fields = {
            "object": {"S": self.object_id},
            "integration": {"S": self.integration_id},
            "project": {"S": self.project_id},
        }
        if self.adopted_by:
            fields["adopted_by"] = {"S": self.adopted_by}
            fields["previous"] = {"S": self.previous}
        return {"M": fields}

    @classmethod
    def from_item(cls, physical_id: str, item: Mapping[str, Any]) -> Made:
        fields = item.get("M", {})
        return cls(
            physical_id,
            fields.get("object", {}).get("S", ""),
            fields.get("integration", {}).get("S", ""),
            fields.get("project", {}).get("S", ""),
            fields.get("adopted_by", {}).get("S", ""),
            fields.get("previous", {}).get("S", ""),
        )


@dataclass(frozen=True)
class Record:
    """A snapshot of one logical resource's item."""

    create_request: str = ""
    finished: frozenset[str] = frozenset()
    uncertain: frozenset[str] = frozenset()
    cancelled: frozenset[str] = frozenset()
    made: Mapping[str, Made] = field(default_factory=dict)
    #: The table could not be read: the record may hold more than this snapshot shows.
    unreadable: bool = False

    @property
    def may_hold_unrecorded(self) -> bool:
        """A Create may have made something it did not record: it has not finished (it runs,
        or died), or it failed without knowing whether Spacelift applied it."""
        return bool(self.unfinished_create) or self.create_request in self.uncertain

    @property
    def unfinished_create(self) -> str:
        """The RequestId of a Create that began and has not answered (it may have died)."""
        if self.create_request and self.create_request not in self.finished:
            return self.create_request
        return ""

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Record:
        made = {
            key[len(_MADE) :]: Made.from_item(key[len(_MADE) :], value)
            for key, value in item.items()
            if key.startswith(_MADE)
        }
        return cls(
            create_request=item.get("create_request", {}).get("S", ""),
            finished=frozenset(item.get("finished", {}).get("SS", [])),
            uncertain=frozenset(item.get("uncertain", {}).get("SS", [])),
            cancelled=frozenset(item.get("cancelled", {}).get("SS", [])),
            made=made,
        )


@dataclass(frozen=True)
class Start:
    """What a Create learns as it begins."""

    #: CloudFormation already cancelled this Create: do nothing.
    cancelled: bool = False
    #: An earlier delivery of this very request began (and may have died mid-way).
    redelivery: bool = False


class Ledger:
    """The record of one logical resource of one stack."""

    def __init__(self, stack_id: str, logical_resource_id: str) -> None:
        self.owner = owner_key(stack_id, logical_resource_id)
        self.table = table_name()

    @property
    def enabled(self) -> bool:
        return self.table is not None

    # ---------------------------------------------------------------- Create

    def begin_create(self, request_id: str) -> Start:
        """Register a Create before it changes anything; claims a cancellation that waits for it."""
        if self.table is None:
            return Start()
        try:
            return self._begin(request_id)
        except Exception as error:
            logger.exception("Could not register the Create")
            raise TableUnavailable(type(error).__name__) from error

    def _begin(self, request_id: str) -> Start:
        old = self._update(
            "SET create_request = :r REMOVE pending_until", {":r": {"S": request_id}}, returns="ALL_OLD"
        )
        record = Record.from_item(old)
        pending = float(old.get("pending_until", {}).get("N", "0")) > time.time()
        if pending and request_id in record.cancelled:
            # A late delivery of a Create cancelled before: the waiting cancellation is
            # for another one, which has yet to begin.
            self._restore_pending(old["pending_until"])
        elif pending:
            self._update("ADD cancelled :v", {":v": {"SS": [request_id]}})
        return Start(
            cancelled=pending or request_id in record.cancelled,
            redelivery=record.create_request == request_id,
        )

    def record_made(self, made: Made, request_id: str) -> bool:
        """Record an object this resource made; whether its Create was cancelled meanwhile.

        The record comes before the check, so a cancelling Delete either sees the object
        or is seen by the Create: one of them removes it. The Create counts as finished:
        what it made is on record.
        """
        if self.table is None:
            return False
        try:
            if made.object_id and made.integration_id:
                self._claim_attachment(made.object_id)
            new = self._update(
                "SET #made = :made ADD finished :r",
                {":made": made.as_item(), ":r": {"SS": [request_id]}},
                names={"#made": _MADE + made.physical_id},
                returns="ALL_NEW",
            )
        except Exception:
            logger.exception("Could not record what this resource made")
            return False
        return request_id in Record.from_item(new).cancelled

    def finish_create(self, request_id: str, *, uncertain: bool) -> None:
        """The Create failed before it recorded anything; ``uncertain`` when Spacelift may
        have applied it anyway (its answer was lost), so a cancelling Delete looks for it."""
        if self.table is None:
            return
        expression = "ADD finished :v, uncertain :v" if uncertain else "ADD finished :v"
        try:
            self._update(expression, {":v": {"SS": [request_id]}})
        except Exception:
            logger.exception("Could not update this resource's record")

    # ---------------------------------------------------------------- Update and Delete

    def seen_before(self, request_id: str) -> bool:
        """Register an Update about to attach anew; whether an earlier delivery of it began.

        That delivery may have attached and died before recording it: the attachment it
        made may then be taken over (False when disabled or unreadable).
        """
        if self.table is None:
            return False
        try:
            old = self._update("SET update_request = :r", {":r": {"S": request_id}}, returns="ALL_OLD")
        except Exception:
            logger.exception("Could not register the Update")
            return False
        return bool(old.get("update_request", {}).get("S") == request_id)

    def read(self) -> Record:
        """The record (empty when disabled or unreadable: callers fall back on the physical ID)."""
        if self.table is None:
            return Record()
        try:
            item = self._get(self._key())
        except Exception:
            logger.exception("Could not read what this resource made")
            return Record(unreadable=True)
        return Record.from_item(item)

    # ---------------------------------------------------------------- adoption

    def record_adopting(self, made: Made, *, still_held: bool) -> Made:
        """Record, before anything changes, an integration about to be adopted and its settings.

        A cancelling or rollback Delete then finds it and gives it back instead of deleting
        it. While the integration is ``still_held`` (it carries this resource's owner label),
        an adoption already on record keeps its settings, those from before the first
        adoption: a second delivery of the same request reads the integration with the
        stack's settings applied, and so does the same resource adopting again what it kept
        (``DeletionPolicy: Retain``) or what a failed give-back left. Unlike
        :meth:`record_made` the Create does not count as finished: a cancelling Delete still
        waits for it. Raises :class:`TableUnavailable` when the record cannot be written:
        nothing may change then. Returns what is on record.
        """
        try:
            recorded = self.read_strict().made.get(made.physical_id)
            if recorded is not None and recorded.adopted and still_held:
                made = replace(made, previous=recorded.previous)
                if made == recorded:
                    return made
            self._update(
                "SET #made = :made", {":made": made.as_item()}, names={"#made": _MADE + made.physical_id}
            )
        except Exception as error:
            logger.exception("Could not record the adoption")
            raise TableUnavailable(type(error).__name__) from error
        return made

    def read_strict(self) -> Record:
        """The record; raises when the table cannot be read (empty when disabled)."""
        if self.table is None:
            return Record()
        return Record.from_item(self._get(self._key()))

    def settled(self, deadline: Deadline) -> Record:
        """The record once the Create that began last has finished (or time runs short).

        A cancelling Delete waits here: CloudFormation deletes what the cancelled resource
        depends on (its integration) as soon as the Delete answers, so the Create still
        running must first have recorded, or undone, what it makes. A Create that died is
        not waited for past the deadline (less a margin for the Delete's own calls).
        """
        record = self.read()
        while record.unfinished_create and deadline.remaining() > SETTLE_MARGIN_SECONDS:
            time.sleep(SETTLE_POLL_SECONDS)
            record = self.read()
        return record

    def forget(self, made: Made) -> None:
        """The object is gone (best effort: a Delete must not fail on the table).

        The Create that made it is forgotten too, so that when the logical resource
        is added again, a cancellation that arrives before its Create waits for it.
        """
        if self.table is None:
            return
        try:
            self._update("REMOVE #made, create_request", names={"#made": _MADE + made.physical_id})
            if made.integration_id and made.object_id:
                dynamodb().delete_item(TableName=self.table, Key=_attachment_key(made.object_id))
        except Exception:
            logger.exception("Could not update what this resource made")

    def cancel(self, delete_request_id: str) -> None:
        """CloudFormation cancelled this resource's Create with a made-up ID (best effort).

        The Create that began last is marked cancelled, unless it already was: then the
        Create being cancelled has not begun yet (Lambda reordered the two events) and
        the cancellation waits for it.
        """
        if self.table is None:
            return
        try:
            self._cancel(delete_request_id)
        except Exception:
            logger.exception("Could not record the cancellation")

    def owns_attachment(self, attachment_id: str) -> bool | None:
        """True if this resource made the attachment, False if another one did, None if none did."""
        if self.table is None:
            return None
        item = self._get(_attachment_key(attachment_id))
        if not item:
            return None
        return bool(item.get("owner", {}).get("S") == self.owner)

    # ---------------------------------------------------------------- internals

    def _cancel(self, delete_request_id: str) -> None:
        for _attempt in range(5):
            item = self._get(self._key())
            if delete_request_id in item.get("cancel_deliveries", {}).get("SS", []):
                return  # a duplicate delivery of this Delete
            record = Record.from_item(item)
            target = record.create_request
            if target and target not in record.cancelled:
                # Running, dead or answered: the Create removes what it makes after this,
                # the caller what it made before.
                update = "ADD cancelled :r, cancel_deliveries :d"
                values: dict[str, Any] = {":r": {"SS": [target]}, ":d": {"SS": [delete_request_id]}}
            else:
                update = "SET pending_until = :t ADD cancel_deliveries :d"
                values = {
                    ":t": {"N": str(int(time.time()) + PENDING_SECONDS)},
                    ":d": {"SS": [delete_request_id]},
                }
            if target:
                condition = "create_request = :seen"
                values[":seen"] = {"S": target}
            else:
                condition = "attribute_not_exists(create_request)"
            try:
                self._update(update, values, condition=condition)
                return
            except dynamodb().exceptions.ConditionalCheckFailedException:
                continue  # a Create began meanwhile: look again
        raise RuntimeError("the record kept changing")

    def _restore_pending(self, until: Mapping[str, Any]) -> None:
        self._update("SET pending_until = :t", {":t": until})

    def _claim_attachment(self, attachment_id: str) -> None:
        assert self.table is not None
        dynamodb().put_item(
            TableName=self.table,
            Item={**_attachment_key(attachment_id), "owner": {"S": self.owner}},
        )

    def _get(self, key: Mapping[str, Any]) -> dict[str, Any]:
        """One item, read consistently ({} when there is none)."""
        return dict(dynamodb().get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item", {}))

    def _update(
        self,
        expression: str,
        values: Mapping[str, Any] | None = None,
        *,
        names: Mapping[str, str] | None = None,
        condition: str | None = None,
        returns: str = "NONE",
    ) -> dict[str, Any]:
        """One UpdateItem on this resource's record; the attributes ``returns`` asks for."""
        arguments: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(),
            "UpdateExpression": expression,
            "ReturnValues": returns,
        }
        if values:
            arguments["ExpressionAttributeValues"] = values
        if names:
            arguments["ExpressionAttributeNames"] = names
        if condition:
            arguments["ConditionExpression"] = condition
        return dict(dynamodb().update_item(**arguments).get("Attributes", {}))

    def _key(self) -> dict[str, Any]:
        return {"id": {"S": f"resource#{self.owner}"}}


def _attachment_key(attachment_id: str) -> dict[str, Any]:
    return {"id": {"S": f"attachment#{attachment_id}"}}
