"""The seed example as one stack (examples/integration-stack.yaml), played the way
CloudFormation plays it: custom resources through the real handler against the emulator,
IAM roles in moto, attachments only when the role's trust policy lets Spacelift in."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from localcfn import LocalFunction, StackFailed, StackPlayer
from localcfn.iam_trust import iam_trust_check
from spacelift_emulator import Emulator
from tests.conftest import ACCOUNT_NAME, SERVICE_TOKEN, SPACELIFT_AWS_ACCOUNT

EXAMPLE = Path(__file__).parent.parent / "examples" / "integration-stack.yaml"


@pytest.fixture
def player(function: LocalFunction, emulator: Emulator, iam: Any) -> StackPlayer:
    emulator.trust_check = iam_trust_check(iam, SPACELIFT_AWS_ACCOUNT)
    return StackPlayer(EXAMPLE, function, iam=iam, exports={"spacelift-cfn-ServiceToken": SERVICE_TOKEN})


def trust_policy(iam: Any, role_name: str) -> dict[str, Any]:
    document = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    return json.loads(unquote(document)) if isinstance(document, str) else dict(document)


def attachment_on(emulator: Emulator, project: str) -> Any:
    (found,) = [a for a in emulator.attachments.values() if a.stack_id == project]
    return found


def test_the_example_passes_cfn_lint() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_create_update_delete_of_the_whole_example(
    player: StackPlayer, emulator: Emulator, iam: Any, tmp_path: Path
) -> None:
    emulator.faults.trust_failures(2)  # IAM is eventually consistent: the first attaches fail
    player.create()

    integration_id = player.resources["SpaceliftIntegration"].physical_id
    integration = emulator.integrations[integration_id]
    assert (integration.name, integration.duration_seconds) == ("my_role", 3600)
    stack_external_id = f"{ACCOUNT_NAME}@{integration_id}@my-stack-id@write"
    module_external_id = f"{ACCOUNT_NAME}@{integration_id}@my-module-id@read"
    (statement,) = trust_policy(iam, "my_role")["Statement"]
    assert statement["Condition"]["StringEquals"]["sts:ExternalId"] == [stack_external_id, module_external_id]
    assert trust_policy(iam, "my_role_readonly") == json.loads(
        player.resources["SpaceliftIntegration"].data["AssumeRolePolicyDocument"]
    )
    stack_attachment = attachment_on(emulator, "my-stack-id")
    module_attachment = attachment_on(emulator, "my-module-id")
    assert (stack_attachment.read, stack_attachment.write) == (True, True)
    assert (module_attachment.read, module_attachment.write, module_attachment.is_module) == (
        True,
        False,
        True,
    )
    assert player.resources["StackAttachment"].data["ExternalId"] == stack_external_id
    assert player.resources["ModuleAttachment"].data["IsModule"] == "true"

    # Update 1: flip Write on the module: the external ID, the role and the attachment follow.
    module_attachment_id = player.resources["ModuleAttachment"].physical_id
    player.update({"ModuleWrite": "true"})
    assert player.resources["ModuleAttachment"].physical_id == module_attachment_id  # in place
    assert attachment_on(emulator, "my-module-id").write is True
    assert f"{ACCOUNT_NAME}@{integration_id}@my-module-id@write" in json.dumps(trust_policy(iam, "my_role"))

    # Update 2: move to another stack (the user edits the template): the attachment is replaced.
    moved = tmp_path / "moved.yaml"
    moved.write_text(EXAMPLE.read_text().replace("my-stack-id", "my-other-stack-id"))
    old_stack_attachment = player.resources["StackAttachment"].physical_id
    player.update(template=moved)
    assert player.resources["SpaceliftIntegration"].physical_id == integration_id
    assert player.resources["StackAttachment"].physical_id != old_stack_attachment
    assert [a.stack_id for a in emulator.attachments.values() if not a.is_module] == ["my-other-stack-id"]

    player.delete()
    assert emulator.integrations == {}
    assert emulator.attachments == {}
    assert iam.list_roles()["Roles"] == []


def test_an_attach_that_keeps_failing_ends_failed_before_the_deadline(
    player: StackPlayer, function: LocalFunction, emulator: Emulator
) -> None:
    emulator.faults.trust_failures(-1)
    function.timeout = 8
    started = time.monotonic()
    with pytest.raises(StackFailed) as failure:
        player.create()

    assert "StackAttachment Create FAILED" in str(failure.value)
    assert "trust policy" in str(failure.value) and "STS" in str(failure.value)
    assert time.monotonic() - started < 8 + 2  # the integration's Create and the role come first
    assert emulator.attachments == {}
