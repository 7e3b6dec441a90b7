"""Stacks and modules as targets, and their external IDs: the account facts they are built from,
the aliased ``externalIdForStack`` selections that read them, the trust policy made of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spacelift_cfn.deadline import Deadline
from spacelift_cfn.errors import PropertyError, SpaceliftError
from spacelift_cfn.properties import REPLACEMENT, prop, require_access, require_one_of
from spacelift_cfn.spacelift import SpaceliftClient, Variable, arguments

POLICY_VERSION = "2012-10-17"


@dataclass(frozen=True, kw_only=True)
class Target:
    """A Spacelift stack or module, and the access an integration gives it."""

    stack_id: str | None = prop(
        "StackId", "ID (slug) of a Spacelift stack. Set this or `ModuleId`.", default=None, update=REPLACEMENT
    )
    module_id: str | None = prop(
        "ModuleId", "ID of a Spacelift module. Set this or `StackId`.", default=None, update=REPLACEMENT
    )
    read: bool = prop("Read", "Use the integration for read phases (planning).", default=True)
    write: bool = prop("Write", "Use the integration for write phases (applying).", default=True)

    def __post_init__(self) -> None:
        require_one_of(("StackId", self.stack_id), ("ModuleId", self.module_id))
        for name, value in (("StackId", self.stack_id), ("ModuleId", self.module_id)):
            if value is not None and not value.strip():
                raise PropertyError(name, "must not be empty")
        require_access(self.read, self.write)

    @property
    def project_id(self) -> str:
        """The stack or module ID; the API takes both in its ``stack`` argument."""
        return self.stack_id or self.module_id or ""

    @property
    def is_module(self) -> bool:
        return self.module_id is not None


def targets_prop() -> Any:
    """``ExternalIdsFor``, as the integration and the lookup both declare it."""
    return prop(
        "ExternalIdsFor",
        "Stacks and modules (`StackId` or `ModuleId`, `Read`, `Write`) whose external IDs to return "
        "as `ExternalId.<id>` and in `AssumeRolePolicyDocument`.",
        default=(),
    )


def require_unique_targets(targets: Sequence[Target]) -> None:
    """Each stack or module once: its external ID is one attribute, ``ExternalId.<id>``."""
    seen: set[str] = set()
    for index, target in enumerate(targets):
        if target.project_id in seen:
            raise PropertyError(f"ExternalIdsFor[{index}]", f"{target.project_id!r} is listed twice")
        seen.add(target.project_id)


@dataclass(frozen=True)
class Account:
    name: str
    aws_account_id: str


_ACCOUNT = "query SpaceliftAccount { name spaceliftAwsAccountId }"
_accounts: dict[str, Account] = {}


def account(client: SpaceliftClient, deadline: Deadline) -> Account:
    """The Spacelift account's name and AWS account ID; asked once per container."""
    key = client.settings.graphql_url
    if key not in _accounts:
        data = client.query(_ACCOUNT, {}, deadline)
        name, aws_account_id = data.get("name"), data.get("spaceliftAwsAccountId")
        if not isinstance(name, str) or not isinstance(aws_account_id, str):
            raise SpaceliftError("Spacelift did not report its account name and AWS account ID.")
        _accounts[key] = Account(name, aws_account_id)
    return _accounts[key]


EXTERNAL_ID_SELECTION = "{ externalId assumeRolePolicyStatement }"


def external_id_selections(targets: Sequence[Target]) -> tuple[list[Variable], str]:
    """The variables and the aliased ``externalIdForStack`` selections (``e0``, ``e1``…).

    Selecting every external ID as an alias of the same field makes N external
    IDs cost no extra round trip.
    """
    variables: list[Variable] = []
    selections = []
    for index, target in enumerate(targets):
        asked = target_variables(target, f"{index}")
        variables += asked
        selections.append(f"e{index}: externalIdForStack({arguments(asked)}) {EXTERNAL_ID_SELECTION}")
    return variables, " ".join(selections)


def target_variables(target: Target, suffix: str = "") -> list[Variable]:
    """The ``externalIdForStack`` arguments for one target (``stackId`` takes module IDs too)."""
    return [
        Variable(f"s{suffix}" if suffix else "stack", "ID!", target.project_id, argument="stackId"),
        Variable(f"r{suffix}" if suffix else "read", "Boolean!", target.read, argument="read"),
        Variable(f"w{suffix}" if suffix else "write", "Boolean!", target.write, argument="write"),
    ]


@dataclass(frozen=True)
class ExternalId:
    external_id: str
    statement: dict[str, Any]
    statement_json: str


def read_external_id(result: object, what: str) -> ExternalId:
    """Check one ``externalIdForStack`` result and parse its trust statement."""
    if not isinstance(result, dict):
        raise SpaceliftError(f"Spacelift computed no external ID for {what}; check that it exists.")
    external_id, statement = result.get("externalId"), result.get("assumeRolePolicyStatement")
    if not isinstance(external_id, str) or not isinstance(statement, str):
        raise SpaceliftError(f"Spacelift answered an incomplete external ID for {what}.")
    try:
        parsed = json.loads(statement)
    except ValueError:
        raise SpaceliftError(f"Spacelift answered a trust statement for {what} that is not JSON.") from None
    if not isinstance(parsed, dict):
        raise SpaceliftError(f"Spacelift answered a trust statement for {what} that is not an object.")
    return ExternalId(external_id, parsed, statement)


def trust_policy(statements: Sequence[Mapping[str, Any]]) -> str:
    """A whole IAM trust policy, compact, from the API's statements."""
    return json.dumps({"Version": POLICY_VERSION, "Statement": list(statements)}, separators=(",", ":"))
