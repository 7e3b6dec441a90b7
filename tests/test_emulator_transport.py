"""The Spacelift emulator over HTTP: plain 4xx for what is not GraphQL, keep-alive speed,
restarts, and the command line.

Shared with the other tests/test_emulator_*.py files: the client, the provider's query texts and
the fixtures, in tests/emulator_client.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
import requests

from spacelift_emulator import Emulator
from tests.emulator_client import (
    FIXTURES,
    KEY_ID,
    REPO,
    SECRET,
    Client,
    messages,
)

# A fresh emulator per test, and a client of it without and with a token (tests/emulator_client.py).
emulator, anonymous, client = FIXTURES


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status"),
    [
        ("GET", "/graphql", None, {}, 400),
        ("POST", "/graphql", b"{not json", {"Content-Type": "application/json"}, 400),
        ("POST", "/graphql", b'{"query": "{ name }"}', {"Content-Type": "text/plain"}, 400),
        ("POST", "/graphql", b'{"variables": {}}', {"Content-Type": "application/json"}, 400),
        (
            "POST",
            "/graphql",
            b'{"query": "{ name }", "variables": []}',
            {"Content-Type": "application/json"},
            400,
        ),
        ("POST", "/other", b'{"query": "{ name }"}', {"Content-Type": "application/json"}, 404),
    ],
)
def test_non_graphql_requests_get_plain_4xx(
    *, emulator: Emulator, method: str, path: str, body: bytes | None, headers: dict[str, str], status: int
) -> None:
    response = requests.request(method, emulator.url + path, data=body, headers=headers, timeout=5)

    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/plain")
    assert emulator.requests[-1].status == status


def test_syntax_errors_are_graphql_errors_with_http_200(client: Client) -> None:
    payload = client.gql("{ name")

    assert "data" not in payload and messages(payload)[0].startswith("Syntax Error")


def test_hundreds_of_requests_per_second_on_one_connection(emulator: Emulator, client: Client) -> None:
    started = time.monotonic()
    for _ in range(200):
        client.data("{ name spaceliftAwsAccountId }")
    elapsed = time.monotonic() - started

    assert elapsed < 2.0, f"200 requests took {elapsed:.2f}s"
    assert len({r.connection for r in emulator.requests}) == 1


def test_restart_keeps_the_port_and_stop_cuts_keep_alive(emulator: Emulator, client: Client) -> None:
    url = emulator.url
    emulator.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        client.post("{ name }", timeout=1)

    emulator.start()
    assert emulator.url == url
    assert client.data("{ name }") == {"name": "acme"}  # tokens survive a restart


def test_command_line_runs_in_the_foreground_and_prints_the_url() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spacelift_emulator",
            "--port",
            "0",
            "--api-key",
            f"{KEY_ID}:{SECRET}",
            "--stack",
            "my-stack-id",
            "--module",
            "my-module-id",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "harness")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", first_line)
        assert match, first_line
        client = Client(match.group(1))
        client.login()
        integration_id = client.create()["id"]
        assert "errors" not in client.attach(integration_id, "my-module-id")
    finally:
        process.terminate()
        out, err = process.communicate(timeout=5)
    assert process.returncode == 0
    assert SECRET not in first_line + out + err
