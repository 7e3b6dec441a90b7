"""Every misconfiguration a first deployment can hit fails the resource with a Reason that names
the setting and the fix (errors.MISCONFIGURATIONS), and every FAILED reason ends with where its
details are: the log group, the stream and the Lambda request ID.

Secrets Manager is moto's server where moto produces the error itself (no such secret, a secret
scheduled for deletion); the refusals only IAM and KMS produce (AccessDeniedException, "Access
to KMS is not allowed", DecryptionFailure) are answered by botocore's Stubber with the error
codes of the GetSecretValue API reference, through the same Powertools provider."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.stub import Stubber

from localcfn import CapturedResponse, LambdaContext, LocalFunction, ResponseServer
from spacelift_cfn import errors, settings, spacelift
from spacelift_cfn.protocol import MAX_BODY_BYTES, Outcome, response_body
from spacelift_emulator import DisabledStyle, Emulator
from tests.conftest import API_KEY_SECRET, ROLE_ARN, event

CONTEXT = LambdaContext()
TAIL = (
    f"See the details in CloudWatch Logs: log group {CONTEXT.log_group_name}, stream "
    f"{CONTEXT.log_stream_name}, Lambda request ID {CONTEXT.aws_request_id}."
)
CREATE = event("Create", {"Name": "my_role", "RoleArn": ROLE_ARN})
SRC = Path(__file__).parent.parent / "src"


def failed_with(response: CapturedResponse, reason: str) -> None:
    """CloudFormation got FAILED with exactly ``reason`` then the pointer to the logs."""
    assert response.status == "FAILED"
    assert response.reason == f"{reason} {TAIL}"


# ------------------------------------------------------------------ the secret


@pytest.fixture
def secret_arn(function: LocalFunction, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The function reads its API key secret from Secrets Manager (moto), as deployed."""
    arn = boto3.client("secretsmanager").create_secret(
        Name=f"spacelift/{uuid.uuid4()}", SecretString=API_KEY_SECRET
    )["ARN"]
    environment = {**function.environment, **aws, "SPACELIFT_API_KEY_SECRET_ARN": arn}
    del environment["SPACELIFT_API_KEY_SECRET"]
    monkeypatch.delenv("SPACELIFT_API_KEY_SECRET")
    function.environment = environment
    return str(arn)


def test_a_secret_that_does_not_exist(function: LocalFunction, secret_arn: str) -> None:
    function.environment["SPACELIFT_API_KEY_SECRET_ARN"] = secret_arn[:-6] + "XXXXXX"
    failed_with(function(CREATE), errors.SECRET_NOT_FOUND.reason())


def test_a_secret_scheduled_for_deletion(function: LocalFunction, secret_arn: str) -> None:
    boto3.client("secretsmanager").delete_secret(SecretId=secret_arn, RecoveryWindowInDays=7)
    failed_with(function(CREATE), errors.SECRET_SCHEDULED_FOR_DELETION.reason())


@pytest.fixture
def stubbed_secrets(secret_arn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """Secrets Manager answering through botocore's Stubber (queue the answers on it)."""
    client = boto3.client("secretsmanager")
    stubber = Stubber(client)
    provider = SecretsProvider(boto3_client=client)
    monkeypatch.setattr(settings, "secrets_provider", lambda: provider)
    with stubber:
        yield stubber


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/spacelift-cfn-ProviderFunctionRole/"
            "spacelift-cfn-provider is not authorized to perform: secretsmanager:GetSecretValue on "
            "resource: spacelift/api-key because no identity-based policy allows the "
            "secretsmanager:GetSecretValue action",
            errors.SECRET_ACCESS_DENIED.reason(),
        ),
        ("AccessDeniedException", "Access to KMS is not allowed", errors.SECRET_KMS_DENIED.reason()),
        (
            "DecryptionFailure",
            "The ciphertext refers to a customer master key that does not exist, does not exist in "
            "this region, or you are not allowed to access.",
            errors.SECRET_DECRYPTION_FAILURE.reason(),
        ),
        (
            "InternalServiceError",
            "An error occurred on the server side.",
            errors.SECRET_UNREADABLE.reason(code="InternalServiceError"),
        ),
    ],
)
def test_secrets_manager_refusals_name_the_setting(
    function: LocalFunction,
    stubbed_secrets: Stubber,
    emulator: Emulator,
    *,
    code: str,
    message: str,
    expected: str,
) -> None:
    stubbed_secrets.add_client_error("get_secret_value", service_error_code=code, service_message=message)
    failed_with(function(CREATE), expected)
    assert emulator.token_exchanges == 0 and emulator.integrations == {}


def test_an_empty_secret(function: LocalFunction, stubbed_secrets: Stubber) -> None:
    stubbed_secrets.add_response(
        "get_secret_value",
        {"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf", "SecretString": " "},
    )
    failed_with(function(CREATE), errors.SECRET_EMPTY.reason())


def test_a_secret_error_that_is_not_an_aws_answer_stays_internal(
    function: LocalFunction, secret_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def get(self, name: str, max_age: int) -> str:
            from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

            try:
                raise ValueError("a bug")
            except ValueError as error:
                raise GetParameterError(str(error)) from None

    monkeypatch.setattr(settings, "secrets_provider", Broken)
    failed_with(function(CREATE), "Internal error (GetParameterError); see the provider function's logs.")


# ------------------------------------------------------------------ the endpoint


def test_an_endpoint_that_is_not_the_graphql_api(function: LocalFunction, emulator: Emulator) -> None:
    function.environment["SPACELIFT_API_KEY_ENDPOINT"] = emulator.url + "/some/page"
    url = emulator.url + "/some/page/graphql"
    failed_with(function(CREATE), errors.ENDPOINT_NOT_SPACELIFT.reason(answer="HTTP 404", url=url))


@pytest.mark.parametrize(
    ("content_type", "body", "answer"),
    [
        ("text/html; charset=utf-8", b"<html><body>Welcome</body></html>", "an HTML page"),
        ("application/json", b'{"status": "ok"}', "JSON that is not GraphQL"),
    ],
)
def test_an_endpoint_that_serves_something_else(
    function: LocalFunction, content_type: str, body: bytes, answer: str
) -> None:
    class Page(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    function.environment["SPACELIFT_API_KEY_ENDPOINT"] = base
    try:
        response = function(CREATE)
    finally:
        server.shutdown()
    failed_with(response, errors.ENDPOINT_NOT_SPACELIFT.reason(answer=answer, url=base + "/graphql"))


def test_an_endpoint_whose_host_does_not_resolve(
    function: LocalFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "acme.app.spacelift.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setattr(spacelift, "BACKOFF_BASE_SECONDS", 0.001)  # retried, but quickly here
    function.environment["SPACELIFT_API_KEY_ENDPOINT"] = "https://acme.app.spacelift.invalid"
    failed_with(function(CREATE), errors.ENDPOINT_UNRESOLVED.reason(host="acme.app.spacelift.invalid"))


# ------------------------------------------------------------------ the API key


def test_an_unknown_key_id(function: LocalFunction) -> None:
    function.environment["SPACELIFT_API_KEY_ID"] = "01HXNOSUCHKEYAAAAAAAAAAAAA"
    failed_with(function(CREATE), errors.KEY_ID_UNKNOWN.reason())


def test_a_wrong_key_secret(function: LocalFunction) -> None:
    function.environment["SPACELIFT_API_KEY_SECRET"] = "not-the-secret-7d1f"
    response = function(CREATE)
    failed_with(response, errors.KEY_SECRET_REFUSED.reason())
    assert "not-the-secret-7d1f" not in response.raw.decode()


def test_a_key_without_admin_rights_on_the_space(function: LocalFunction, emulator: Emulator) -> None:
    emulator.add_space("team")
    emulator.add_api_key("01HXLIMITEDKEY000000000000", "limited-secret", admin_of=["team"])
    function.environment["SPACELIFT_API_KEY_ID"] = "01HXLIMITEDKEY000000000000"
    function.environment["SPACELIFT_API_KEY_SECRET"] = "limited-secret"

    failed_with(function(CREATE), errors.KEY_NOT_ADMIN.reason())
    in_its_space = function(event("Create", {"Name": "my_role", "RoleArn": ROLE_ARN, "SpaceId": "team"}))
    assert in_its_space.status == "SUCCESS", in_its_space.reason
    assert [i.space for i in emulator.integrations.values()] == ["team"]


@pytest.mark.parametrize("style", ["error", "unauthorized"])
def test_an_account_without_aws_integrations(
    function: LocalFunction, emulator: Emulator, style: DisabledStyle
) -> None:
    emulator.disable_aws_integrations(style)
    failed_with(function(CREATE), errors.AWS_INTEGRATIONS_DISABLED.reason())
    assert emulator.request_count("awsIntegrationsEnabled") == 1  # asked once, after the refusal


def test_other_refusals_are_not_blamed_on_the_account(function: LocalFunction, emulator: Emulator) -> None:
    """A refusal with integrations enabled keeps its own reason; the account is asked once per container."""
    function(CREATE)
    duplicate = function(event("Create", {"Name": "my_role", "RoleArn": ROLE_ARN}, logical_id="Other"))
    again = function(event("Create", {"Name": "my_role", "RoleArn": ROLE_ARN}, logical_id="Third"))

    assert duplicate.status == again.status == "FAILED"
    assert errors.AWS_INTEGRATIONS_DISABLED.reason() not in duplicate.reason
    assert emulator.request_count("awsIntegrationsEnabled") <= 1


# ------------------------------------------------------------------ the reason's tail


def test_every_failed_reason_points_to_the_logs(function: LocalFunction) -> None:
    failed = function(event("Create", {"Name": "x", "RoleARN": "typo"}))
    assert failed.status == "FAILED"
    assert failed.reason.startswith("Property ")
    assert failed.reason.endswith(TAIL)
    success = function(CREATE)
    assert success.status == "SUCCESS" and TAIL not in success.raw.decode()


def test_a_long_reason_keeps_its_start_and_its_tail_within_4096_bytes() -> None:
    head = "Property Name: the start matters. " + "détail " * 3000
    where = "See the details in CloudWatch Logs: log group /aws/lambda/" + "f" * 60 + ", stream " + "s" * 500
    longest = {"stack_id": "s" * 512, "request_id": "r" * 128, "logical": "l" * 255}
    raw = response_body(
        Outcome("FAILED", "p" * 1024, head, {}, where),
        longest["stack_id"],
        longest["request_id"],
        longest["logical"],
    )
    reason = json.loads(raw)["Reason"]

    assert len(raw) <= MAX_BODY_BYTES
    assert reason.startswith("Property Name: the start matters.")
    assert reason.endswith(where)


def test_attributes_too_large_still_point_to_the_logs() -> None:
    data = {f"ExternalId.stack-{index}": "x" * 200 for index in range(30)}
    raw = response_body(Outcome("SUCCESS", "id", "", data, "See here."), "stack", "request", "logical")
    body = json.loads(raw)
    assert body["Status"] == "FAILED" and body["Reason"].endswith("See here.") and "4096" in body["Reason"]
    plain = json.loads(response_body(Outcome("SUCCESS", "id", "", {}, "See here."), "s", "r", "l"))
    assert plain["Reason"] == ""  # a SUCCESS has nothing to point to


def test_the_import_fallback_points_to_the_logs(tmp_path: Path, responses: ResponseServer) -> None:
    (tmp_path / "app.py").write_text((SRC / "app.py").read_text())
    (tmp_path / "spacelift_cfn").mkdir()
    (tmp_path / "spacelift_cfn" / "__init__.py").write_text("")
    (tmp_path / "spacelift_cfn" / "handler.py").write_text("import a_dependency_the_layer_lost\n")
    request_id = str(uuid.uuid4())
    failed_create = {**CREATE, "RequestId": request_id, "ResponseURL": responses.url(request_id)}
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(tmp_path)!r})
        import app

        class Context:
            log_group_name = {CONTEXT.log_group_name!r}
            log_stream_name = {CONTEXT.log_stream_name!r}
            aws_request_id = {CONTEXT.aws_request_id!r}

        app.handler(json.loads(sys.argv[1]), Context())
        """
    )
    subprocess.run(
        [sys.executable, "-I", "-c", script, json.dumps(failed_create)],
        check=True,
        env={"PATH": os.environ["PATH"]},
        timeout=60,
    )

    (answer,) = responses.for_request(request_id)
    failed_with(
        answer, "The provider function could not start (ModuleNotFoundError); check its layer and its logs."
    )
