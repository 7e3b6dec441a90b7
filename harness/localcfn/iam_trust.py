"""A role assumption test backed by an IAM API (moto's server): the emulator's attach
succeeds only when the role exists and its trust policy lets Spacelift's AWS account
assume it with the attachment's external ID, as Spacelift checks in production."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

TrustCheck = Callable[[Any, str, str], bool]


def iam_trust_check(iam: Any, spacelift_aws_account_id: str) -> TrustCheck:
    principals = {spacelift_aws_account_id, f"arn:aws:iam::{spacelift_aws_account_id}:root"}

    def check(integration: Any, stack_id: str, external_id: str) -> bool:
        role_name = str(integration.role_arn).rsplit("/", 1)[-1]
        try:
            document = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
        except iam.exceptions.NoSuchEntityException:
            return False
        if isinstance(document, str):
            document = json.loads(unquote(document))
        return any(
            _allows(statement, principals, external_id) for statement in _as_list(document["Statement"])
        )

    return check


def _allows(statement: dict[str, Any], principals: set[str], external_id: str) -> bool:
    if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in _as_list(statement.get("Action")):
        return False
    if not principals & set(_as_list(statement.get("Principal", {}).get("AWS"))):
        return False
    condition = statement.get("Condition", {}).get("StringEquals", {})
    return external_id in _as_list(condition.get("sts:ExternalId"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
