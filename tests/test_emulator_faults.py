"""The Spacelift emulator over HTTP: every fault switch (latency, 5xx before or after applying,
429 and rate limits, malformed answers, hangs) and the reset that disarms them.

Shared with the other tests/test_emulator_*.py files: the client, the provider's query texts and
the fixtures, in tests/emulator_client.py.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from spacelift_emulator import Emulator
from tests.emulator_client import (
    FIXTURES,
    PROVIDER_CREATE,
    PROVIDER_READ,
    Client,
    messages,
    provider_variables,
)

# A fresh emulator per test, and a client of it without and with a token (tests/emulator_client.py).
emulator, anonymous, client = FIXTURES


def test_latency_delays_every_request(emulator: Emulator, client: Client) -> None:
    emulator.faults.latency = 0.15
    started = time.monotonic()
    client.data("{ name }")

    assert time.monotonic() - started >= 0.15


def test_fail_next_answers_5xx_without_executing(emulator: Emulator, client: Client) -> None:
    emulator.faults.fail_next(2, status=502, body="bad gateway")

    for _ in range(2):
        response = client.post(PROVIDER_CREATE, provider_variables("never"))
        assert (response.status_code, response.text) == (502, "bad gateway")
    assert emulator.integrations == {}
    assert client.create("now")["name"] == "now"
    assert [r.fault for r in emulator.requests[-3:]] == ["fail", "fail", None]


def test_faults_can_target_one_root_field(emulator: Emulator, client: Client) -> None:
    emulator.faults.fail_next(1, field="awsIntegrationCreate")

    assert client.post("{ name }").status_code == 200
    assert client.post(PROVIDER_CREATE, provider_variables("x")).status_code == 503
    assert client.post(PROVIDER_CREATE, provider_variables("x")).status_code == 200


def test_fail_after_apply_applies_the_mutation_then_answers_5xx(emulator: Emulator, client: Client) -> None:
    emulator.faults.fail_after_apply_next(1, field="awsIntegrationCreate")

    response = client.post(PROVIDER_CREATE, provider_variables("applied"))

    assert response.status_code == 503
    assert [i.name for i in emulator.integrations.values()] == ["applied"]
    retry = client.gql(PROVIDER_CREATE, provider_variables("applied"))
    assert "already exists" in messages(retry)[0]


def test_throttle_next_answers_429_with_retry_after(emulator: Emulator, client: Client) -> None:
    emulator.faults.throttle_next(1, retry_after=7)
    emulator.faults.throttle_next(1, retry_after=None)

    first, second, third = (client.post("{ name }") for _ in range(3))

    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert second.status_code == 429 and "Retry-After" not in second.headers
    assert third.status_code == 200


def test_rate_limit_answers_429_beyond_the_rate(emulator: Emulator, client: Client) -> None:
    emulator.faults.rate_limit(4)

    statuses = [client.post("{ name }") for _ in range(8)]
    limited = [r for r in statuses if r.status_code == 429]

    assert [r.status_code for r in statuses[:4]] == [200] * 4
    assert len(limited) >= 3 and all(int(r.headers["Retry-After"]) >= 1 for r in limited)
    emulator.faults.rate_limit(None)
    assert client.post("{ name }").status_code == 200


def test_malformed_next_answers_200_with_invalid_json(emulator: Emulator, client: Client) -> None:
    emulator.faults.malformed_next(1)

    response = client.post(PROVIDER_CREATE, provider_variables("malformed"))

    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.text)
    assert emulator.integrations == {}


def test_hang_next_executes_then_stalls_past_the_client_timeout(emulator: Emulator, client: Client) -> None:
    emulator.faults.hang_next(1, seconds=2, field="awsIntegrationCreate")

    with pytest.raises(requests.exceptions.ReadTimeout):
        client.post(PROVIDER_CREATE, provider_variables("slow"), timeout=0.3)

    assert [i.name for i in emulator.integrations.values()] == ["slow"]
    assert client.data("{ name }") == {"name": "acme"}


def test_faults_reset_disarms_everything(emulator: Emulator, client: Client) -> None:
    faults = emulator.faults
    faults.latency = 5
    faults.fail_next(-1)
    faults.throttle_next(-1)
    faults.malformed_next(-1)
    faults.rate_limit(0.001, burst=1)
    faults.not_found_style = "error"
    faults.trust_failures(-1)

    faults.reset()

    integration_id = client.create()["id"]
    assert "errors" not in client.attach(integration_id, "stack-a")
    assert client.gql(PROVIDER_READ, {"id": "01HXGONE000000000000000000"}) == {
        "data": {"awsIntegration": None}
    }
    with pytest.raises(ValueError, match="n must be"):
        faults.fail_next(-2)
