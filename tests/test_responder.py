"""The answer to CloudFormation: one checked PUT per request, bounded retries, at most 4096 bytes,
never an empty PhysicalResourceId, and an answer even when the provider cannot be imported."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

from localcfn import LocalFunction, ResponseServer
from spacelift_cfn.deadline import Deadline
from spacelift_cfn.protocol import Outcome, response_body
from spacelift_cfn.responder import put_response
from tests.conftest import ROLE_ARN, event

SRC = Path(__file__).parent.parent / "src"


def test_a_put_answered_5xx_is_retried_until_accepted(
    function: LocalFunction, responses: ResponseServer
) -> None:
    responses.status_codes.extend([500, 503])
    response = function(event("Create", {"Name": "x", "RoleArn": ROLE_ARN}))

    assert response.status == "SUCCESS"
    assert responses.attempts == [500, 503, 200]


def test_a_put_refused_with_403_is_not_retried(function: LocalFunction, responses: ResponseServer) -> None:
    responses.status_codes.append(403)
    answers = function.send(event("Create", {"Name": "x", "RoleArn": ROLE_ARN}))

    assert answers == []
    assert responses.attempts == [403]


def test_an_unreachable_response_url_gives_up_before_the_deadline() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    started = time.monotonic()
    sent = put_response(f"http://127.0.0.1:{closed}/x?X-Amz-Signature=abc", b"{}", Deadline.after(3))

    assert sent is False
    assert time.monotonic() - started < 3


def test_a_long_reason_keeps_its_head_and_the_body_fits() -> None:
    reason = "Property Name: the head matters. " + "detail " * 2000
    body = json.loads(response_body(Outcome("FAILED", "id", reason), "stack", "request", "logical"))

    assert body["Reason"].startswith("Property Name: the head matters.")
    assert len(json.dumps(body, ensure_ascii=False).encode()) <= 4096


def test_attributes_too_large_for_the_response_fail_cleanly() -> None:
    data = {f"ExternalId.stack-{index}": "x" * 200 for index in range(30)}
    raw = response_body(Outcome("SUCCESS", "id", "", data), "stack", "request", "logical")
    body = json.loads(raw)

    assert len(raw) <= 4096
    assert (body["Status"], body["Data"]) == ("FAILED", {})
    assert "4096" in body["Reason"]


def test_secrets_are_redacted_from_reasons() -> None:
    body = response_body(Outcome("FAILED", "id", "bad token abc.def.ghi"), "s", "r", "l", ["abc.def.ghi"])
    assert b"abc.def.ghi" not in body


def test_an_import_failure_is_still_answered(tmp_path: Path, responses: ResponseServer) -> None:
    shutil.copy(SRC / "app.py", tmp_path / "app.py")
    broken = tmp_path / "spacelift_cfn"
    broken.mkdir()
    (broken / "__init__.py").write_text("")
    (broken / "handler.py").write_text("import a_dependency_the_layer_lost\n")
    request_id = str(uuid.uuid4())
    failed_create = {**event("Create", {"Name": "x"}), "RequestId": request_id}
    failed_create["ResponseURL"] = responses.url(request_id)
    script = textwrap.dedent(
        """
        import json, sys
        import app
        app.handler(json.loads(sys.argv[1]), None)
        """
    )
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(tmp_path)}
    subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n{script}",
            json.dumps(failed_create),
        ],
        check=True,
        env=environment,
        timeout=60,
    )

    (answer,) = responses.for_request(request_id)
    assert answer.status == "FAILED"
    assert answer.physical_id == "spacelift-cfn:create-failed:SpaceliftIntegration"
    assert "could not start" in answer.reason


def test_an_answer_never_carries_an_empty_physical_id(function: LocalFunction) -> None:
    response = function(event("Create", {"Name": "x", "RoleArn": ROLE_ARN}, logical_id="R"))
    failed = function(event("Update", {"Name": ""}, physical_id=""))
    assert response.physical_id and failed.physical_id


def test_the_fallback_answers_with_the_providers_failed_create_prefix() -> None:
    import app
    from spacelift_cfn.protocol import CREATE_FAILED_PREFIX

    assert app._FAILED_PREFIX == CREATE_FAILED_PREFIX
