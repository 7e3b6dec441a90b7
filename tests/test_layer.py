"""The dependencies layer is trimmed to what the function imports, and nothing it imports is
missing: layers/deps/Makefile builds it, then an isolated interpreter whose import path is only
the function's code, the layer and what the python3.13 runtime ships (boto3 and its
dependencies) imports every module the code names and handles real requests with every optional
path on (the secret from Secrets Manager, the idempotency table, X-Ray tracing)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import boto3
import pytest

from bench.layout import RUNTIME_PACKAGES
from localcfn import ResponseServer
from spacelift_emulator import Emulator
from tests.conftest import API_KEY_ID, API_KEY_SECRET, ROLE_ARN, event

ROOT = Path(__file__).parent.parent
SRC = ROOT / "src"
OWN = {"app", "spacelift_cfn"}


@pytest.fixture(scope="session")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layer as `sam build` makes it (the same Makefile target), in a scratch directory."""
    artifacts = tmp_path_factory.mktemp("layer")
    built = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "build-DependenciesLayer",
            f"ARTIFACTS_DIR={artifacts}",
            f"PYTHON={sys.executable}",
        ],
        cwd=ROOT / "layers" / "deps",
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return artifacts / "python"


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the python3.13 runtime provides beyond the standard library (boto3 and its dependencies)."""
    directory = tmp_path_factory.mktemp("runtime")
    site_packages = Path(boto3.__file__).resolve().parent.parent
    for name in RUNTIME_PACKAGES:
        (directory / name).symlink_to(site_packages / name)
    return directory


def imported_names() -> list[str]:
    """Every module the function's code names in an import, at module level or inside a function
    (lazy imports included), except its own and the standard library's."""
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return sorted(n for n in names if n.split(".")[0] not in OWN | set(sys.stdlib_module_names))


def run_isolated(
    layer: Path, runtime: Path, script: str, environment: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``script`` in an interpreter that sees only the function, the layer, the runtime and the stdlib."""
    path = [str(SRC), str(layer), str(runtime)]
    code = f"import sys\nsys.path[:0] = {path!r}\nsys.dont_write_bytecode = True\n" + textwrap.dedent(script)
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def missing_modules(layer: Path, runtime: Path) -> list[str]:
    """The modules the code names that the isolated interpreter cannot import (or import from
    outside the function, the layer, the runtime and the standard library)."""
    script = f"""
        import importlib, json, sys
        allowed = tuple(sys.path[:3]) + (sys.base_prefix,)
        missing = []
        for name in {imported_names()!r}:
            try:
                importlib.import_module(name)
            except ImportError:
                module, _, attribute = name.rpartition(".")
                try:  # `from package import name` where name is not a module
                    getattr(importlib.import_module(module), attribute)
                except (ImportError, AttributeError):
                    missing.append(name)
        strays = [
            name for name, module in list(sys.modules.items())
            if getattr(module, "__file__", None) and not module.__file__.startswith(allowed)
        ]
        print(json.dumps(missing + strays))
        """
    ran = run_isolated(layer, runtime, script, {})
    assert ran.returncode == 0, ran.stderr
    missing: list[str] = json.loads(ran.stdout.splitlines()[-1])
    return missing


def test_every_module_the_code_names_imports_from_the_layer(layer: Path, runtime: Path) -> None:
    names = imported_names()
    assert {"aws_lambda_powertools", "crhelper.resource_helper", "requests"} <= set(names)
    assert "aws_lambda_powertools.utilities.idempotency" in names  # lazy imports are found too
    assert missing_modules(layer, runtime) == []


def test_a_module_trimmed_by_mistake_is_caught(layer: Path, runtime: Path, tmp_path: Path) -> None:
    sabotaged = tmp_path / "python"
    shutil.copytree(layer, sabotaged, symlinks=True)
    shutil.rmtree(sabotaged / "aws_lambda_powertools" / "utilities" / "parameters")

    assert "aws_lambda_powertools.utilities.parameters" in missing_modules(sabotaged, runtime)


def test_the_unused_powertools_packages_are_gone(layer: Path) -> None:
    powertools = layer / "aws_lambda_powertools"
    packages = {p.name for p in powertools.iterdir() if p.is_dir() and p.name != "__pycache__"}
    utilities = {
        p.name for p in (powertools / "utilities").iterdir() if p.is_dir() and p.name != "__pycache__"
    }

    assert "event_handler" not in packages and {"logging", "metrics", "tracing"} <= packages
    assert utilities == {"idempotency", "jmespath_utils", "parameters", "typing"}
    assert not {"boto3", "botocore", "dateutil", "six.py", "s3transfer"} & {p.name for p in layer.iterdir()}


def test_requests_with_every_option_on_succeed_from_the_layer_alone(
    layer: Path,
    runtime: Path,
    emulator: Emulator,
    responses: ResponseServer,
    aws: dict[str, str],
) -> None:
    """Secret from Secrets Manager, the idempotency table and X-Ray tracing: the paths whose
    imports are lazy. A missing module would answer FAILED (or not start at all)."""
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name=f"spacelift/{uuid.uuid4()}", SecretString=API_KEY_SECRET)["ARN"]
    table = f"idempotency-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    create = event(
        "Create", {"Name": "layer", "RoleArn": ROLE_ARN, "ExternalIdsFor": [{"StackId": "my-stack-id"}]}
    )
    create["ResponseURL"] = responses.url(create["RequestId"])
    script = f"""
        import app

        class Context:
            function_name = "spacelift-cfn-provider"
            memory_limit_in_mb = 128
            invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:spacelift-cfn-provider"
            aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
            log_group_name = "/aws/lambda/spacelift-cfn-provider"
            log_stream_name = "2026/12/02/[$LATEST]layer"

            def get_remaining_time_in_millis(self):
                return 60000

        app.handler({create!r}, Context())
        app.handler({create!r}, Context())  # a redelivery: replayed from the table
        """
    environment = {
        **aws,
        "SPACELIFT_API_KEY_ENDPOINT": emulator.url,
        "SPACELIFT_API_KEY_ID": API_KEY_ID,
        "SPACELIFT_API_KEY_SECRET_ARN": arn,
        "IDEMPOTENCY_TABLE": table,
        "POWERTOOLS_TRACE_DISABLED": "false",
        "LAMBDA_TASK_ROOT": str(SRC),
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    }
    ran = run_isolated(layer, runtime, script, environment)

    assert ran.returncode == 0, ran.stderr[-3000:]
    answers = responses.for_request(create["RequestId"])
    assert [a.status for a in answers] == ["SUCCESS", "SUCCESS"], [a.reason for a in answers]
    assert emulator.request_count("awsIntegrationCreate") == 1
    assert "ModuleNotFoundError" not in ran.stdout + ran.stderr
