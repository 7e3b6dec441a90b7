"""The SAM template: static checks, the build, and the contract other parts rely on.

Runs cfn-lint, ``sam validate --lint``, ``sam build`` (once per session, into a
temporary directory) and checkov (in its own virtualenv, made by ``make`` when
missing). Everything runs offline except pip, which fetches the layer's wheels.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from tests.conftest import Checkov

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
# The virtualenv running the tests: it has sam, cfn-lint and the python3.13
# that sam build and the Makefiles need.
VENV_BIN = Path(sys.executable).parent

# sam build downloads wheels and checkov may need its virtualenv made first.
SLOW = pytest.mark.timeout(900)

FUNCTION = "ProviderFunction"
ENVIRONMENT = {
    "SPACELIFT_API_KEY_ENDPOINT": {"Ref": "SpaceliftApiKeyEndpoint"},
    "SPACELIFT_API_KEY_ID": {"Ref": "SpaceliftApiKeyId"},
    "SPACELIFT_API_KEY_SECRET_ARN": {"Ref": "SpaceliftApiKeySecretArn"},
    "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
    "POWERTOOLS_SERVICE_NAME": "spacelift-cfn",
    "POWERTOOLS_LOG_LEVEL": {"Ref": "LogLevel"},
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "POWERTOOLS_METRICS_NAMESPACE": "SpaceliftCfn",
    "POWERTOOLS_TRACE_DISABLED": {"Fn::If": ["TracingActive", "false", "true"]},
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    env["SAM_CLI_TELEMETRY"] = "0"
    return env


def _run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def _assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"{' '.join(result.args)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
    )


def _plain(node: Any) -> Any:
    """cfn-lint's YAML nodes as plain dicts, lists and scalars."""
    return json.loads(json.dumps(node))


def _get_att(value: Any) -> list[str] | None:
    """``[resource, attribute]`` of a Fn::GetAtt, in either of its forms."""
    if not isinstance(value, dict) or set(value) != {"Fn::GetAtt"}:
        return None
    target = value["Fn::GetAtt"]
    return target.split(".", 1) if isinstance(target, str) else list(target)


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = _plain(cfn_yaml.load(str(TEMPLATE)))
    return loaded


@pytest.fixture(scope="session")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"]
    return found


@pytest.fixture(scope="session")
def function_props(resources: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = resources[FUNCTION]["Properties"]
    return props


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``sam build`` into a temporary directory, once per session."""
    work = tmp_path_factory.mktemp("sam")
    build_dir = work / "build"
    result = _run(
        VENV_BIN / "sam",
        "build",
        "--template-file",
        TEMPLATE,
        "--build-dir",
        build_dir,
        "--cache-dir",
        work / "cache",
        "--no-cached",
    )
    _assert_ok(result)
    return build_dir


# ---------------------------------------------------------------- static checks


@SLOW
def test_cfn_lint_passes() -> None:
    _assert_ok(_run(VENV_BIN / "cfn-lint", TEMPLATE))


@SLOW
def test_sam_validate_lint_passes() -> None:
    _assert_ok(_run(VENV_BIN / "sam", "validate", "--lint", "--template-file", TEMPLATE))


@SLOW
def test_checkov_passes(checkov: Checkov) -> None:
    _assert_ok(checkov(TEMPLATE, "--quiet", "--compact"))


@SLOW
def test_checkov_skips_are_all_explained(checkov: Checkov) -> None:
    result = checkov(TEMPLATE, "-o", "json")
    _assert_ok(result)
    report = json.loads(result.stdout)
    skipped = report["results"]["skipped_checks"]
    assert report["summary"]["failed"] == 0
    for check in skipped:
        comment = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert comment.strip(), f"{check['check_id']} on {check['resource']} is skipped silently"


def test_every_checkov_skip_in_the_template_has_a_reason(resources: dict[str, Any]) -> None:
    for name, resource in resources.items():
        skips = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        for skip in skips:
            assert re.fullmatch(r"CKV2?_AWS_[0-9]+", skip.get("id", "")), (name, skip)
            assert len(str(skip.get("comment", "")).strip()) > 20, (name, skip)


# ----------------------------------------------------------------------- build


@SLOW
def test_build_outputs_the_function_code(built: Path) -> None:
    code = built / FUNCTION
    assert (code / "app.py").is_file()
    assert (code / "spacelift_cfn" / "__init__.py").is_file()
    assert not (code / "Makefile").exists()
    tag = sys.implementation.cache_tag
    assert tag == "cpython-313"
    assert (code / "__pycache__" / f"app.{tag}.pyc").is_file()
    assert (code / "spacelift_cfn" / "__pycache__" / f"__init__.{tag}.pyc").is_file()
    # Dependencies come from the layer, never from the function's own zip.
    assert not (code / "requests").exists()
    assert not (code / "aws_lambda_powertools").exists()


@SLOW
def test_build_outputs_the_dependencies_layer(built: Path) -> None:
    site = built / "DependenciesLayer" / "python"
    for package in ("requests", "crhelper", "aws_lambda_powertools"):
        assert (site / package / "__init__.py").is_file(), package
        assert (site / package / "__pycache__" / "__init__.cpython-313.pyc").is_file(), package
    # The runtime ships boto3; a second copy would only grow the layer.
    for package in ("boto3", "botocore", "s3transfer"):
        assert not (site / package).exists(), package
    assert not (site / "bin").exists()
    assert not list(site.rglob("*.pyi"))


@SLOW
def test_layer_binaries_are_for_arm64(built: Path) -> None:
    libraries = list((built / "DependenciesLayer").rglob("*.so"))
    assert libraries, "expected compiled extensions (charset_normalizer)"
    for library in libraries:
        assert "x86_64" not in library.name, library
        assert "aarch64" in library.name or "abi3" in library.name, library


@SLOW
def test_bytecode_matches_the_runtime_and_skips_the_mtime_check(built: Path) -> None:
    pycs = [*built.glob("*/**/__pycache__/*.pyc")]
    assert len(pycs) > 100
    for pyc in pycs:
        assert pyc.name.endswith(".cpython-313.pyc"), pyc
        header = pyc.read_bytes()[:8]
        # The magic number of the interpreter that compiled it: Python 3.13's.
        assert header[:4] == importlib.util.MAGIC_NUMBER, pyc
        # PEP 552 flags: 0b01 = hash-based and never checked against the source.
        assert int.from_bytes(header[4:8], "little") == 0b01, pyc


@SLOW
def test_built_template_points_at_the_build_output(built: Path) -> None:
    built_template = _plain(cfn_yaml.load(str(built / "template.yaml")))
    built_resources = built_template["Resources"]
    assert built_resources[FUNCTION]["Properties"]["CodeUri"] == FUNCTION
    assert built_resources["DependenciesLayer"]["Properties"]["ContentUri"] == "DependenciesLayer"


def test_layer_makefile_refuses_a_python_other_than_3_13(tmp_path: Path) -> None:
    result = _run(
        "make",
        "--no-print-directory",
        "-C",
        ROOT / "layers" / "deps",
        "build-DependenciesLayer",
        "PYTHON=false",
        f"ARTIFACTS_DIR={tmp_path}",
    )
    assert result.returncode != 0
    assert "is not Python 3.13" in result.stderr
    assert not list(tmp_path.iterdir())


# -------------------------------------------------------------------- contract


def test_template_uses_the_sam_transform(template: dict[str, Any]) -> None:
    assert template["Transform"] == "AWS::Serverless-2016-10-31"


def test_one_function_serves_every_resource_type(
    resources: dict[str, Any], function_props: dict[str, Any]
) -> None:
    functions = [
        name
        for name, resource in resources.items()
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function")
    ]
    assert functions == [FUNCTION]
    assert function_props["FunctionName"] == {"Ref": "FunctionName"}
    assert function_props["Handler"] == "app.handler"
    assert function_props["Runtime"] == "python3.13"
    assert function_props["Architectures"] == ["arm64"]
    assert function_props["MemorySize"] == 128
    assert 60 <= function_props["Timeout"] <= 300
    assert resources[FUNCTION]["Metadata"]["BuildMethod"] == "makefile"


def test_code_uri_holds_the_handler(function_props: dict[str, Any]) -> None:
    code_uri = function_props["CodeUri"]
    assert isinstance(code_uri, str)
    assert code_uri.rstrip("/") == "src"
    module, name = function_props["Handler"].rsplit(".", 1)
    source = ROOT / code_uri / f"{module}.py"
    assert source.is_file()
    assert re.search(rf"^def {name}\(", source.read_text(), re.MULTILINE)
    assert (ROOT / code_uri / "Makefile").is_file()


def test_layer_holds_the_requirements(resources: dict[str, Any], function_props: dict[str, Any]) -> None:
    layers = function_props["Layers"]
    assert len(layers) == 1
    layer_id = layers[0]["Ref"]
    layer = resources[layer_id]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    props = layer["Properties"]
    content = props["ContentUri"]
    assert isinstance(content, str)
    assert content.startswith("layers/")
    assert (ROOT / content / "requirements.txt").is_file()
    assert (ROOT / content / "Makefile").is_file()
    assert props["CompatibleRuntimes"] == [function_props["Runtime"]]
    assert props["CompatibleArchitectures"] == function_props["Architectures"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}


def test_layer_requirements_leave_boto3_to_the_runtime() -> None:
    lines = (ROOT / "layers" / "deps" / "requirements.txt").read_text().splitlines()
    requirements = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    names = {re.split(r"[=<>~!\[; ]", line)[0].lower() for line in requirements}
    assert {"aws-lambda-powertools", "crhelper", "requests"} <= names
    assert not {"boto3", "botocore"} & names
    # Pinned, so that every build ships the same code.
    assert all("==" in line for line in requirements), requirements


def test_environment(function_props: dict[str, Any]) -> None:
    assert function_props["Environment"]["Variables"] == ENVIRONMENT


def test_tracing_follows_its_parameter_with_write_access_only_when_on(
    function_props: dict[str, Any], resources: dict[str, Any]
) -> None:
    assert function_props["Tracing"] == {"Ref": "Tracing"}
    statements = resources["ProviderFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (traces,) = [s["Fn::If"] for s in statements if "Fn::If" in s and s["Fn::If"][0] == "TracingActive"]
    assert traces[1]["Action"] == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    assert traces[2] == {"Ref": "AWS::NoValue"}


def test_async_retries_stop_once_cloudformation_has_given_up(function_props: dict[str, Any]) -> None:
    config = function_props["EventInvokeConfig"]
    # Lambda's retries are kept: a crashed container gets another go...
    assert config["MaximumRetryAttempts"] > 0
    # ...but a retry of a timed-out attempt (a minute after the timeout) is
    # dropped: CloudFormation (ServiceTimeout ~150 s) no longer waits for it.
    assert 60 <= config["MaximumEventAgeInSeconds"] < function_props["Timeout"] + 60


def test_logs_go_to_an_explicit_log_group(resources: dict[str, Any], function_props: dict[str, Any]) -> None:
    group = resources["ProviderLogGroup"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${FunctionName}"}
    assert group["Properties"]["RetentionInDays"] > 0
    logging = function_props["LoggingConfig"]
    assert logging["LogGroup"] == {"Ref": "ProviderLogGroup"}
    assert logging["LogFormat"] == "JSON"
    # Lambda's AWS_LAMBDA_LOG_LEVEL overrides POWERTOOLS_LOG_LEVEL: same source.
    assert logging["ApplicationLogLevel"] == {"Ref": "LogLevel"}


def test_idempotency_table(resources: dict[str, Any]) -> None:
    table = resources["IdempotencyTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True


def _statements(role: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Every statement of the role's inline policies, with its Fn::If condition."""
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                condition, when_true, when_false = statement["Fn::If"]
                for branch in (when_true, when_false):
                    if branch != {"Ref": "AWS::NoValue"}:
                        yield branch, condition
            else:
                yield statement, None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_role_has_least_privilege(resources: dict[str, Any], function_props: dict[str, Any]) -> None:
    # An explicit role: SAM's default one would add AWSLambdaBasicExecutionRole.
    assert "Policies" not in function_props
    assert _get_att(function_props["Role"]) == ["ProviderFunctionRole", "Arn"]
    role = resources["ProviderFunctionRole"]
    assert role["Type"] == "AWS::IAM::Role"
    assert "ManagedPolicyArns" not in role["Properties"]
    assert "PermissionsBoundary" not in role["Properties"]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    # Other IAM resources would widen the function's rights behind this test's back.
    iam = [r["Type"] for r in resources.values() if r["Type"].startswith("AWS::IAM::")]
    assert iam == ["AWS::IAM::Role"]

    expected: dict[str, tuple[Any, str | None]] = {
        "logs:CreateLogStream": (["ProviderLogGroup", "Arn"], None),
        "logs:PutLogEvents": (["ProviderLogGroup", "Arn"], None),
        "secretsmanager:GetSecretValue": ({"Ref": "SpaceliftApiKeySecretArn"}, None),
        "dynamodb:GetItem": (["IdempotencyTable", "Arn"], None),
        "dynamodb:PutItem": (["IdempotencyTable", "Arn"], None),
        "dynamodb:UpdateItem": (["IdempotencyTable", "Arn"], None),
        "dynamodb:DeleteItem": (["IdempotencyTable", "Arn"], None),
        "kms:Decrypt": ({"Ref": "SpaceliftApiKeySecretKmsKeyArn"}, "HasSecretKmsKey"),
        "xray:PutTraceSegments": ("*", "TracingActive"),
        "xray:PutTelemetryRecords": ("*", "TracingActive"),
    }
    granted: dict[str, tuple[Any, str | None]] = {}
    for statement, condition in _statements(role):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        resource_list = _as_list(statement["Resource"])
        assert len(resource_list) == 1, statement
        resource = resource_list[0]
        if set(_as_list(statement["Action"])) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}:
            # No resource-level permissions exist for them (Service Authorization Reference, X-Ray).
            assert (resource, condition) == ("*", "TracingActive"), statement
        else:
            assert "*" not in json.dumps(resource), statement
        for action in _as_list(statement["Action"]):
            assert "*" not in action, statement
            assert action not in granted, f"{action} granted twice"
            granted[action] = (_get_att(resource) or resource, condition)
    assert granted == expected


def test_kms_decrypt_only_through_secrets_manager(template: dict[str, Any]) -> None:
    statements = [s for s, _ in _statements(template["Resources"]["ProviderFunctionRole"])]
    (kms,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert kms["Condition"] == {
        "StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}
    }
    condition = template["Conditions"]["HasSecretKmsKey"]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "SpaceliftApiKeySecretKmsKeyArn"}, ""]}]}


def test_outputs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    token = outputs["ServiceToken"]
    assert _get_att(token["Value"]) == [FUNCTION, "Arn"]
    # ServiceTokenExportName names the export; left empty, it is <stack name>-ServiceToken as it
    # always was, so that an existing stack's export (imported by other stacks) stays the same.
    assert token["Export"] == {
        "Name": {
            "Fn::If": [
                "HasServiceTokenExportName",
                {"Ref": "ServiceTokenExportName"},
                {"Fn::Sub": "${AWS::StackName}-ServiceToken"},
            ]
        }
    }
    assert template["Conditions"]["HasServiceTokenExportName"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ServiceTokenExportName"}, ""]}]
    }
    assert template["Parameters"]["ServiceTokenExportName"]["Default"] == ""
    assert outputs["IdempotencyTableName"]["Value"] == {"Ref": "IdempotencyTable"}
    assert outputs["DependenciesLayerArn"]["Value"] == {"Ref": "DependenciesLayer"}


PARAMETER_CASES: list[tuple[str, str, bool]] = [
    ("SpaceliftApiKeyEndpoint", "https://acme.app.spacelift.io", True),
    ("SpaceliftApiKeyEndpoint", "https://acme.app.spacelift.io/", True),
    ("SpaceliftApiKeyEndpoint", "https://acme.app.spacelift.io/graphql", True),
    ("SpaceliftApiKeyEndpoint", "http://acme.app.spacelift.io", False),
    ("SpaceliftApiKeyEndpoint", "acme.app.spacelift.io", False),
    ("SpaceliftApiKeyEndpoint", "https://acme.app.spacelift.io/other", False),
    (
        "SpaceliftApiKeySecretArn",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:spacelift/api-key-AbC123",
        True,
    ),
    (
        "SpaceliftApiKeySecretArn",
        "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:key-AbC123",
        True,
    ),
    ("SpaceliftApiKeySecretArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:*", False),
    ("SpaceliftApiKeySecretArn", "arn:aws:ssm:us-east-1:123456789012:parameter/key", False),
    ("SpaceliftApiKeySecretArn", "", False),
    ("SpaceliftApiKeySecretKmsKeyArn", "", True),
    (
        "SpaceliftApiKeySecretKmsKeyArn",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        True,
    ),
    ("SpaceliftApiKeySecretKmsKeyArn", "*", False),
    ("SpaceliftApiKeySecretKmsKeyArn", "arn:aws:kms:us-east-1:123456789012:alias/x", False),
    ("FunctionName", "spacelift-cfn-provider", True),
    ("FunctionName", "a" * 65, False),
    ("ServiceTokenExportName", "", True),
    ("ServiceTokenExportName", "spacelift-cfn-ServiceToken", True),
    ("ServiceTokenExportName", "team:spacelift-cfn", True),
    ("ServiceTokenExportName", "a" * 255, True),
    ("ServiceTokenExportName", "a" * 256, False),
    ("ServiceTokenExportName", "spacelift_cfn", False),
    ("ServiceTokenExportName", "spacelift cfn", False),
]


@pytest.mark.parametrize(("name", "value", "allowed"), PARAMETER_CASES)
def test_parameter_patterns(template: dict[str, Any], name: str, value: str, allowed: bool) -> None:
    pattern = template["Parameters"][name]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is allowed


def test_parameter_defaults(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    assert set(params) == {
        "SpaceliftApiKeyEndpoint",
        "SpaceliftApiKeyId",
        "SpaceliftApiKeySecretArn",
        "SpaceliftApiKeySecretKmsKeyArn",
        "LogLevel",
        "FunctionName",
        "ServiceTokenExportName",
        "Tracing",
    }
    assert params["Tracing"]["Default"] == "PassThrough"  # X-Ray off unless asked for
    assert params["FunctionName"]["Default"] == "spacelift-cfn-provider"
    assert params["LogLevel"]["Default"] == "INFO"
    # Valid both for Lambda's ApplicationLogLevel and for Python's logging.
    assert set(params["LogLevel"]["AllowedValues"]) <= {"DEBUG", "INFO", "WARN", "ERROR"}
    assert params["SpaceliftApiKeySecretKmsKeyArn"]["Default"] == ""
    for required in ("SpaceliftApiKeyEndpoint", "SpaceliftApiKeyId", "SpaceliftApiKeySecretArn"):
        assert "Default" not in params[required], required
    # The secret itself is never a parameter.
    assert not [name for name in params if "secret" in name.lower() and "Arn" not in name]


def test_serverless_repo_metadata(template: dict[str, Any]) -> None:
    # Against the Serverless Application Repository's published rules: tests/test_release.py.
    from scripts.release import metadata_problems

    app = template["Metadata"]["AWS::ServerlessRepo::Application"]
    assert metadata_problems(app, base=ROOT) == []
    assert app["Name"] == "spacelift-cfn"
    assert app["Author"] == "spacelift-cfn-maintainers"
    assert app["SpdxLicenseId"] == "Apache-2.0"
    assert app["SemanticVersion"] == "0.1.0"
    # Values that exist only at release time are make release's arguments, never invented here.
    assert "SourceCodeUrl" not in app
    assert "HomePageUrl" not in app
    # sam package uploads these two files: they must exist.
    assert "Apache License" in (ROOT / app["LicenseUrl"]).read_text()
    assert (ROOT / app["ReadmeUrl"]).is_file()


def test_samconfig_holds_no_parameter_values() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert config["version"] == 0.1
    default = config["default"]
    assert default["global"]["parameters"]["stack_name"] == "spacelift-cfn"
    assert default["build"]["parameters"] == {"cached": True, "parallel": True}
    assert default["validate"]["parameters"] == {"lint": True}
    deploy = default["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["confirm_changeset"] is True
    assert deploy["resolve_s3"] is True
    text = json.dumps(config)
    assert "parameter_overrides" not in text
