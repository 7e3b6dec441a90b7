"""The function's environment: endpoint rules, and the API key secret from Secrets Manager (moto)."""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading
from pathlib import Path

import boto3
import pytest

from localcfn import LocalFunction
from spacelift_cfn import errors, handler
from spacelift_cfn.errors import ConfigurationError
from spacelift_cfn.settings import Settings, graphql_url
from spacelift_emulator import Emulator
from tests.conftest import API_KEY_ID, API_KEY_SECRET, ROLE_ARN, event


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("https://acme.app.spacelift.io", "https://acme.app.spacelift.io/graphql"),
        ("https://acme.app.spacelift.io/", "https://acme.app.spacelift.io/graphql"),
        ("https://acme.app.spacelift.io/graphql", "https://acme.app.spacelift.io/graphql"),
        ("https://acme.app.spacelift.io/graphql/", "https://acme.app.spacelift.io/graphql"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/graphql"),
        ("http://127.5.0.1/graphql", "http://127.5.0.1/graphql"),
        ("http://localhost:1234", "http://localhost:1234/graphql"),
        ("http://[::1]:1234", "http://[::1]:1234/graphql"),
    ],
)
def test_endpoint_is_normalised(endpoint: str, expected: str) -> None:
    assert graphql_url(endpoint) == expected


@pytest.mark.parametrize(
    "endpoint",
    ["http://acme.app.spacelift.io", "http://10.0.0.1/graphql", "ftp://x", "acme.app.spacelift.io"],
)
def test_plain_http_and_other_schemes_are_refused_except_on_loopback(endpoint: str) -> None:
    with pytest.raises(ConfigurationError, match="https://"):
        graphql_url(endpoint)


def test_a_refused_endpoint_fails_the_request_with_a_clear_reason(
    function: LocalFunction, emulator: Emulator
) -> None:
    function.environment = {
        **function.environment,
        "SPACELIFT_API_KEY_ENDPOINT": "http://acme.app.spacelift.io",
    }
    response = function(event("Create", {"Name": "x", "RoleArn": ROLE_ARN}))

    assert response.status == "FAILED"
    assert "SPACELIFT_API_KEY_ENDPOINT" in response.reason and "https://" in response.reason
    assert emulator.integrations == {}


def test_missing_settings_are_named() -> None:
    with pytest.raises(ConfigurationError, match=r"SPACELIFT_API_KEY_ID.*SPACELIFT_API_KEY_SECRET_ARN"):
        Settings.from_environment({"SPACELIFT_API_KEY_ENDPOINT": "https://acme.app.spacelift.io"})


def test_the_secret_is_read_from_secrets_manager_once_per_container(
    function: LocalFunction, emulator: Emulator, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="spacelift/api-key", SecretString=API_KEY_SECRET)[
        "ARN"
    ]
    environment = {**function.environment, **aws, "SPACELIFT_API_KEY_SECRET_ARN": arn}
    del environment["SPACELIFT_API_KEY_SECRET"]
    monkeypatch.delenv("SPACELIFT_API_KEY_SECRET")
    function.environment = environment

    first = function(event("Create", {"Name": "a", "RoleArn": ROLE_ARN}))
    (client,) = handler._clients.values()
    assert API_KEY_SECRET in client.secrets()  # redacted from reasons although it came from AWS
    emulator.faults.expire_tokens()  # forces a second exchange: the cached secret is reused
    second = function(event("Create", {"Name": "b", "RoleArn": ROLE_ARN}))

    assert (first.status, second.status) == ("SUCCESS", "SUCCESS"), (first.reason, second.reason)
    assert emulator.token_exchanges == 2
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString="rotated-away")
    third = function(event("Create", {"Name": "c", "RoleArn": ROLE_ARN}))
    assert third.status == "SUCCESS"  # still the cached value, within its max age


def test_a_wrong_secret_fails_with_a_reason_that_does_not_contain_it(
    function: LocalFunction, emulator: Emulator
) -> None:
    function.environment = {**function.environment, "SPACELIFT_API_KEY_SECRET": "wrong-secret-value-123"}
    response = function(event("Create", {"Name": "x", "RoleArn": ROLE_ARN}))

    assert response.status == "FAILED"
    assert "secret" in response.reason.lower()
    assert "wrong-secret-value-123" not in response.raw.decode()


def test_an_unknown_key_id_is_named(function: LocalFunction) -> None:
    function.environment = {**function.environment, "SPACELIFT_API_KEY_ID": "01HXNOSUCHKEYAAAAAAAAAAAAA"}
    response = function(event("Create", {"Name": "x", "RoleArn": ROLE_ARN}))

    assert response.status == "FAILED"
    assert "SPACELIFT_API_KEY_ID" in response.reason
    assert API_KEY_ID not in response.reason


def test_a_misconfigured_function_still_acknowledges_the_rollback_delete(function: LocalFunction) -> None:
    function.environment = {**function.environment, "SPACELIFT_API_KEY_ENDPOINT": ""}
    failed = function(event("Create", {"Name": "x", "RoleArn": ROLE_ARN}))
    assert failed.status == "FAILED" and "SPACELIFT_API_KEY_ENDPOINT" in failed.reason

    rollback = function(event("Delete", {"Name": "x", "RoleArn": ROLE_ARN}, physical_id=failed.physical_id))
    assert (rollback.status, rollback.physical_id) == ("SUCCESS", failed.physical_id)


def test_tls_certificates_are_verified(function: LocalFunction, emulator: Emulator, tmp_path: Path) -> None:
    """A loopback HTTPS endpoint with a self-signed certificate is refused at once, not retried."""
    key, certificate = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    function.environment = {
        **function.environment,
        "SPACELIFT_API_KEY_ENDPOINT": f"https://127.0.0.1:{server.server_address[1]}",
    }
    try:
        response = function(event("Create", {"Name": "x", "RoleArn": ROLE_ARN}))
    finally:
        server.shutdown()

    assert response.status == "FAILED"
    assert response.reason.startswith(errors.ENDPOINT_TLS.reason())
    assert emulator.integrations == {}
