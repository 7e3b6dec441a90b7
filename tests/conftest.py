"""Shared fixtures: the Spacelift emulator over HTTP, the response capture
server, and the provider function invoked the way CloudFormation invokes it."""

from __future__ import annotations

import io
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localcfn import LocalFunction, ResponseServer
from spacelift_cfn import handler
from spacelift_cfn.resources import external_ids
from spacelift_emulator import Emulator, IntegrationSettings
from tests import tally

API_KEY_ID = "01HXKEYAAAAAAAAAAAAAAAAAAA"
API_KEY_SECRET = "s3cr3t-api-key-value-4b1d"
ACCOUNT_NAME = "acme"
SPACELIFT_AWS_ACCOUNT = "324880187172"
ROLE_ARN = "arn:aws:iam::123456789012:role/my_role"
STACK_ID = (
    "arn:aws:cloudformation:eu-west-1:123456789012:stack/platform-roles/5b6c7d80-c9a1-11ef-9f2a-0a1b2c3d4e5f"
)
SERVICE_TOKEN = "arn:aws:lambda:eu-west-1:123456789012:function:spacelift-cfn-provider"
INTEGRATION = "Custom::SpaceliftAwsIntegration"
ATTACHMENT = "Custom::SpaceliftAwsIntegrationAttachment"
EXTERNAL_ID = "Custom::SpaceliftAwsIntegrationExternalId"


#: A space the stacks do not see (integrations there cannot be attached until adopted into root).
LEGACY_SPACE = "legacy"
#: Integrations made in the UI before the stack: every setting unlike the stack's defaults.
MADE_IN_UI = (
    IntegrationSettings(
        name="legacy-ci",
        role_arn="arn:aws:iam::123456789012:role/legacy-ci",
        labels=("team-data", "autoattach:data"),
        duration_seconds=3600,
        region="eu-west-1",
        autoattach_enabled=True,
        external_id="custom-external-id",
    ),
    IntegrationSettings(
        name="legacy-deploy",
        role_arn="arn:aws-us-gov:iam::123456789012:role/path/legacy-deploy",
        labels=("env-prod",),
        duration_seconds=7200,
        space=LEGACY_SPACE,
        generate_credentials_in_worker=True,
        tag_assume_role=True,
    ),
)


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[Emulator]:
    emulator = Emulator(
        api_keys={API_KEY_ID: API_KEY_SECRET}, account_name=ACCOUNT_NAME, aws_account_id=SPACELIFT_AWS_ACCOUNT
    )
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def emulator(emulator_server: Emulator) -> Iterator[Emulator]:
    """A clean emulator with the stacks and module the examples name."""
    emulator_server.reset()
    for stack in ("my-stack-id", "my-other-stack-id"):
        emulator_server.add_stack(stack)
    emulator_server.add_module("my-module-id")
    yield emulator_server
    tally.add("Spacelift faults injected", sum(1 for r in emulator_server.requests if r.fault))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the run's counts into docs/reliability.md after a full, green run."""
    if exitstatus != 0 or not {"hostile inputs tried", "duplicates delivered"} <= tally.counts.keys():
        return
    if not ran_every_test(session.config):  # a tier (make test-fast), -k, or some files: partial counts
        return
    rows = "\n".join(f"| {name} | {count} |" for name, count in sorted(tally.counts.items()))
    block = f"| What | Count |\n|---|---|\n{rows}\n"
    path = Path(__file__).parent.parent / "docs" / "reliability.md"
    if not path.exists():
        return
    text = path.read_text()
    start, end = "<!-- counts:start -->\n", "<!-- counts:end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        path.write_text(head + start + block + end + rest.split(end, 1)[1])


@pytest.fixture(scope="session")
def response_server() -> Iterator[ResponseServer]:
    server = ResponseServer().start()
    yield server
    server.stop()


@pytest.fixture
def responses(response_server: ResponseServer) -> ResponseServer:
    response_server.responses.clear()
    response_server.status_codes.clear()
    response_server.attempts.clear()
    return response_server


@pytest.fixture
def environment(emulator: Emulator) -> dict[str, str]:
    return {
        "SPACELIFT_API_KEY_ENDPOINT": emulator.url,
        "SPACELIFT_API_KEY_ID": API_KEY_ID,
        "SPACELIFT_API_KEY_SECRET": API_KEY_SECRET,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


@pytest.fixture
def function(
    responses: ResponseServer, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> LocalFunction:
    """The provider in a fresh ("cold") container."""
    for name in ("SPACELIFT_API_KEY_SECRET", "SPACELIFT_API_KEY_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    cold_container()
    return LocalFunction(responses, environment)


@pytest.fixture
def integration_id(function: LocalFunction) -> str:
    """An integration the tests attach, made through the provider."""
    return function(event("Create", {"Name": "my_role", "RoleArn": ROLE_ARN})).physical_id


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """What the provider's Powertools Logger writes (its JSON lines)."""
    buffer = io.StringIO()
    stream_handler = handler.logger.registered_handler
    original = stream_handler.setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    stream_handler.setStream(original)  # type: ignore[attr-defined]


def cold_container() -> None:
    """Forget what a warm container keeps: clients, tokens, account facts."""
    handler._clients.clear()
    external_ids._accounts.clear()


def event(
    request_type: str,
    properties: dict[str, Any],
    *,
    resource_type: str = INTEGRATION,
    logical_id: str = "SpaceliftIntegration",
    physical_id: str | None = None,
    old: dict[str, Any] | None = None,
    stack_id: str = STACK_ID,
) -> dict[str, Any]:
    """A CloudFormation event as it arrives (properties as given: stringify them first for realism)."""
    built: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": SERVICE_TOKEN,
        "ResponseURL": "https://example.invalid/replaced-by-LocalFunction",
        "StackId": stack_id,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": {"ServiceToken": SERVICE_TOKEN, **properties},
    }
    if physical_id is not None:
        built["PhysicalResourceId"] = physical_id
    if old is not None:
        built["OldResourceProperties"] = {"ServiceToken": SERVICE_TOKEN, **old}
    return built


#: The ``checkov`` fixture: scan one template, with extra options.
Checkov = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def checkov() -> Checkov:
    """checkov in its own virtualenv (it pins boto3 below the main environment's), made by make:
    ``checkov(template, *options)`` scans one CloudFormation template.

    It runs in the template's folder on the bare file name. checkov adds each file's path to the
    properties it checks, and CKV_AWS_45 then reads that path as a Lambda environment variable:
    a path that happens to hold 40 characters of ``[A-Za-z0-9/+=]`` in a row looks like an AWS
    secret key to it, so a scan by absolute path passed or failed with the clone's folder.
    """
    root = Path(__file__).parent.parent
    made = subprocess.run(
        ["make", "--no-print-directory", ".venv-checkov/.installed"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    executable = root / ".venv-checkov" / "bin" / "checkov"
    assert executable.exists()

    def scan(template: Path, *options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(executable), "-f", template.name, "--framework", "cloudformation", *options],
            cwd=template.parent,
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
            capture_output=True,
            text=True,
            check=False,
        )

    return scan


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server on loopback: a real AWS API endpoint (Secrets Manager, IAM, DynamoDB)."""
    import os
    import socket

    from moto.server import ThreadedMotoServer

    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # PowerUserAccess and friends

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The standard AWS environment pointing boto3 (and Powertools) at moto's server."""
    environment = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    from spacelift_cfn.settings import secrets_provider

    secrets_provider.cache_clear()  # a new client (on moto) and an empty secret cache
    return environment


@pytest.fixture
def table(aws: dict[str, str], function: LocalFunction, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh idempotency table shaped like template.yaml's, named in the function's environment."""
    import time

    import boto3

    name = f"idempotency-{time.monotonic_ns()}"
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("IDEMPOTENCY_TABLE", name)
    function.environment = {**function.environment, **aws, "IDEMPOTENCY_TABLE": name}
    return name


@pytest.fixture
def iam(aws: dict[str, str]) -> Any:
    """IAM on moto's server, with no roles left over from earlier tests."""
    import boto3

    client = boto3.client("iam")
    for role in client.list_roles()["Roles"]:
        for policy in client.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]:
            client.detach_role_policy(RoleName=role["RoleName"], PolicyArn=policy["PolicyArn"])
        client.delete_role(RoleName=role["RoleName"])
    return client


# ------------------------------------------------------------------------- test tiers

#: Every test file's tier, a marker registered in pyproject.toml, then any further marker:
#:
#: * ``unit``: no network and no server; reads the code, the docs and the repository.
#: * ``functional``: the provider (or the emulator itself) against the Spacelift emulator, the
#:   response capture server and moto, in-process over loopback.
#: * ``packaging``: what ships, checked or built: cfn-lint, ``sam validate``/``sam build``, checkov,
#:   CDK synthesis, the StackSets templates, the benchmark's quick run, and the docs and example
#:   tests that run cfn-lint.
#: * ``slow``: the functional files ``make test-fast`` leaves out to stay under 30 seconds: they
#:   wait out real deadlines, Retry-After and redeliveries, or play whole stacks.
#:
#: A file mixing tiers takes the slower one (test_docs.py renders tables, runs the handler and
#: cfn-lint: packaging). A test file missing here fails the run (pytest_collection_modifyitems).
TIERS: dict[str, tuple[str, ...]] = {
    "test_architecture.py": ("unit",),
    "test_reliability_doc.py": ("unit",),
    "test_repository.py": ("unit",),
    "test_troubleshooting_doc.py": ("unit",),
    "test_adoption.py": ("functional",),
    "test_api_unknowns.py": ("functional",),
    "test_attachment.py": ("functional",),
    "test_bad_input.py": ("functional",),
    "test_emulator_attachments.py": ("functional",),
    "test_emulator_auth.py": ("functional",),
    "test_emulator_external_ids.py": ("functional",),
    "test_emulator_faults.py": ("functional",),
    "test_emulator_integrations.py": ("functional",),
    "test_emulator_not_found.py": ("functional",),
    "test_emulator_recording.py": ("functional",),
    "test_emulator_roles.py": ("functional",),
    "test_emulator_transport.py": ("functional",),
    "test_events.py": ("functional",),
    "test_exactly_once.py": ("functional",),
    "test_hostile_input.py": ("functional",),
    "test_integration.py": ("functional",),
    "test_lookup.py": ("functional",),
    "test_misconfiguration.py": ("functional",),
    "test_observability.py": ("functional",),
    "test_ownership.py": ("functional",),
    "test_responder.py": ("functional",),
    "test_secrets.py": ("functional",),
    "test_settings.py": ("functional",),
    "test_update_requires.py": ("functional",),
    "test_adoption_rollbacks.py": ("functional", "slow"),
    "test_faults.py": ("functional", "slow"),
    "test_lifecycle.py": ("functional", "slow"),
    "test_rollback_cases.py": ("functional", "slow"),
    "test_stack_state_machine.py": ("functional", "slow"),
    "test_bench.py": ("packaging",),
    "test_cdk.py": ("packaging",),
    "test_cdk_sync.py": ("packaging",),
    "test_docs.py": ("packaging",),
    "test_example_stack.py": ("packaging",),
    "test_layer.py": ("packaging",),
    "test_organizations.py": ("packaging",),
    "test_release.py": ("packaging",),
    "test_template.py": ("packaging",),
}
TIER_MARKERS = {"unit", "functional", "packaging"}
FURTHER_MARKERS = {"slow"}
TESTS = Path(__file__).parent

_collected_files = pytest.StashKey[set[str]]()
_deselected = pytest.StashKey[int]()


def tier_problems() -> list[str]:
    """What is wrong with TIERS against the test files on disk (an empty list when nothing is)."""
    on_disk = {path.relative_to(TESTS).as_posix() for path in TESTS.rglob("test_*.py")}
    problems = [
        f"{name}: no tier; add it to TIERS in tests/conftest.py" for name in sorted(on_disk - TIERS.keys())
    ]
    problems += [f"{name}: in TIERS but no such file" for name in sorted(TIERS.keys() - on_disk)]
    for name, markers in sorted(TIERS.items()):
        if not markers or markers[0] not in TIER_MARKERS or not set(markers[1:]) <= FURTHER_MARKERS:
            problems.append(
                f"{name}: {markers} is not one of {sorted(TIER_MARKERS)} then any of {sorted(FURTHER_MARKERS)}"
            )
    return problems


@pytest.hookimpl(tryfirst=True)  # before pytest's own, which deselects by -m
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its file's tier and further markers from TIERS; fail the run if a test
    file has no tier (or TIERS names a file that is gone)."""
    problems = tier_problems()
    if problems:
        raise pytest.UsageError("test tiers:\n  " + "\n  ".join(problems))
    files = config.stash.setdefault(_collected_files, set())
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        name = item.path.relative_to(TESTS).as_posix()
        files.add(name)
        for marker in TIERS[name]:
            item.add_marker(marker)


def pytest_deselected(items: list[pytest.Item]) -> None:
    if items:
        config = items[0].config
        config.stash[_deselected] = config.stash.get(_deselected, 0) + len(items)


def ran_every_test(config: pytest.Config) -> bool:
    """Whether this run collected every test file and deselected nothing (no -m, -k, --lf)."""
    return config.stash.get(_collected_files, set()) >= TIERS.keys() and not config.stash.get(_deselected, 0)
