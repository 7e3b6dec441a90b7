"""The CDK constructs (cdk/) and the CDK example (examples/cdk/), synthesised.

Synthesis runs in-process (jsii starts Node.js once per session, offline). The
provider's assets are really built, with local bundling only: CDK_DOCKER points
to a missing program, so any attempt to use Docker fails the test. Building the
layer runs pip against PyPI, like ``sam build`` in test_template.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CDK_SRC = ROOT / "cdk" / "src"
EXAMPLE = ROOT / "examples" / "cdk"
VENV_BIN = Path(sys.executable).parent

# Read by the jsii runtime (Node.js) when it starts, on the first aws_cdk import.
# Node 20 works but is past jsii's support date: silence that banner in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ["CDK_DOCKER"] = str(ROOT / "no-docker-here")
if str(CDK_SRC) not in sys.path:
    sys.path.insert(0, str(CDK_SRC))

import aws_cdk as cdk  # noqa: E402
from aws_cdk import assertions  # noqa: E402
from aws_cdk import aws_iam as iam  # noqa: E402
from aws_cdk import aws_secretsmanager as secretsmanager  # noqa: E402
from cfnlint.decode import cfn_yaml  # noqa: E402
from spacelift_cfn_cdk import (  # noqa: E402
    ExternalIdTarget,
    SpaceliftAwsIntegration,
    SpaceliftAwsIntegrationAttachment,
    SpaceliftAwsIntegrationExternalId,
    SpaceliftProvider,
    role_arn_for,
)

INTEGRATION = "Custom::SpaceliftAwsIntegration"
ATTACHMENT = "Custom::SpaceliftAwsIntegrationAttachment"
EXTERNAL_ID = "Custom::SpaceliftAwsIntegrationExternalId"
TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:spacelift-cfn-provider"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:spacelift-api-key-AbCdEf"


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Test")


def _integration(stack: cdk.Stack, **overrides: Any) -> SpaceliftAwsIntegration:
    properties: dict[str, Any] = {
        "service_token": cdk.Fn.import_value("spacelift-cfn-ServiceToken"),
        "name": "my_role",
        "role_arn": role_arn_for(stack, "my_role"),
        "duration_seconds": 3600,
        "labels": ["team-infra"],
        "external_ids_for": [
            ExternalIdTarget.stack("my-stack-id"),
            ExternalIdTarget.module("my-module-id", write=False),
        ],
    }
    return SpaceliftAwsIntegration(stack, "SpaceliftIntegration", **(properties | overrides))


def _only(template: assertions.Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    resources = template.find_resources(resource_type)
    assert len(resources) == 1, resources
    logical_id, resource = next(iter(resources.items()))
    return logical_id, dict(resource)


@pytest.fixture(scope="module")
def seed() -> tuple[cdk.Stack, assertions.Template]:
    """The seed example's resources, built directly with the constructs."""
    stack = _stack()
    integration = _integration(stack)
    role = iam.Role(
        stack,
        "Role",
        role_name="my_role",
        assumed_by=integration.trust_principal(),
        max_session_duration=cdk.Duration.seconds(3600),
    )
    iam.CfnRole(stack, "DocumentRole", assume_role_policy_document=integration.trust_policy_document())
    iam.CfnRole(stack, "ApiDocumentRole", assume_role_policy_document=integration.assume_role_policy_document)
    attachments = (
        SpaceliftAwsIntegrationAttachment(
            stack, "StackAttachment", integration=integration, stack_id="my-stack-id"
        ),
        SpaceliftAwsIntegrationAttachment(
            stack, "ModuleAttachment", integration=integration, module_id="my-module-id", write=False
        ),
    )
    for attachment in attachments:
        attachment.node.add_dependency(role)
    cdk.CfnOutput(stack, "StackExternalId", value=integration.external_id("my-stack-id"))
    return stack, assertions.Template.from_stack(stack)


def test_integration_properties_keep_their_names_and_types(
    seed: tuple[cdk.Stack, assertions.Template],
) -> None:
    _, template = seed
    template.resource_count_is(INTEGRATION, 1)
    _, resource = _only(template, INTEGRATION)
    properties = resource["Properties"]
    assert properties["ServiceToken"] == {"Fn::ImportValue": "spacelift-cfn-ServiceToken"}
    assert properties["ServiceTimeout"] == "150"
    assert properties["Name"] == "my_role"
    # A number and a boolean, not strings: CloudFormation stringifies them on the way
    # to the provider, which reads both forms.
    assert properties["DurationSeconds"] == 3600 and type(properties["DurationSeconds"]) is int
    assert properties["ExternalIdsFor"] == [
        {"StackId": "my-stack-id"},
        {"ModuleId": "my-module-id", "Write": False},
    ]
    assert properties["ExternalIdsFor"][1]["Write"] is False
    assert properties["Labels"] == ["team-infra"]
    # Unset properties are left out, so the provider's defaults apply.
    assert set(properties) == {
        "ServiceToken",
        "ServiceTimeout",
        "Name",
        "RoleArn",
        "DurationSeconds",
        "Labels",
        "ExternalIdsFor",
    }
    assert resource["DeletionPolicy"] == "Delete"


def test_role_arn_is_built_from_the_name_not_the_role(seed: tuple[cdk.Stack, assertions.Template]) -> None:
    _, template = seed
    _, resource = _only(template, INTEGRATION)
    assert resource["Properties"]["RoleArn"] == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":role/my_role"],
        ]
    }


def _trust_statement(integration_id: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {
            "AWS": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":iam::",
                        {"Fn::GetAtt": [integration_id, "SpaceliftAwsAccountId"]},
                        ":root",
                    ],
                ]
            }
        },
        "Condition": {
            "StringEquals": {
                "sts:ExternalId": [
                    {"Fn::GetAtt": [integration_id, "ExternalId.my-stack-id"]},
                    {"Fn::GetAtt": [integration_id, "ExternalId.my-module-id"]},
                ]
            }
        },
    }


def test_role_trusts_spacelift_with_the_external_ids(seed: tuple[cdk.Stack, assertions.Template]) -> None:
    _, template = seed
    integration_id, _ = _only(template, INTEGRATION)
    expected = {"Version": "2012-10-17", "Statement": [_trust_statement(integration_id)]}
    template.has_resource_properties(
        "AWS::IAM::Role",
        {"RoleName": "my_role", "MaxSessionDuration": 3600, "AssumeRolePolicyDocument": expected},
    )
    # trust_policy_document() gives the same policy, for documents of one's own.
    roles = template.find_resources("AWS::IAM::Role")
    assert roles["DocumentRole"]["Properties"]["AssumeRolePolicyDocument"] == expected
    assert roles["ApiDocumentRole"]["Properties"]["AssumeRolePolicyDocument"] == {
        "Fn::GetAtt": [integration_id, "AssumeRolePolicyDocument"]
    }


def test_attachments_use_the_integration_and_wait_for_the_role(
    seed: tuple[cdk.Stack, assertions.Template],
) -> None:
    _, template = seed
    template.resource_count_is(ATTACHMENT, 2)
    integration_id, _ = _only(template, INTEGRATION)
    role_id = next(iter(template.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": "my_role"}})))
    attachments = template.find_resources(ATTACHMENT)
    by_target = {
        next(key for key in ("StackId", "ModuleId") if key in resource["Properties"]): resource
        for resource in attachments.values()
    }
    assert by_target["StackId"]["Properties"] == {
        "ServiceToken": {"Fn::ImportValue": "spacelift-cfn-ServiceToken"},  # the integration's
        "ServiceTimeout": "150",
        "IntegrationId": {"Ref": integration_id},
        "StackId": "my-stack-id",
    }
    assert by_target["ModuleId"]["Properties"]["Write"] is False
    for resource in attachments.values():
        assert resource["DependsOn"] == [role_id]


def test_external_id_attribute_output(seed: tuple[cdk.Stack, assertions.Template]) -> None:
    _, template = seed
    integration_id, _ = _only(template, INTEGRATION)
    template.has_output(
        "StackExternalId", {"Value": {"Fn::GetAtt": [integration_id, "ExternalId.my-stack-id"]}}
    )


def test_every_integration_property() -> None:
    stack = _stack()
    _integration(
        stack,
        service_token=TOKEN,
        external_id="custom",
        generate_credentials_in_worker=True,
        space_id="root",
        region="eu-west-1",
        autoattach_enabled=False,
        tag_assume_role=True,
        service_timeout=cdk.Duration.minutes(5),
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    _, resource = _only(assertions.Template.from_stack(stack), INTEGRATION)
    properties = resource["Properties"]
    assert {key: properties[key] for key in properties if key not in ("RoleArn", "ExternalIdsFor")} == {
        "ServiceToken": TOKEN,
        "ServiceTimeout": "300",
        "Name": "my_role",
        "DurationSeconds": 3600,
        "ExternalId": "custom",
        "GenerateCredentialsInWorker": True,
        "Labels": ["team-infra"],
        "SpaceId": "root",
        "Region": "eu-west-1",
        "AutoattachEnabled": False,
        "TagAssumeRole": True,
    }
    assert resource["DeletionPolicy"] == "Retain"


def test_tag_assume_role_also_allows_tag_session() -> None:
    stack = _stack()
    integration = _integration(stack, tag_assume_role=True)
    iam.Role(stack, "Role", assumed_by=integration.trust_principal())
    (statement,) = integration.trust_policy_document().to_json()["Statement"]
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    assertions.Match.object_like(
                        {
                            "Action": ["sts:AssumeRole", "sts:TagSession"],
                            "Condition": {"StringEquals": {"sts:ExternalId": assertions.Match.any_value()}},
                        }
                    )
                ]
            }
        },
    )


def test_external_id_construct_and_provider_object() -> None:
    stack = _stack()

    class Provider:  # anything with a service_token
        service_token = TOKEN

    external = SpaceliftAwsIntegrationExternalId(
        stack, "ExternalId", provider=Provider(), integration_id="01INTEGRATION", module_id="mod", read=True
    )
    iam.Role(stack, "Role", assumed_by=external.trust_principal())
    template = assertions.Template.from_stack(stack)
    logical_id, resource = _only(template, EXTERNAL_ID)
    assert resource["Properties"] == {
        "ServiceToken": TOKEN,
        "ServiceTimeout": "150",
        "IntegrationId": "01INTEGRATION",
        "ModuleId": "mod",
        "Read": True,
    }
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    assertions.Match.object_like(
                        {
                            "Condition": {
                                "StringEquals": {
                                    "sts:ExternalId": [{"Fn::GetAtt": [logical_id, "ExternalId"]}]
                                }
                            }
                        }
                    )
                ]
            }
        },
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda stack: _integration(stack, service_token=None), "exactly one of service_token"),
        (lambda stack: _integration(stack, service_token=TOKEN, provider=object()), "exactly one"),
        (lambda stack: _integration(stack, duration_seconds=60), "between 900 and 43200"),
        (
            lambda stack: _integration(
                stack, external_ids_for=[ExternalIdTarget.stack("a"), ExternalIdTarget.module("a")]
            ),
            "'a' twice",
        ),
        (lambda stack: ExternalIdTarget(stack_id="a", module_id="b"), "exactly one of stack_id or module_id"),
        (lambda stack: ExternalIdTarget.stack("a", read=False, write=False), "at least one of read or write"),
        (lambda stack: _integration(stack).external_id("other"), "'other' is not in external_ids_for"),
        (
            lambda stack: _integration(stack, external_ids_for=[]).trust_principal(),
            "external_ids_for is empty",
        ),
        (
            lambda stack: SpaceliftAwsIntegrationAttachment(stack, "A", integration_id="x", stack_id="s"),
            "exactly one of service_token",
        ),
        (
            lambda stack: SpaceliftAwsIntegrationAttachment(stack, "A", service_token=TOKEN, stack_id="s"),
            "exactly one of integration or integration_id",
        ),
    ],
)
def test_mistakes_fail_at_synthesis(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(_stack())


def test_token_targets_need_the_api_trust_policy() -> None:
    stack = _stack()
    parameter = cdk.CfnParameter(stack, "SpaceliftStackId")
    integration = _integration(stack, external_ids_for=[ExternalIdTarget.stack(parameter.value_as_string)])
    with pytest.raises(ValueError, match="assume_role_policy_document"):
        integration.trust_policy_statements()


# --- SpaceliftProvider --------------------------------------------------------------


@pytest.fixture(scope="module")
def provider_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[assertions.Template, Path]:
    """A stack with a SpaceliftProvider whose assets are built by local bundling."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    stack = cdk.Stack(cdk.App(outdir=str(outdir)), "Provider")
    secret = secretsmanager.Secret.from_secret_complete_arn(stack, "ApiKeySecret", SECRET_ARN)
    provider = SpaceliftProvider(
        stack,
        "Provider",
        api_key_endpoint="https://acme.app.spacelift.io",
        api_key_id="01APIKEY",
        api_key_secret=secret,
        function_name="spacelift-cfn-provider",
        export_name="spacelift-cfn-ServiceToken",
    )
    _integration(stack, service_token=None, provider=provider)
    return assertions.Template.from_stack(stack), outdir


def test_provider_function_matches_the_sam_template(provider_synth: tuple[assertions.Template, Path]) -> None:
    template, _ = provider_synth
    template.resource_count_is("AWS::Lambda::Function", 1)
    function_id, function = _only(template, "AWS::Lambda::Function")
    layer_id, _ = _only(template, "AWS::Lambda::LayerVersion")
    table_id, _ = _only(template, "AWS::DynamoDB::Table")
    log_group_id, _ = _only(template, "AWS::Logs::LogGroup")
    properties = function["Properties"]
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "app.handler"
    assert (properties["MemorySize"], properties["Timeout"]) == (128, 120)
    assert properties["FunctionName"] == "spacelift-cfn-provider"
    assert properties["Layers"] == [{"Ref": layer_id}]
    assert properties["LoggingConfig"] == {
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "LogGroup": {"Ref": log_group_id},
    }
    assert properties["Environment"]["Variables"] == {
        "SPACELIFT_API_KEY_ENDPOINT": "https://acme.app.spacelift.io",
        "SPACELIFT_API_KEY_ID": "01APIKEY",
        "SPACELIFT_API_KEY_SECRET_ARN": SECRET_ARN,
        "IDEMPOTENCY_TABLE": {"Ref": table_id},
        "POWERTOOLS_SERVICE_NAME": "spacelift-cfn",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    }
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"FunctionName": {"Ref": function_id}, "MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 150},
    )
    template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.13"], "CompatibleArchitectures": ["arm64"]},
    )
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
        },
    )
    template.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": "/aws/lambda/spacelift-cfn-provider", "RetentionInDays": 90}
    )
    template.has_output(
        "*",
        {"Value": {"Fn::GetAtt": [function_id, "Arn"]}, "Export": {"Name": "spacelift-cfn-ServiceToken"}},
    )
    _, integration = _only(template, INTEGRATION)
    assert integration["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}


def test_provider_mirrors_template_yaml(provider_synth: tuple[assertions.Template, Path]) -> None:
    """Editing the SAM template's function settings should mean editing the construct too."""
    sam = json.loads(json.dumps(cfn_yaml.load(str(ROOT / "template.yaml"))))["Resources"]
    sam_function = sam["ProviderFunction"]["Properties"]
    template, _ = provider_synth
    _, function = _only(template, "AWS::Lambda::Function")
    properties = function["Properties"]
    for name in ("Handler", "Runtime", "Architectures", "MemorySize", "Timeout"):
        assert properties[name] == sam_function[name], name
    assert set(properties["Environment"]["Variables"]) == set(sam_function["Environment"]["Variables"])
    _, invoke_config = _only(template, "AWS::Lambda::EventInvokeConfig")
    for name in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        assert invoke_config["Properties"][name] == sam_function["EventInvokeConfig"][name], name
    sam_table = sam["IdempotencyTable"]["Properties"]
    _, table = _only(template, "AWS::DynamoDB::Table")
    for name in ("KeySchema", "TimeToLiveSpecification", "BillingMode", "SSESpecification"):
        assert table["Properties"][name] == sam_table[name], name
    sam_statements = sam["ProviderFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    sam_dynamodb = next(s for s in sam_statements if isinstance(s, dict) and s.get("Sid") == "Idempotency")
    (policy,) = template.find_resources("AWS::IAM::Policy").values()
    dynamodb = next(
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if str(_list(s["Action"])[0]).startswith("dynamodb:")
    )
    assert sorted(_list(dynamodb["Action"])) == sorted(sam_dynamodb["Action"])


def test_provider_role_is_least_privilege(provider_synth: tuple[assertions.Template, Path]) -> None:
    template, _ = provider_synth
    _, role = _only(template, "AWS::IAM::Role")
    # No AWSLambdaBasicExecutionRole: it may write to every log group.
    assert "ManagedPolicyArns" not in role["Properties"]
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    secrets = [s for s in statements if any(str(a).startswith("secretsmanager:") for a in _list(s["Action"]))]
    assert len(secrets) == 1
    assert "secretsmanager:GetSecretValue" in _list(secrets[0]["Action"])
    assert secrets[0]["Resource"] == SECRET_ARN
    dynamodb = next(s for s in statements if any(str(a).startswith("dynamodb:") for a in _list(s["Action"])))
    assert sorted(_list(dynamodb["Action"])) == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    logs = next(s for s in statements if any(str(a).startswith("logs:") for a in _list(s["Action"])))
    assert "Fn::GetAtt" in logs["Resource"]  # its own log group only
    assert all(s["Resource"] != "*" for s in statements)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_provider_assets_are_built_without_docker(provider_synth: tuple[assertions.Template, Path]) -> None:
    _, outdir = provider_synth
    assets = [path for path in outdir.glob("asset.*") if path.is_dir()]
    function = next(path for path in assets if (path / "app.py").is_file())
    layer = next(path for path in assets if (path / "python").is_dir())
    assert (function / "spacelift_cfn" / "handler.py").is_file()
    assert not (function / "Makefile").exists()
    assert list((function / "spacelift_cfn" / "__pycache__").glob("handler.cpython-313.pyc"))
    site = layer / "python"
    for package in ("aws_lambda_powertools", "crhelper", "requests"):
        assert (site / package).is_dir(), package
    # The runtime provides boto3; the layer never carries a second copy.
    assert not (site / "boto3").exists() and not (site / "botocore").exists()


def test_provider_accepts_prebuilt_assets(tmp_path: Path) -> None:
    function, layer = tmp_path / "function", tmp_path / "layer" / "python"
    function.mkdir()
    layer.mkdir(parents=True)
    (function / "app.py").write_text("def handler(event, context): ...\n")
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path / "out")), "Prebuilt")
    SpaceliftProvider(
        stack,
        "Provider",
        api_key_endpoint="https://acme.app.spacelift.io",
        api_key_id="01APIKEY",
        api_key_secret=secretsmanager.Secret.from_secret_name_v2(stack, "Secret", "spacelift-api-key"),
        function_asset_path=function,
        layer_asset_path=layer.parent,
        log_level="DEBUG",
    )
    template = assertions.Template.from_stack(stack)
    _, resource = _only(template, "AWS::Lambda::Function")
    variables = resource["Properties"]["Environment"]["Variables"]
    # A secret imported by name is passed by name (a partial ARN is ambiguous).
    assert variables["SPACELIFT_API_KEY_SECRET_ARN"] == "spacelift-api-key"
    assert variables["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    assert resource["Properties"]["LoggingConfig"]["ApplicationLogLevel"] == "DEBUG"


def test_provider_refuses_bad_settings(tmp_path: Path) -> None:
    def build(**overrides: Any) -> None:
        stack = _stack()
        arguments: dict[str, Any] = {
            "api_key_endpoint": "https://acme.app.spacelift.io",
            "api_key_id": "01APIKEY",
            "api_key_secret": secretsmanager.Secret.from_secret_complete_arn(stack, "S", SECRET_ARN),
        }
        SpaceliftProvider(stack, "Provider", **(arguments | overrides))

    with pytest.raises(ValueError, match="https://"):
        build(api_key_endpoint="http://acme.app.spacelift.io")
    with pytest.raises(ValueError, match="log_level"):
        build(log_level="VERBOSE")
    with pytest.raises(FileNotFoundError, match="source_root"):
        build(source_root=tmp_path)


# --- examples/cdk -------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``python3 app.py`` (what cdk.json runs) with the provider stack, without bundling."""
    outdir = tmp_path_factory.mktemp("example.out")
    context = {
        "spacelift_api_key_endpoint": "https://acme.app.spacelift.io",
        "spacelift_api_key_id": "01APIKEY",
        "spacelift_api_key_secret_arn": SECRET_ARN,
        # As `cdk synth <other stack>` does: the provider's assets are tested above.
        "aws:cdk:bundling-stacks": [],
    }
    env = dict(os.environ)
    env |= {
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(context),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(CDK_SRC), env.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    yield outdir


def test_cdk_json_runs_app_py() -> None:
    assert json.loads((EXAMPLE / "cdk.json").read_text())["app"] == "python3 app.py"


def test_example_templates_pass_cfn_lint(example_out: Path) -> None:
    templates = sorted(example_out.glob("*.template.json"))
    assert [path.name for path in templates] == [
        "SpaceliftIntegrationExample.template.json",
        "SpaceliftProvider.template.json",
    ]
    # W3005 (a DependsOn also implied by a GetAtt) is how CDK makes every function
    # wait for its role's policy; nothing to fix on our side.
    result = subprocess.run(
        [str(VENV_BIN / "cfn-lint"), "--ignore-checks", "W3005", "--", *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_example_is_the_seed_example(example_out: Path) -> None:
    body = json.loads((example_out / "SpaceliftIntegrationExample.template.json").read_text())
    template = assertions.Template.from_json(body)
    template.resource_count_is(INTEGRATION, 1)
    template.resource_count_is(ATTACHMENT, 2)
    template.resource_count_is("AWS::IAM::Role", 1)
    integration_id, integration = _only(template, INTEGRATION)
    assert integration["Properties"]["ServiceToken"] == {"Fn::ImportValue": "spacelift-cfn-ServiceToken"}
    assert integration["Properties"]["DurationSeconds"] == 3600
    assert integration["Properties"]["ExternalIdsFor"] == [
        {"StackId": "my-stack-id"},
        {"ModuleId": "my-module-id", "Write": False},
    ]
    role_id, role = _only(template, "AWS::IAM::Role")
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [_trust_statement(integration_id)]
    assert role["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/PowerUserAccess"]]}
    ]
    for attachment in template.find_resources(ATTACHMENT).values():
        assert attachment["DependsOn"] == [role_id]
        assert attachment["Properties"]["IntegrationId"] == {"Ref": integration_id}
    # The integration stack is deployed after the stack that exports the token.
    manifest = json.loads((example_out / "manifest.json").read_text())
    assert "SpaceliftProvider" in manifest["artifacts"]["SpaceliftIntegrationExample"]["dependencies"]
    provider = json.loads((example_out / "SpaceliftProvider.template.json").read_text())
    (output,) = provider["Outputs"].values()
    assert output["Export"] == {"Name": "spacelift-cfn-ServiceToken"}
