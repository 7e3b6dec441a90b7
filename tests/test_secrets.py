"""Nothing secret leaks: a full lifecycle with faults, every log level on, all output captured,
searched for the API key secret, every JWT the function held, and the ResponseURL's signature."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import boto3
import pytest

from localcfn import LocalFunction, ResponseServer
from spacelift_cfn import handler
from spacelift_emulator import Emulator
from tests.conftest import API_KEY_SECRET, ATTACHMENT, ROLE_ARN, event


@pytest.fixture
def debug_logging() -> Iterator[None]:
    root = logging.getLogger()
    levels = root.level, handler.logger.log_level
    root.setLevel(logging.DEBUG)
    handler.logger.setLevel("DEBUG")
    yield
    root.setLevel(levels[0])
    handler.logger.setLevel(levels[1])


def test_no_secret_in_logs_reasons_or_data(
    function: LocalFunction,
    emulator: Emulator,
    responses: ResponseServer,
    debug_logging: None,
    *,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    aws: dict[str, str],
    json_logs: io.StringIO,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_arn = boto3.client("secretsmanager").create_secret(
        Name=f"spacelift/{uuid.uuid4()}", SecretString=API_KEY_SECRET
    )["ARN"]
    environment = {**function.environment, **aws, "SPACELIFT_API_KEY_SECRET_ARN": secret_arn}
    del environment["SPACELIFT_API_KEY_SECRET"]
    function.environment = environment
    jwts: set[str] = set()

    def step(*args: object, **kwargs: object) -> None:
        function.send(event(*args, **kwargs))  # type: ignore[arg-type]
        jwts.update(client._token.jwt for client in handler._clients.values() if client._token)

    properties = {"Name": "my_role", "RoleArn": ROLE_ARN, "ExternalIdsFor": [{"StackId": "my-stack-id"}]}
    emulator.faults.fail_next(1, status=502)
    step("Create", properties)
    integration_id = responses.responses[-1].physical_id
    emulator.faults.expire_tokens()
    step("Update", {**properties, "Name": "renamed"}, physical_id=integration_id)
    emulator.faults.trust_failures(1)
    step("Create", {"IntegrationId": integration_id, "StackId": "my-stack-id"}, resource_type=ATTACHMENT)
    step("Create", {"Name": "x", "RoleARN": "typo"})
    emulator.faults.malformed_next(1)
    step("Delete", properties, physical_id=integration_id)
    step("Delete", properties, physical_id=integration_id)
    function.environment = {**environment, "SPACELIFT_API_KEY_SECRET": "a-wrong-secret-9f8e"}
    handler._clients.clear()
    step("Create", properties)

    captured = capfd.readouterr()
    logs = captured.out + captured.err + caplog.text + json_logs.getvalue()
    output = logs + "".join(r.raw.decode() for r in responses.responses)
    signatures = {
        url.split("X-Amz-Signature=")[1]
        for url in (responses.url(r.body["RequestId"]) for r in responses.responses)
    }
    assert len(jwts) == 2  # the token was really exchanged twice, and both are searched for
    assert len(responses.responses) == 7
    assert json_logs.getvalue().count("Received request") == 7  # the logs were captured
    for secret in {API_KEY_SECRET, "a-wrong-secret-9f8e", *jwts, *signatures}:
        assert secret not in output
    assert "X-Amz-Signature" not in output
    assert "ResponseURL" not in output


def test_every_log_line_carries_the_request_keys(function: LocalFunction, json_logs: io.StringIO) -> None:
    function.send(event("Create", {"Name": "x", "RoleArn": ROLE_ARN}))
    function.send(event("Create", {"Name": ""}))
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]

    assert lines
    for line in lines:
        assert {"stack_id", "logical_resource_id", "request_type", "request_id"} <= line.keys()
        assert {"cold_start", "function_request_id"} <= line.keys()  # the Lambda context
