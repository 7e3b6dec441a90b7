"""A lifecycle model of CloudFormation: whole stack operations, rollbacks and cancellations included.

:class:`localcfn.player.StackPlayer` plays a template's happy path. This module plays what
CloudFormation does when something fails, because that is where a provider's bugs hide: the
Delete a rollback sends for a Create that never answered, the Update that swaps the properties
back, the replacement whose old object is deleted only in cleanup::

    stack = Stack(function.send, name="mystack")
    stack.create(template)      # CREATE_COMPLETE, or ROLLBACK_COMPLETE / ROLLBACK_FAILED
    stack.update(new_template)  # UPDATE_COMPLETE, or UPDATE_ROLLBACK_COMPLETE / UPDATE_ROLLBACK_FAILED
    stack.delete()              # DELETE_COMPLETE or DELETE_FAILED
    stack.resources             # the stack's belief: physical ID, properties (as deployed), Data
    stack.requests              # every event sent, how Lambda delivered it, every answer received

A template is a dict ``{"LogicalId": {"Type": ..., "Properties": {...}, "DependsOn": [...]}}``;
property values may hold ``{"Ref": "Other"}`` (its physical ID) and ``{"Fn::GetAtt": ["Other",
"Attribute"]}`` (a key of its ``Data``). Custom resources go to the provider through ``invoke``
(:meth:`localcfn.LocalFunction.send`). ``Test::Sibling`` stands for any other AWS resource: it
makes nothing, and fails where its ``FailOn`` property ("create", "update", "delete", comma
separated) says so.

Faults are chosen per request with :meth:`Stack.plan` (Lambda's duplicate, late and retried
deliveries, the function dying after N Spacelift mutations) and per sibling failure
(``CancelTiming``). Everything random (RequestIds, the StackId, made-up physical IDs) comes from
``seed``; the only sleeps are the ones a timing option asks for.

Assumptions, each with its public source. Where the truth is unknown the model takes an option,
named here, and the tests run every choice.

1. **Order.** Dependencies are ``Ref``, ``Fn::GetAtt`` and ``DependsOn``; CloudFormation works on
   independent resources in parallel and deletes in reverse dependency order
   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html).
   The model plays *waves*: a resource's wave is one past its deepest dependency's; a wave's
   resources run one after another in template order, as if started together.
2. **Requests.** The fields are those of
   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html, with a new
   RequestId (a UUID4) per request, and every scalar in the properties sent as a string
   (https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/1037).
   ``ServiceToken`` is added to a custom resource's properties when the template leaves it out.
3. **Answers.** CloudFormation takes the first answer to a request and ignores later ones (not
   documented; :meth:`Stack.conflicts` lists requests that got different answers, which a
   provider must never send). An answer without a PhysicalResourceId fails the resource
   ("Invalid PhysicalResourceId") and CloudFormation makes an ID up
   (https://github.com/remind101/empire/issues/918); a body over 4096 bytes fails it
   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html); no
   answer fails it when ``ServiceTimeout`` passes
   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-customresource.html),
   and a Create that never answered is rolled back with an ID made up as in 5.
4. **Create failure.** ROLLBACK_IN_PROGRESS deletes what was created, in reverse order; a
   resource whose Create answered FAILED gets a Delete with the PhysicalResourceId of that answer
   (https://github.com/aws/aws-cdk/pull/5525). The stack ends ROLLBACK_COMPLETE, or
   ROLLBACK_FAILED if a Delete failed; a resource that failed to delete keeps the ones it depends
   on. A ROLLBACK_COMPLETE stack can only be deleted
   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html#cfn-console-view-stack-data-resources-status-codes,
   "stack status codes" below).
5. **Cancellation.** When a resource fails while a custom resource's Create is still running,
   CloudFormation cancels that Create ("Resource creation cancelled"), ignores its answer and sends
   it a Delete whose PhysicalResourceId it made up, like ``mystack-MyResource-1XQ2ZV3ABCDE``
   (https://github.com/aws/aws-cdk/pull/36951,
   https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/1814,
   https://github.com/remind101/empire/issues/918). Lambda may deliver that Delete before the
   Create starts, while it runs, or after it finished
   (https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/1730,
   https://github.com/aws/aws-cdk/issues/26139). The model cancels the custom-resource Creates of
   the wave of a ``Test::Sibling`` that fails with ``CancelTiming`` "before", "during" (the Create
   runs in a thread, slowed by the ``slow_create`` hook, and the Delete follows ``during_pause``
   seconds later) or "after"; without it the sibling fails after its wave's other resources
   finished, and so does a custom resource that answers FAILED. Updates in that wave finish
   (what CloudFormation does to an Update it cancels is unknown; it is rolled back like any other).
   The cancelled Create is in :attr:`Stack.requests` from when CloudFormation sent it; Lambda
   delivers it when the timing says, and does even if the rollback stops early.
   Option ``made_up_ids``: "generated" (the default) or "empty", for every ID CloudFormation makes
   up for a custom resource (cancelled Creates, Creates without a usable answer).
6. **Update.** Added resources get Create; changed ones Update (current PhysicalResourceId, new
   ResourceProperties, old OldResourceProperties); unchanged ones nothing, so an update that
   changes nothing sends nothing. An Update answered with a different PhysicalResourceId is a
   replacement: the stack takes the new ID, and the old one gets a Delete in
   UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, after every resource succeeded, together with the removed
   resources, in reverse dependency order
   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html,
   https://github.com/iRobotCorporation/cfn-custom-resource/issues/3). A cleanup Delete is tried
   three times, then skipped (https://repost.aws/knowledge-center/cloudformation-stack-cleanup-stuck);
   its failure does not fail the stack and is listed in :attr:`Stack.abandoned`.
7. **Update failure.** UPDATE_ROLLBACK_IN_PROGRESS sends every resource updated in this operation,
   the failed one included, a rollback Update with ResourceProperties and OldResourceProperties
   swapped, to its current physical ID, in reverse order
   (https://github.com/aws/aws-cdk/pull/29581). That order is not documented by AWS: option
   ``rollback_order`` "reverse" (the default: dependents first) or "forward" (dependencies first,
   as a rollback that is an update to the previous template would). A FAILED Update's PhysicalResourceId becomes the
   resource's (https://github.com/aws/aws-cdk/issues/13527), and a rollback Update answered with
   a new ID is taken like any replacement (its predecessor is deleted in the rollback cleanup).
   A replaced resource goes back to its old ID; whether CloudFormation also sends an Update to the
   new ID is unknown: option ``replacement_rollback`` "revert" (no request) or "update" (a rollback
   Update with the old properties to the new ID; an answer naming a third ID is listed in
   :attr:`Stack.strays`, and the stack keeps the old ID). Any rollback Update answering FAILED ends
   in UPDATE_ROLLBACK_FAILED, where the model stops (it does not play ContinueUpdateRollback).
8. **Rollback cleanup.** The resources a failed update created (a FAILED Create with its answered
   ID, a cancelled one as in 5) and the new IDs of replaced resources are deleted in
   UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS, after the rollback Updates, in reverse order, as
   cleanup Deletes (6): "the stack has been rolled back to its previous working state and is
   usable, but CloudFormation is still deleting any new resources it created during the stack
   update" (stack status codes). The stack then ends UPDATE_ROLLBACK_COMPLETE.
9. **Delete.** Reverse dependency order; a failed Delete ends in DELETE_FAILED, keeps the resource
   and the ones it depends on, and another :meth:`Stack.delete` tries them again.
10. **Lambda.** CloudFormation invokes the function asynchronously: Lambda may deliver an event
    more than once, and retries an invocation that failed or timed out twice, with the same event
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html). The model's duplicate
    arrives while the first delivery runs; a late one after the whole operation. A function that dies is
    one Lambda ends at its timeout (``dying_timeout``); the retry comes once that deadline passed,
    which is also when Powertools Idempotency lets go of the in-progress record
    (https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/). If every
    delivery dies there is no answer, as in 3.
"""

from __future__ import annotations

import copy
import json
import random
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol
from urllib.parse import quote

from localcfn.doubles import CapturedResponse
from localcfn.player import dependencies, stringify

SIBLING = "Test::Sibling"
Timing = Literal["before", "during", "after"]
TIMINGS: tuple[Timing, ...] = ("before", "during", "after")

#: Lambda retries a failed asynchronous invocation twice.
LAMBDA_RETRIES = 2
#: CloudFormation tries a cleanup Delete three times before it skips it.
CLEANUP_ATTEMPTS = 3
MAX_RESPONSE_BYTES = 4096
#: How long after the first delivery its concurrent duplicate arrives.
DUPLICATE_STAGGER_SECONDS = 0.02
#: The function's ARN, added to custom resources whose template leaves ServiceToken out.
DEFAULT_SERVICE_TOKEN = "arn:aws:lambda:eu-west-1:123456789012:function:spacelift-cfn-provider"
UPDATABLE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"})
_FAILURES = frozenset({"create_failed", "update_failed", "in_flight", "unsent"})


class Invoke(Protocol):
    """Delivers an event to the provider; returns every answer captured for its RequestId."""

    def __call__(self, event: dict[str, Any], timeout: float | None = None) -> list[CapturedResponse]: ...


class OperationNotAllowed(Exception):
    """CloudFormation refuses this operation in the stack's current status."""


class FunctionDied(BaseException):
    """The Lambda function stopped mid-invocation (a BaseException: ``except Exception`` cannot answer)."""


@dataclass(frozen=True)
class Delivery:
    """How Lambda delivers one request.

    ``duplicate``: a second copy arrives right after the first, while it runs. ``late``: a copy
    arrives after the stack operation finished (CloudFormation ignores its answer).
    ``die_after``: the function dies after that many Spacelift mutations were applied, in
    ``deaths`` deliveries in a row; Lambda retries (at most twice).
    """

    duplicate: bool = False
    late: bool = False
    die_after: int | None = None
    deaths: int = 1

    def __post_init__(self) -> None:
        if self.die_after is not None and self.die_after < 1:
            raise ValueError("die_after counts mutations: at least 1")
        if self.deaths < 1:
            raise ValueError("deaths must be at least 1")


@dataclass
class Resource:
    """What the stack believes about one resource."""

    logical_id: str
    type: str
    physical_id: str
    properties: dict[str, Any]
    data: dict[str, str] = field(default_factory=dict)
    depends_on: frozenset[str] = frozenset()


@dataclass
class Request:
    """One request CloudFormation sent, every delivery Lambda made of it, every answer received."""

    status: str  # the stack's status when it was sent
    event: dict[str, Any]
    delivery: Delivery
    deliveries: list[str] = field(default_factory=list)  # delivered, duplicate, died, redelivered, late
    answers: list[CapturedResponse] = field(default_factory=list)
    used: bool = True  # False: CloudFormation had cancelled the request and ignored its answer

    @property
    def request_type(self) -> str:
        return str(self.event["RequestType"])

    @property
    def logical_id(self) -> str:
        return str(self.event["LogicalResourceId"])

    @property
    def physical_id(self) -> str | None:
        value = self.event.get("PhysicalResourceId")
        return None if value is None else str(value)

    def consistent(self) -> bool:
        """Whether every answer said the same (status, physical ID, Data)."""
        said = {(a.status, a.physical_id, json.dumps(a.data, sort_keys=True)) for a in self.answers}
        return len(said) <= 1


@dataclass(frozen=True)
class Outcome:
    """What CloudFormation concluded from a request's answers."""

    ok: bool
    physical_id: str
    data: dict[str, str]
    reason: str = ""


@dataclass
class _Step:
    """One thing a forward operation did to one resource, kept so a rollback can undo it.

    kind: created, create_failed, in_flight (a Create that gets cancelled), updated,
    update_failed, replaced, unsent (failed before anything was sent: a missing attribute).
    ``before`` is the resource before the operation, ``after`` as the operation left it (or tried to).
    """

    kind: str
    before: Resource | None
    after: Resource
    create: Request | None = None  # in_flight: its Create, sent but not delivered yet
    timing: Timing | None = None


@dataclass
class _Plan:
    delivery: Delivery
    logical_id: str | None
    request_type: str | None
    skip: int


class _Background:
    """A thread whose exception is raised again by :meth:`join`."""

    def __init__(self, target: Callable[[], object]) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(target,), daemon=True)
        self.thread.start()

    def _run(self, target: Callable[[], object]) -> None:
        try:
            target()
        except BaseException as error:
            self.error = error

    def join(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise self.error


class Stack:
    """One CloudFormation stack playing operations against a provider (see the module docstring)."""

    def __init__(
        self,
        invoke: Invoke,
        *,
        name: str = "mystack",
        region: str = "eu-west-1",
        account_id: str = "123456789012",
        service_token: str = DEFAULT_SERVICE_TOKEN,
        seed: int | None = None,
        replacement_rollback: Literal["revert", "update"] = "revert",
        made_up_ids: Literal["generated", "empty"] = "generated",
        rollback_order: Literal["reverse", "forward"] = "reverse",
        slow_create: Callable[[dict[str, Any]], AbstractContextManager[Any]] | None = None,
        during_pause: float = 0.1,
        dying_timeout: float = 2.0,
    ) -> None:
        self.invoke = invoke
        self.name = name
        self.region = region
        self.account_id = account_id
        self.service_token = service_token
        self.replacement_rollback = replacement_rollback
        self.made_up_ids = made_up_ids
        self.rollback_order = rollback_order
        self.slow_create = slow_create or (lambda event: nullcontext())
        self.during_pause = during_pause
        self.dying_timeout = dying_timeout
        self._rng = random.Random(seed)
        self.stack_id = f"arn:aws:cloudformation:{region}:{account_id}:stack/{name}/{self._uuid()}"
        self.status: str | None = None
        self.template: dict[str, Any] = {}
        self.resources: dict[str, Resource] = {}
        self.requests: list[Request] = []
        #: (logical ID or the stack's name, status, reason), like CloudFormation's stack events.
        self.history: list[tuple[str, str, str]] = []
        #: Objects CloudFormation stopped tracking although their Delete failed.
        self.abandoned: list[Resource] = []
        #: IDs a rollback Update to a replacement answered that the stack did not take.
        self.strays: list[str] = []
        self._plans: list[_Plan] = []
        self._late: list[Request] = []
        self._undelivered: list[Request] = []  # cancelled Creates whose rollback never came
        self._lock = threading.Lock()

    # Operations ----------------------------------------------------------------------

    def create(self, template: Mapping[str, Any]) -> str:
        if self.status is not None:
            raise OperationNotAllowed(f"stack {self.name} exists already ({self.status})")
        _check(template)
        self.template = copy.deepcopy(dict(template))
        self._set("CREATE_IN_PROGRESS")
        steps, failed = self._forward(self.template)
        if failed:
            self._roll_back_creation(steps)
        else:
            self._set("CREATE_COMPLETE")
        return self._finish()

    def update(self, template: Mapping[str, Any]) -> str:
        if self.status not in UPDATABLE:
            raise OperationNotAllowed(f"stack {self.name} is in {self.status} and cannot be updated")
        _check(template)
        for logical_id, definition in template.items():
            if logical_id in self.resources and definition["Type"] != self.resources[logical_id].type:
                raise OperationNotAllowed(f"{logical_id}: Update of resource type is not permitted")
        new = copy.deepcopy(dict(template))
        self._set("UPDATE_IN_PROGRESS")
        steps, failed = self._forward(new)
        if failed:
            self._roll_back_update(steps)
        else:
            self._set("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            self._clean_up_after_update(steps, new)
            self.template = new
            self._set("UPDATE_COMPLETE")
        return self._finish()

    def delete(self) -> str:
        if self.status is None or self.status == "DELETE_COMPLETE" or self.status.endswith("_IN_PROGRESS"):
            raise OperationNotAllowed(f"stack {self.name} is in {self.status} and cannot be deleted")
        self._set("DELETE_IN_PROGRESS")
        kept: set[str] = set()
        for logical_id in reversed(_order({lid: r.depends_on for lid, r in self.resources.items()})):
            resource = self.resources[logical_id]
            if self._needed_by(logical_id, kept) or not self._delete(resource):
                kept.add(logical_id)
            else:
                del self.resources[logical_id]
        self._set("DELETE_FAILED" if kept else "DELETE_COMPLETE")
        return self._finish()

    # Faults and observations ----------------------------------------------------------

    def plan(
        self,
        delivery: Delivery,
        *,
        logical_id: str | None = None,
        request_type: str | None = None,
        skip: int = 0,
    ) -> None:
        """Deliver the next request matching the filters (after ``skip`` matches) as ``delivery``.

        A plan holds for the next operation only: one that found no request is dropped at its end.
        """
        self._plans.append(_Plan(delivery, logical_id, request_type, skip))

    def sent(self, request_type: str | None = None, logical_id: str | None = None) -> list[Request]:
        """The requests sent so far, optionally of one type and/or to one resource."""
        return [
            r
            for r in self.requests
            if request_type in (None, r.request_type) and logical_id in (None, r.logical_id)
        ]

    def conflicts(self) -> list[Request]:
        """Requests that got different answers (a provider must answer each request one way)."""
        return [r for r in self.requests if not r.consistent()]

    # Forward: creates and updates in waves ----------------------------------------------

    def _forward(self, template: dict[str, Any]) -> tuple[list[_Step], bool]:
        steps: list[_Step] = []
        for wave in _waves(template):
            timing = self._cancel_timing(template, wave)
            done = [step for lid in wave if (step := self._apply(lid, template[lid], timing)) is not None]
            steps += done
            if any(step.kind in _FAILURES for step in done):
                return steps, True
        return steps, False

    def _cancel_timing(self, template: Mapping[str, Any], wave: list[str]) -> Timing | None:
        """The CancelTiming of a sibling of this wave that is going to fail, if any."""
        for logical_id in wave:
            definition = template[logical_id]
            if definition["Type"] != SIBLING:
                continue
            try:
                properties = self._resolve(definition.get("Properties", {}))
            except _Unresolvable:
                continue  # it fails, but before anything starts: nothing to cancel
            current = self.resources.get(logical_id)
            if current is None:
                request = "Create"
            elif not _same(properties, current.properties):
                request = "Update"
            else:
                continue
            if _fails(properties, request):
                return next((t for t in TIMINGS if t == properties.get("CancelTiming")), None)
        return None

    def _apply(self, logical_id: str, definition: Mapping[str, Any], timing: Timing | None) -> _Step | None:
        resource_type = str(definition["Type"])
        depends_on = dependencies(definition) - {logical_id}
        current = self.resources.get(logical_id)
        try:
            properties = self._properties(resource_type, definition)
        except _Unresolvable as error:
            # CloudFormation fails the resource itself; nothing is sent, nothing to undo.
            self._note(logical_id, "CREATE_FAILED" if current is None else "UPDATE_FAILED", str(error))
            return _Step("unsent", current, Resource(logical_id, resource_type, "", {}, {}, depends_on))
        resource = Resource(logical_id, resource_type, "", properties, {}, depends_on)
        if current is None:
            if timing is not None and _is_custom(resource_type):
                create = self._new_request(self._event("Create", resource), used=False)
                self._undelivered.append(create)
                return _Step("in_flight", None, resource, create, timing)
            return self._create(resource)
        if _same(properties, current.properties):
            self.resources[logical_id] = replace(current, depends_on=depends_on)
            return None
        return self._update(current, resource)

    def _create(self, resource: Resource) -> _Step:
        if _is_custom(resource.type):
            request = self._request(self._event("Create", resource))
            outcome = self._outcome(request, self._made_up(resource.logical_id))
        else:
            outcome = self._sibling("Create", resource)
        after = replace(resource, physical_id=outcome.physical_id, data=outcome.data)
        if not outcome.ok:
            self._note(resource.logical_id, "CREATE_FAILED", outcome.reason)
            return _Step("create_failed", None, after)
        self.resources[resource.logical_id] = after
        self._note(resource.logical_id, "CREATE_COMPLETE")
        return _Step("created", None, after)

    def _update(self, current: Resource, resource: Resource) -> _Step:
        target = replace(resource, physical_id=current.physical_id)
        if _is_custom(resource.type):
            event = self._event("Update", target, old=current.properties)
            outcome = self._outcome(self._request(event), current.physical_id)
        else:
            outcome = self._sibling("Update", target)
        after = replace(target, physical_id=outcome.physical_id, data=outcome.data)
        if not outcome.ok:
            self._note(resource.logical_id, "UPDATE_FAILED", outcome.reason)
            self.resources[resource.logical_id] = replace(current, physical_id=outcome.physical_id)
            return _Step("update_failed", current, replace(after, data=current.data))
        self.resources[resource.logical_id] = after
        self._note(resource.logical_id, "UPDATE_COMPLETE")
        return _Step("replaced" if after.physical_id != current.physical_id else "updated", current, after)

    # Rollbacks and cleanups -------------------------------------------------------------

    def _roll_back_creation(self, steps: list[_Step]) -> None:
        self._set("ROLLBACK_IN_PROGRESS")
        kept: set[str] = set()
        for step in reversed(steps):
            logical_id = step.after.logical_id
            if self._needed_by(logical_id, kept):
                kept.add(logical_id)
                continue
            leftover = self._undo_create(step)
            if leftover is None:
                self.resources.pop(logical_id, None)
            else:
                self.resources[logical_id] = leftover  # DELETE_FAILED: it stays in the stack
                kept.add(logical_id)
        self._set("ROLLBACK_FAILED" if kept else "ROLLBACK_COMPLETE")

    def _roll_back_update(self, steps: list[_Step]) -> None:
        self._set("UPDATE_ROLLBACK_IN_PROGRESS")
        leftovers: list[_Step | Resource] = []
        ok = True
        for step in reversed(steps) if self.rollback_order == "reverse" else steps:
            if step.kind in ("updated", "update_failed"):
                ok = self._revert(step, leftovers) and ok
            elif step.kind == "replaced":
                ok = self._revert_replacement(step) and ok
                leftovers.append(step.after)
            elif step.kind != "unsent":
                leftovers.append(step)
        for logical_id, resource in self.resources.items():
            if logical_id in self.template:
                resource.depends_on = dependencies(self.template[logical_id]) - {logical_id}
        if not ok:
            self._set("UPDATE_ROLLBACK_FAILED")
            return
        self._set("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        if self.rollback_order == "forward":
            leftovers.reverse()  # the cleanup deletes in reverse dependency order either way
        for leftover in leftovers:
            if isinstance(leftover, Resource):
                self._clean_up(leftover)
                continue
            if leftover.kind == "created":
                self.resources.pop(leftover.after.logical_id, None)
            remaining = self._undo_create(leftover)  # the first attempt
            if remaining is not None:
                self._clean_up(remaining, attempts=CLEANUP_ATTEMPTS - 1)
        self._set("UPDATE_ROLLBACK_COMPLETE")

    def _revert(self, step: _Step, leftovers: list[_Step | Resource]) -> bool:
        """The rollback Update (new -> old) of a resource updated in place, or whose Update failed."""
        assert step.before is not None
        current = self.resources[step.before.logical_id]
        target = replace(step.before, physical_id=current.physical_id)
        outcome = self._rollback_update(target, step.after.properties)
        if not outcome.ok:
            return False
        if outcome.physical_id != current.physical_id:
            leftovers.append(current)  # a replacement during the rollback: its predecessor goes
        self.resources[target.logical_id] = replace(
            target, physical_id=outcome.physical_id, data=outcome.data
        )
        return True

    def _revert_replacement(self, step: _Step) -> bool:
        """A replaced resource goes back to its old ID (option ``replacement_rollback``)."""
        assert step.before is not None
        self.resources[step.before.logical_id] = step.before
        if self.replacement_rollback == "revert":
            return True
        target = replace(step.before, physical_id=step.after.physical_id)
        outcome = self._rollback_update(target, step.after.properties)
        if outcome.ok and outcome.physical_id not in (step.before.physical_id, step.after.physical_id):
            self.strays.append(outcome.physical_id)
        return outcome.ok

    def _rollback_update(self, target: Resource, attempted: dict[str, Any]) -> Outcome:
        if not _is_custom(target.type):
            outcome = self._sibling("Update", target)
        else:
            event = self._event("Update", target, old=attempted)
            outcome = self._outcome(self._request(event), target.physical_id)
        self._note(target.logical_id, "UPDATE_COMPLETE" if outcome.ok else "UPDATE_FAILED", outcome.reason)
        return outcome

    def _clean_up_after_update(self, steps: list[_Step], template: Mapping[str, Any]) -> None:
        """Old IDs of replaced resources and removed resources, in reverse dependency order."""
        replaced = {s.after.logical_id: s.before for s in steps if s.kind == "replaced" and s.before}
        graph = {lid: replaced.get(lid, r).depends_on for lid, r in self.resources.items()}
        for logical_id in reversed(_order(graph)):
            if logical_id in replaced:
                self._clean_up(replaced[logical_id])
            elif logical_id not in template:
                self._clean_up(self.resources.pop(logical_id))

    def _clean_up(self, resource: Resource, attempts: int = CLEANUP_ATTEMPTS) -> None:
        """A cleanup Delete: tried ``attempts`` times, then skipped; the stack does not fail."""
        for _ in range(attempts):
            if self._delete(resource):
                return
        self.abandoned.append(resource)

    def _undo_create(self, step: _Step) -> Resource | None:
        """Delete what a Create made (or may have made); the resource left if its Delete failed."""
        resource = step.after
        if step.kind == "in_flight":
            resource = replace(resource, physical_id=self._made_up(resource.logical_id))
            return None if self._cancel(step, resource) else resource
        if step.kind == "unsent" or (step.kind == "create_failed" and not _is_custom(resource.type)):
            return None  # nothing exists: nothing was sent, or a sibling that failed
        return None if self._delete(resource) else resource

    def _cancel(self, step: _Step, resource: Resource) -> bool:
        """The cancelled Create and CloudFormation's Delete with a made-up ID, in ``step.timing``."""
        create = step.create
        assert create is not None
        self._undelivered.remove(create)
        self._note(resource.logical_id, "CREATE_FAILED", "Resource creation cancelled")
        if step.timing == "before":
            deleted = self._delete(resource)
            self._deliver(create)
        elif step.timing == "during":
            with self.slow_create(create.event):
                running = _Background(lambda: self._deliver(create))
                time.sleep(self.during_pause)
                deleted = self._delete(resource)
                running.join()
        else:
            self._deliver(create)
            deleted = self._delete(resource)
        return deleted

    def _delete(self, resource: Resource) -> bool:
        """One Delete request (a sibling's is simulated); whether it succeeded."""
        if _is_custom(resource.type):
            request = self._request(self._event("Delete", resource))
            outcome = self._outcome(request, resource.physical_id)
        else:
            outcome = self._sibling("Delete", resource)
        self._note(resource.logical_id, "DELETE_COMPLETE" if outcome.ok else "DELETE_FAILED", outcome.reason)
        return outcome.ok

    def _needed_by(self, logical_id: str, kept: set[str]) -> bool:
        """Whether a resource that stays (its Delete failed) depends on this one."""
        return any(k in self.resources and logical_id in self.resources[k].depends_on for k in kept)

    # Requests and Lambda's deliveries ----------------------------------------------------

    def _event(
        self, request_type: str, resource: Resource, *, old: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        request_id = self._uuid()
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": str(resource.properties.get("ServiceToken", self.service_token)),
            "ResponseURL": self._response_url(resource.logical_id, request_id),
            "StackId": self.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": resource.logical_id,
            "ResourceType": resource.type,
            "ResourceProperties": stringify(resource.properties),
        }
        if request_type != "Create":
            event["PhysicalResourceId"] = resource.physical_id
        if old is not None:
            event["OldResourceProperties"] = stringify(old)
        return event

    def _response_url(self, logical_id: str, request_id: str) -> str:
        """Shaped like CloudFormation's presigned S3 URL (the invoker puts its own in its place)."""
        key = quote(f"{self.stack_id}|{logical_id}|{request_id}", safe="")
        bucket = f"cloudformation-custom-resource-response-{self.region.replace('-', '')}"
        query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&X-Amz-SignedHeaders=host"
        return f"https://{bucket}.s3.{self.region}.amazonaws.com/{key}?{query}&X-Amz-Signature={'0' * 64}"

    def _request(self, event: dict[str, Any]) -> Request:
        request = self._new_request(event)
        self._deliver(request)
        return request

    def _new_request(self, event: dict[str, Any], *, used: bool = True) -> Request:
        request = Request(self.status or "", event, self._take_plan(event), used=used)
        with self._lock:
            self.requests.append(request)
        if request.delivery.late:
            self._late.append(request)
        return request

    def _take_plan(self, event: Mapping[str, Any]) -> Delivery:
        for plan in list(self._plans):
            if plan.logical_id not in (None, event["LogicalResourceId"]):
                continue
            if plan.request_type not in (None, event["RequestType"]):
                continue
            if plan.skip > 0:
                plan.skip -= 1
                continue
            self._plans.remove(plan)
            return plan.delivery
        return Delivery()

    def _deliver(self, request: Request) -> None:
        delivery = request.delivery
        if delivery.die_after is not None:
            for attempt in range(1 + LAMBDA_RETRIES):
                label = "delivered" if attempt == 0 else "redelivered"
                if attempt >= delivery.deaths:
                    self._invoke(request, label)
                    return
                if not self._invoke_dying(request, label, delivery.die_after):
                    return
            return  # every delivery died: CloudFormation waits for ServiceTimeout
        if delivery.duplicate:
            first = _Background(lambda: self._invoke(request, "delivered"))
            time.sleep(DUPLICATE_STAGGER_SECONDS)
            second = _Background(lambda: self._invoke(request, "duplicate"))
            first.join()
            second.join()
            return
        self._invoke(request, "delivered")

    def _invoke(self, request: Request, label: str, timeout: float | None = None) -> None:
        with self._lock:
            request.deliveries.append(label)
        answers = self.invoke(request.event, timeout=timeout)
        with self._lock:
            if len(answers) > len(request.answers):
                request.answers = list(answers)

    def _invoke_dying(self, request: Request, label: str, mutations: int) -> bool:
        """A delivery in which the function dies after ``mutations``; whether it died."""
        started = time.monotonic()
        try:
            with function_dies_after(mutations):
                self._invoke(request, label, timeout=self.dying_timeout)
        except FunctionDied:
            with self._lock:
                request.deliveries.append("died")
            # Lambda ends the invocation at its timeout; only then is it retried.
            time.sleep(max(started + self.dying_timeout - time.monotonic(), 0.0) + 0.05)
            return True
        return False

    def _outcome(self, request: Request, fallback_id: str) -> Outcome:
        """What CloudFormation concludes: from the first answer, else FAILED at ServiceTimeout."""
        if not request.answers:
            return Outcome(False, fallback_id, {}, "no answer before ServiceTimeout")
        first = request.answers[0]
        if len(first.raw) > MAX_RESPONSE_BYTES:
            return Outcome(False, fallback_id, {}, "Response object is too long.")
        body = first.body
        physical_id = str(body.get("PhysicalResourceId") or "")
        if not physical_id:
            return Outcome(False, fallback_id, {}, "Invalid PhysicalResourceId")
        data = {str(key): str(value) for key, value in (body.get("Data") or {}).items()}
        return Outcome(body.get("Status") == "SUCCESS", physical_id, data, str(body.get("Reason", "")))

    def _sibling(self, request_type: str, resource: Resource) -> Outcome:
        """``Test::Sibling``: fails where FailOn says, makes nothing."""
        physical_id = resource.physical_id or self._made_up(resource.logical_id, generated=True)
        if _fails(resource.properties, request_type):
            return Outcome(False, physical_id, {}, f"FailOn {request_type.lower()}")
        return Outcome(True, physical_id, {})

    def _finish(self) -> str:
        """Lambda still delivers the Creates a failed rollback left, and late redeliveries arrive
        once the operation is over; CloudFormation ignores their answers."""
        undelivered, self._undelivered = self._undelivered, []
        for request in undelivered:
            self._deliver(request)
        late, self._late = self._late, []
        self._plans.clear()
        for request in late:
            self._invoke(request, "late")
        assert self.status is not None
        return self.status

    # Template --------------------------------------------------------------------------

    def _properties(self, resource_type: str, definition: Mapping[str, Any]) -> dict[str, Any]:
        properties = self._resolve(definition.get("Properties", {}))
        if _is_custom(resource_type) and "ServiceToken" not in properties:
            properties = {"ServiceToken": self.service_token, **properties}
        return dict(properties)

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._resolve(item) for item in value]
        if not isinstance(value, Mapping):
            return value
        if list(value) == ["Ref"]:
            return self._ref(str(value["Ref"]))
        if list(value) == ["Fn::GetAtt"]:
            logical_id, attribute = _get_att(value["Fn::GetAtt"])
            data = self.resources[logical_id].data
            if attribute not in data:
                raise _Unresolvable(f"Vendor response doesn't contain {attribute} attribute of {logical_id}")
            return data[attribute]
        return {key: self._resolve(item) for key, item in value.items()}

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::StackName": self.name,
            "AWS::StackId": self.stack_id,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
        }
        return pseudo[name] if name in pseudo else self.resources[name].physical_id

    # Small things ----------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _made_up(self, logical_id: str, *, generated: bool = False) -> str:
        """A physical ID CloudFormation makes up: ``{stack}-{LogicalId}-{12 of [A-Z0-9]}``."""
        if self.made_up_ids == "empty" and not generated:
            return ""
        suffix = "".join(self._rng.choice(string.ascii_uppercase + string.digits) for _ in range(12))
        return f"{self.name}-{logical_id}-{suffix}"

    def _set(self, status: str) -> None:
        self.status = status
        self.history.append((self.name, status, ""))

    def _note(self, logical_id: str, status: str, reason: str = "") -> None:
        self.history.append((logical_id, status, reason))


class _Unresolvable(Exception):
    """A value CloudFormation cannot resolve (a missing Fn::GetAtt attribute)."""


# The function dying -------------------------------------------------------------------------

_doomed: dict[int, int] = {}  # thread ident -> mutations left before the function dies
_doomed_lock = threading.Lock()
_original: dict[str, Any] = {}  # "mutate": SpaceliftClient.mutate while it is patched


@contextmanager
def function_dies_after(mutations: int) -> Iterator[None]:
    """In this thread, ``SpaceliftClient.mutate`` raises :class:`FunctionDied` right after the
    ``mutations``-th mutation returns: Spacelift applied it, the function never answers.

    Other threads (a concurrent duplicate delivery) are not affected.
    """
    from spacelift_cfn.spacelift import SpaceliftClient

    if mutations < 1:
        raise ValueError("mutations must be at least 1")
    ident = threading.get_ident()
    with _doomed_lock:
        if not _doomed:
            _original["mutate"] = SpaceliftClient.mutate
            SpaceliftClient.mutate = _mutate_or_die  # type: ignore[method-assign]
        _doomed[ident] = mutations
    try:
        yield
    finally:
        with _doomed_lock:
            del _doomed[ident]
            if not _doomed:
                SpaceliftClient.mutate = _original.pop("mutate")  # type: ignore[method-assign]


def _mutate_or_die(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = _original["mutate"](self, *args, **kwargs)
    with _doomed_lock:
        left = _doomed.get(threading.get_ident())
        if left is not None:
            _doomed[threading.get_ident()] = left - 1
    if left == 1:
        raise FunctionDied("the function died right after Spacelift applied a mutation")
    return result


# Template helpers ---------------------------------------------------------------------------


def _is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"


def _fails(properties: Mapping[str, Any], request_type: str) -> bool:
    fail_on = {part.strip().lower() for part in str(properties.get("FailOn", "")).split(",")}
    return request_type.lower() in fail_on


def _same(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """CloudFormation compares what it would send: every scalar a string."""
    return bool(stringify(dict(new)) == stringify(dict(old)))


def _get_att(argument: Any) -> tuple[str, str]:
    if isinstance(argument, list):
        return str(argument[0]), str(argument[1])
    logical_id, attribute = str(argument).split(".", 1)
    return logical_id, attribute


def _order(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """A dependency order of ``graph``'s keys (names outside it are ignored)."""
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ValueError(f"circular dependency: {' -> '.join((*path, name))}")
        if name in ordered:
            return
        for dependency in sorted(set(graph[name]) & set(graph)):
            visit(dependency, (*path, name))
        ordered.append(name)

    for name in graph:
        visit(name, ())
    return ordered


def _waves(template: Mapping[str, Any]) -> list[list[str]]:
    """Resources grouped by wave (see assumption 1), in template order within a wave."""
    graph = {lid: dependencies(definition) - {lid} for lid, definition in template.items()}
    depth: dict[str, int] = {}
    for logical_id in _order(graph):
        depth[logical_id] = 1 + max((depth[d] for d in graph[logical_id]), default=-1)
    waves: list[list[str]] = [[] for _ in range(1 + max(depth.values(), default=-1))]
    for logical_id in template:
        waves[depth[logical_id]].append(logical_id)
    return waves


def _check(template: Mapping[str, Any]) -> None:
    """Refuse what CloudFormation's validation refuses: unknown types and dangling references."""
    for logical_id, definition in template.items():
        resource_type = definition.get("Type", "")
        if not (_is_custom(resource_type) or resource_type == SIBLING):
            raise ValueError(
                f"{logical_id}: the model knows custom resources and {SIBLING}, not {resource_type!r}"
            )
        unknown = dependencies(definition) - set(template)
        if unknown:
            raise ValueError(f"{logical_id} refers to unknown resources {sorted(unknown)}")
    _order({lid: dependencies(d) - {lid} for lid, d in template.items()})
