"""What an operator reads: log lines with the Lambda context and the request's keys, metrics in
CloudWatch's embedded metric format on stdout, and X-Ray segments only when tracing is on."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from localcfn import LocalFunction, ResponseServer
from spacelift_cfn import observability
from spacelift_emulator import Emulator
from tests.conftest import API_KEY_ID, API_KEY_SECRET, ATTACHMENT, ROLE_ARN, event

ROOT = Path(__file__).parent.parent


def emf_lines(text: str) -> list[dict[str, Any]]:
    """The embedded-metric-format documents printed on stdout."""
    documents = []
    for line in text.splitlines():
        if line.startswith('{"_aws"'):
            documents.append(json.loads(line))
    return documents


def test_every_line_has_the_lambda_context_and_the_request_keys(
    function: LocalFunction, json_logs: io.StringIO, responses: ResponseServer
) -> None:
    function.send(event("Create", {"Name": "x", "RoleArn": ROLE_ARN}))
    function.send(event("Create", {"Name": ""}))
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]

    assert len(lines) >= 4
    expected = {
        "cold_start",
        "function_request_id",
        "function_name",
        "stack_id",
        "logical_resource_id",
        "request_id",
        "request_type",
        "resource_type",
    }
    for line in lines:
        assert expected <= line.keys(), line
        assert line["function_request_id"] == "c6af9ac6-7b61-11e6-9a41-93e812345678"
    text = json_logs.getvalue()
    assert "X-Amz-Signature" not in text and "ResponseURL" not in text and API_KEY_SECRET not in text


def test_a_request_that_retries_reports_its_metrics_in_emf(
    function: LocalFunction, emulator: Emulator, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    emulator.faults.throttle_next(2, retry_after=0, field="awsIntegrationCreate")
    emulator.faults.fail_next(1, status=502, field="apiKeyUser")
    created = function(event("Create", {"Name": "x", "RoleArn": ROLE_ARN}))
    emulator.faults.trust_failures(1)
    attached = function(
        event(
            "Create",
            {"IntegrationId": created.physical_id, "StackId": "my-stack-id"},
            resource_type=ATTACHMENT,
            logical_id="Attachment",
        )
    )
    assert (created.status, attached.status) == ("SUCCESS", "SUCCESS"), attached.reason
    first, second = emf_lines(capfd.readouterr().out)

    directive = first["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == observability.NAMESPACE
    assert set(directive["Dimensions"][0]) >= {"ResourceType", "Outcome"}
    names = {metric["Name"] for metric in directive["Metrics"]}
    assert names >= {
        "Requests",
        "HandlerDuration",
        "SpaceliftRetries",
        "SpaceliftThrottled",
        "TokenExchanges",
    }
    assert (first["ResourceType"], first["Outcome"]) == ("Custom::SpaceliftAwsIntegration", "SUCCESS")
    assert first["SpaceliftThrottled"] == [2.0]
    assert first["SpaceliftRetries"] == [3.0]  # two 429s and one 502
    assert first["TokenExchanges"] == [1.0]
    assert first["Requests"] == [1.0]
    assert first["HandlerDuration"][0] > 0
    assert (second["ResourceType"], second["Outcome"]) == (ATTACHMENT, "SUCCESS")
    assert second["TrustRelationshipErrors"] == [1.0]
    assert "TokenExchanges" not in second  # the warm container reuses its token


def test_metrics_of_a_failed_request_and_of_an_unknown_type(
    function: LocalFunction, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    function(event("Create", {"Name": ""}))
    function(event("Create", {}, resource_type="Custom::Typo-" + "x" * 50))
    failed, unknown = emf_lines(capfd.readouterr().out)

    assert failed["Outcome"] == "FAILED"
    assert (unknown["ResourceType"], unknown["Outcome"]) == ("Other", "FAILED")


def test_every_metric_is_documented() -> None:
    text = (ROOT / "docs" / "troubleshooting.md").read_text()
    for name in observability.METRICS:
        assert f"`{name}`" in text, name


def _run_provider(environment: dict[str, str], script: str) -> subprocess.CompletedProcess[str]:
    paths = [str(ROOT / "src"), str(ROOT / "harness"), str(ROOT)]
    code = f"import sys; sys.path[:0] = {paths!r}\n" + textwrap.dedent(script)
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


_ONE_CREATE = """
    import json, sys
    from localcfn import LambdaContext, ResponseServer
    import app
    server = ResponseServer().start()
    event = {eventjson}
    event["ResponseURL"] = server.url(event["RequestId"])
    app.handler(event, LambdaContext())
    print("MODULES", json.dumps(sorted(m for m in sys.modules if m.startswith(("aws_xray_sdk", "wrapt")))))
    print("ANSWER", json.dumps(server.responses[0].body))
"""


def test_tracing_is_off_by_default_and_the_xray_sdk_is_not_even_imported(emulator: Emulator) -> None:
    create = event("Create", {"Name": "x", "RoleArn": ROLE_ARN})
    environment = {
        "SPACELIFT_API_KEY_ENDPOINT": emulator.url,
        "SPACELIFT_API_KEY_ID": API_KEY_ID,
        "SPACELIFT_API_KEY_SECRET": API_KEY_SECRET,
        "LAMBDA_TASK_ROOT": str(ROOT / "src"),
    }
    environment.pop("POWERTOOLS_TRACE_DISABLED", None)
    ran = _run_provider(environment, _ONE_CREATE.replace("{eventjson}", repr(create)))

    assert ran.returncode == 0, ran.stderr
    assert "MODULES []" in ran.stdout
    assert '"Status": "SUCCESS"' in ran.stdout


def test_tracing_on_sends_segments_to_the_xray_daemon(emulator: Emulator) -> None:
    """With Tracing Active, Lambda sets _X_AMZN_TRACE_ID and AWS_XRAY_DAEMON_ADDRESS: the SDK
    sends its segment documents over UDP to that address; here a socket on loopback."""
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(10)
    address = f"127.0.0.1:{daemon.getsockname()[1]}"
    create = event("Create", {"Name": "x", "RoleArn": ROLE_ARN})
    environment = {
        "SPACELIFT_API_KEY_ENDPOINT": emulator.url,
        "SPACELIFT_API_KEY_ID": API_KEY_ID,
        "SPACELIFT_API_KEY_SECRET": API_KEY_SECRET,
        "LAMBDA_TASK_ROOT": str(ROOT / "src"),
        "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_XRAY_DAEMON_ADDRESS": address,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    }
    try:
        ran = _run_provider(environment, _ONE_CREATE.replace("{eventjson}", repr(create)))
        assert ran.returncode == 0, ran.stderr
        documents = []
        daemon.settimeout(2)
        try:
            while True:
                packet = daemon.recv(65536).decode()
                documents.append(json.loads(packet.split("\n", 1)[1]))
        except TimeoutError:
            pass
    finally:
        daemon.close()

    assert '"aws_xray_sdk' in ran.stdout  # imported only now
    names = json.dumps(documents)
    assert "## lambda_handler" in names  # the handler's subsegment
    assert "127.0.0.1" in names  # the Spacelift call (requests patched) is a subsegment
    assert "X-Amz-Signature" not in names and API_KEY_SECRET not in names


def test_the_event_is_never_logged_even_when_powertools_is_told_to(emulator: Emulator) -> None:
    """POWERTOOLS_LOGGER_LOG_EVENT=true at import time would make Powertools log the event, with
    its presigned ResponseURL: the handler refuses it explicitly."""
    create = event("Create", {"Name": "x", "RoleArn": ROLE_ARN})
    environment = {
        "SPACELIFT_API_KEY_ENDPOINT": emulator.url,
        "SPACELIFT_API_KEY_ID": API_KEY_ID,
        "SPACELIFT_API_KEY_SECRET": API_KEY_SECRET,
        "POWERTOOLS_LOGGER_LOG_EVENT": "true",
    }
    ran = _run_provider(environment, _ONE_CREATE.replace("{eventjson}", repr(create)))

    assert ran.returncode == 0, ran.stderr
    assert "Received request" in ran.stdout
    logs = ran.stdout.split("ANSWER", 1)[0]
    assert "X-Amz-Signature" not in logs and "ResponseURL" not in logs
