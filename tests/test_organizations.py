"""The organisation roll-out (examples/stacksets/, docs/organizations.md).

* Every StackSet example passes cfn-lint; the provider template also passes
  checkov (when .venv-checkov exists).
* provider-stackset.yaml is template.yaml written out without the SAM transform:
  the function's settings, environment, logging, retries, table and IAM actions
  are compared with template.yaml's, so the two cannot drift apart.
* Its region-local secret and key ARNs are evaluated for a second Region.
* stackset.yaml passes exactly the provider template's parameters, with the same
  constraints.
* integration-per-account.yaml is played for two accounts against the emulator:
  one integration per account, named after it; a second one in the same account
  is refused by name.
* docs/organizations.md's relative links resolve, its JSON examples parse and
  its StackSet example (indented, so tests/test_docs.py misses it) passes cfn-lint.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint
from cfnlint.decode import cfn_yaml

from localcfn import LocalFunction, StackFailed, StackPlayer
from localcfn.iam_trust import iam_trust_check
from spacelift_emulator import Emulator
from tests.conftest import ACCOUNT_NAME, SERVICE_TOKEN, SPACELIFT_AWS_ACCOUNT, Checkov

ROOT = Path(__file__).resolve().parent.parent
STACKSETS = ROOT / "examples" / "stacksets"
SAM_TEMPLATE = ROOT / "template.yaml"
PROVIDER = STACKSETS / "provider-stackset.yaml"
STACKSET = STACKSETS / "stackset.yaml"
INTEGRATION = STACKSETS / "integration-per-account.yaml"
DOC = ROOT / "docs" / "organizations.md"
TEMPLATES = sorted(STACKSETS.glob("*.yaml"))
VENV_BIN = Path(sys.executable).parent

#: The function settings that must be equal in both templates.
SETTINGS = ("Handler", "Runtime", "Architectures", "MemorySize", "Timeout", "Description", "LoggingConfig")
#: The only environment value that differs: the stack instance reads its Region's replica.
REGIONAL_ENVIRONMENT = {"SPACELIFT_API_KEY_SECRET_ARN"}


def load(path: Path) -> dict[str, Any]:
    """A template through cfn-lint's loader, as plain dicts and lists."""
    loaded: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(path))))
    return loaded


def of_type(template: dict[str, Any], *types: str) -> dict[str, Any]:
    (found,) = [r for r in template["Resources"].values() if r["Type"] in types]
    resource: dict[str, Any] = found
    return resource


def globals_merged(template: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """The function's properties with SAM's Globals.Function under them."""
    return {**template.get("Globals", {}).get("Function", {}), **properties}


def policy_actions(value: Any) -> set[str]:
    """Every action of the policy statements, through both branches of Fn::If."""
    if isinstance(value, list):
        return set().union(*(policy_actions(item) for item in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    if set(value) == {"Fn::If"}:
        _, when_true, when_false = value["Fn::If"]
        return policy_actions(when_true) | policy_actions(when_false)
    if "Action" in value and "Effect" in value:
        actions = value["Action"]
        return {actions} if isinstance(actions, str) else set(actions)
    return set().union(*(policy_actions(item) for item in value.values())) if value else set()


def evaluate(value: Any, parameters: dict[str, str], region: str) -> Any:
    """Fn::Sub (both forms), Fn::Select, Fn::Split and Ref, as CloudFormation evaluates them."""
    pseudo = {"AWS::Region": region, "AWS::Partition": "aws", "AWS::AccountId": "444455556666"}
    if isinstance(value, str):
        return value
    ((function, argument),) = value.items()
    if function == "Ref":
        return {**pseudo, **parameters}[argument]
    if function == "Fn::Split":
        return evaluate(argument[1], parameters, region).split(argument[0])
    if function == "Fn::Select":
        return evaluate(argument[1], parameters, region)[int(argument[0])]
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        names = {**pseudo, **parameters, **{k: evaluate(v, parameters, region) for k, v in variables.items()}}
        return re.sub(r"\$\{([^}]+)\}", lambda m: names[m.group(1)], text)
    raise NotImplementedError(function)


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return load(SAM_TEMPLATE)


@pytest.fixture(scope="module")
def provider() -> dict[str, Any]:
    return load(PROVIDER)


@pytest.fixture(scope="module")
def sam_function(sam: dict[str, Any]) -> dict[str, Any]:
    return globals_merged(sam, of_type(sam, "AWS::Serverless::Function")["Properties"])


@pytest.fixture(scope="module")
def provider_function(provider: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = of_type(provider, "AWS::Lambda::Function")["Properties"]
    return properties


# ------------------------------------------------------------------ static checks


def test_the_examples_exist() -> None:
    assert {path.name for path in TEMPLATES} >= {
        "provider-stackset.yaml",
        "stackset.yaml",
        "integration-per-account.yaml",
    }


@pytest.mark.timeout(300)
@pytest.mark.parametrize("template", TEMPLATES, ids=[path.name for path in TEMPLATES])
def test_cfn_lint_passes(template: Path) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "cfn-lint"), str(template)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(300)
def test_checkov_passes_on_the_provider_template(checkov: Checkov) -> None:
    result = checkov(PROVIDER, "--quiet", "--compact")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]


def test_no_stackset_template_uses_a_transform() -> None:
    # Service-managed StackSets refuse macros, the AWS::Serverless transform included.
    for path in TEMPLATES:
        assert "Transform" not in load(path), path.name


# ----------------------------------------------------- provider = template.yaml


def test_the_function_settings_are_template_yamls(
    sam_function: dict[str, Any], provider_function: dict[str, Any]
) -> None:
    for name in SETTINGS:
        assert provider_function.get(name) == sam_function.get(name), name
    assert provider_function["Handler"] == "app.handler"
    assert provider_function["Runtime"] == "python3.13"
    assert provider_function["Architectures"] == ["arm64"]
    assert provider_function["FunctionName"] == sam_function["FunctionName"] == {"Ref": "FunctionName"}


def test_the_tracing_is_template_yamls(
    sam: dict[str, Any],
    sam_function: dict[str, Any],
    provider: dict[str, Any],
    provider_function: dict[str, Any],
) -> None:
    # SAM's Tracing property is Lambda's TracingConfig.Mode, from the same parameter and condition.
    assert provider_function["TracingConfig"] == {"Mode": sam_function["Tracing"]}
    assert provider["Conditions"]["TracingActive"] == sam["Conditions"]["TracingActive"]


def test_the_environment_is_template_yamls(
    sam_function: dict[str, Any], provider_function: dict[str, Any]
) -> None:
    sam_env = sam_function["Environment"]["Variables"]
    provider_env = provider_function["Environment"]["Variables"]
    assert set(provider_env) == set(sam_env)
    for name in set(sam_env) - REGIONAL_ENVIRONMENT:
        assert provider_env[name] == sam_env[name], name


def test_the_iam_actions_are_template_yamls(sam: dict[str, Any], provider: dict[str, Any]) -> None:
    sam_role = of_type(sam, "AWS::IAM::Role")["Properties"]
    provider_role = of_type(provider, "AWS::IAM::Role")["Properties"]
    sam_actions = policy_actions(sam_role["Policies"])
    assert "secretsmanager:GetSecretValue" in sam_actions
    assert policy_actions(provider_role["Policies"]) == sam_actions
    assert provider_role["AssumeRolePolicyDocument"] == sam_role["AssumeRolePolicyDocument"]
    assert not provider_role.get("ManagedPolicyArns")


def test_the_retries_are_template_yamls(sam_function: dict[str, Any], provider: dict[str, Any]) -> None:
    config = of_type(provider, "AWS::Lambda::EventInvokeConfig")["Properties"]
    assert config["FunctionName"] == {"Ref": "ProviderFunction"}
    assert config["Qualifier"] == "$LATEST"
    for name, value in sam_function["EventInvokeConfig"].items():
        assert config[name] == value, name


@pytest.mark.parametrize("resource_type", ["AWS::DynamoDB::Table", "AWS::Logs::LogGroup"])
def test_the_table_and_log_group_are_template_yamls(
    sam: dict[str, Any], provider: dict[str, Any], resource_type: str
) -> None:
    sam_resource, provider_resource = of_type(sam, resource_type), of_type(provider, resource_type)
    assert provider_resource["Properties"] == sam_resource["Properties"]
    for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
        assert provider_resource.get(policy) == sam_resource.get(policy), policy


def test_the_layer_is_template_yamls(sam: dict[str, Any], provider: dict[str, Any]) -> None:
    sam_layer = of_type(sam, "AWS::Serverless::LayerVersion")["Properties"]
    layer = of_type(provider, "AWS::Lambda::LayerVersion")
    for name in ("CompatibleRuntimes", "CompatibleArchitectures", "Description", "LicenseInfo"):
        assert layer["Properties"][name] == sam_layer[name], name
    assert sam_layer["RetentionPolicy"] == "Delete"
    assert layer["DeletionPolicy"] == "Delete"


def test_the_shared_parameters_have_template_yamls_constraints(
    sam: dict[str, Any], provider: dict[str, Any]
) -> None:
    shared = set(sam["Parameters"]) & set(provider["Parameters"])
    assert shared >= {"SpaceliftApiKeyEndpoint", "SpaceliftApiKeyId", "SpaceliftApiKeySecretArn", "LogLevel"}
    for name in shared - {"FunctionName", "SpaceliftApiKeySecretKmsKeyArn", "ServiceTokenExportName"}:
        for key in ("Type", "Default", "AllowedPattern", "AllowedValues"):
            assert provider["Parameters"][name].get(key) == sam["Parameters"][name].get(key), (name, key)
    # Narrower: the role is named <FunctionName>-<Region> (at most 64 characters).
    assert provider["Parameters"]["FunctionName"]["Default"] == sam["Parameters"]["FunctionName"]["Default"]


def test_the_export_is_named_by_a_parameter_not_the_stack(provider: dict[str, Any]) -> None:
    # StackSet instances are named StackSet-<name>-<UUID>: an export after the stack name is unusable.
    export = provider["Outputs"]["ServiceToken"]
    assert export["Value"] == {"Fn::GetAtt": ["ProviderFunction", "Arn"]}
    assert export["Export"]["Name"] == {"Ref": "ServiceTokenExportName"}
    assert provider["Parameters"]["ServiceTokenExportName"]["Default"] == "spacelift-cfn-ServiceToken"


def test_the_export_names_agree_with_template_yamls(sam: dict[str, Any], provider: dict[str, Any]) -> None:
    # Both templates have ServiceTokenExportName. template.yaml's empty default keeps
    # <stack name>-ServiceToken, which a StackSet instance (StackSet-<name>-<UUID>) cannot use;
    # with samconfig.toml's stack name it is the StackSet's default, so the docs' one name holds.
    sam_parameter = sam["Parameters"]["ServiceTokenExportName"]
    provider_parameter = provider["Parameters"]["ServiceTokenExportName"]
    assert sam_parameter["Default"] == ""
    default_name = sam["Outputs"]["ServiceToken"]["Export"]["Name"]["Fn::If"][2]
    assert (
        evaluate(default_name, {"AWS::StackName": "spacelift-cfn"}, "eu-west-1")
        == provider_parameter["Default"]
    )
    # Every name the StackSet's pattern allows, template.yaml's allows too (and also the empty one).
    for name in ("spacelift-cfn-ServiceToken", "team:spacelift-cfn", "x" * 255):
        assert re.fullmatch(provider_parameter["AllowedPattern"], name)
        assert re.fullmatch(sam_parameter["AllowedPattern"], name)
    for name in ("x" * 256, "under_score", "with space"):
        assert not re.fullmatch(provider_parameter["AllowedPattern"], name)
        assert not re.fullmatch(sam_parameter["AllowedPattern"], name)
    assert re.fullmatch(sam_parameter["AllowedPattern"], "")


def test_code_comes_from_the_regions_artifact_bucket(provider: dict[str, Any]) -> None:
    parameters = {
        "ArtifactBucketPrefix": "acme-artifacts",
        "FunctionCodeKey": "f.zip",
        "LayerCodeKey": "l.zip",
    }
    function = of_type(provider, "AWS::Lambda::Function")["Properties"]["Code"]
    layer = of_type(provider, "AWS::Lambda::LayerVersion")["Properties"]["Content"]
    for code, key in ((function, "f.zip"), (layer, "l.zip")):
        assert evaluate(code["S3Bucket"], parameters, "ap-southeast-2") == "acme-artifacts-ap-southeast-2"
        assert evaluate(code["S3Key"], parameters, "ap-southeast-2") == key


def test_each_region_reads_its_replica_of_the_secret_and_key(provider: dict[str, Any]) -> None:
    parameters = {
        "SpaceliftApiKeySecretArn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:spacelift/api-key-AbC123",
        "SpaceliftApiKeySecretKmsKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd",
    }
    function = of_type(provider, "AWS::Lambda::Function")["Properties"]
    statements = of_type(provider, "AWS::IAM::Role")["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    by_sid = {statement["Sid"]: statement for statement in statements if "Sid" in statement}  # not Fn::If
    secret = "arn:aws:secretsmanager:us-east-1:111122223333:secret:spacelift/api-key-AbC123"
    env_value = function["Environment"]["Variables"]["SPACELIFT_API_KEY_SECRET_ARN"]
    assert evaluate(env_value, parameters, "us-east-1") == secret
    assert evaluate(by_sid["ReadSpaceliftApiKeySecret"]["Resource"], parameters, "us-east-1") == secret
    key = by_sid["DecryptSpaceliftApiKeySecret"]
    assert (
        evaluate(key["Resource"], parameters, "us-east-1")
        == "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd"
    )
    assert evaluate(key["Condition"]["StringEquals"]["kms:ViaService"], parameters, "us-east-1") == (
        "secretsmanager.us-east-1.amazonaws.com"
    )
    # In the secret's own Region the ARNs are the ones given.
    assert evaluate(env_value, parameters, "eu-west-1") == parameters["SpaceliftApiKeySecretArn"]


def test_the_role_name_fits_iam(provider: dict[str, Any]) -> None:
    role = of_type(provider, "AWS::IAM::Role")["Properties"]["RoleName"]
    assert role == {"Fn::Sub": "${FunctionName}-${AWS::Region}"}
    limit = re.search(r"\{1,(\d+)\}", provider["Parameters"]["FunctionName"]["AllowedPattern"])
    assert limit is not None
    longest = "x" * int(limit[1])
    assert len(evaluate(role, {"FunctionName": longest}, "ap-southeast-5")) <= 64


# ----------------------------------------------------------------------- StackSet


def test_the_stackset_is_service_managed_and_auto_deployed() -> None:
    props = of_type(load(STACKSET), "AWS::CloudFormation::StackSet")["Properties"]
    assert props["PermissionModel"] == "SERVICE_MANAGED"
    assert props["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert props["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert props["CallAs"] == {"Ref": "CallAs"}
    assert props["OperationPreferences"]["RegionConcurrencyType"] == "PARALLEL"
    (group,) = props["StackInstancesGroup"]
    assert group["DeploymentTargets"] == {"OrganizationalUnitIds": {"Ref": "OrganizationalUnitIds"}}
    assert group["Regions"] == {"Ref": "Regions"}


def test_the_stackset_passes_every_provider_parameter(provider: dict[str, Any]) -> None:
    stackset = load(STACKSET)
    props = of_type(stackset, "AWS::CloudFormation::StackSet")["Properties"]
    passed = {p["ParameterKey"]: p["ParameterValue"] for p in props["Parameters"]}
    assert set(passed) == set(provider["Parameters"])
    for name, value in passed.items():
        assert value == {"Ref": name}
        mine, theirs = stackset["Parameters"][name], provider["Parameters"][name]
        for key in ("Type", "Default", "AllowedPattern", "AllowedValues"):
            assert mine.get(key) == theirs.get(key), (name, key)


# ----------------------------------------------------- integration per account


def player_for(function: LocalFunction, iam: Any, account_id: str, **parameters: str) -> StackPlayer:
    return StackPlayer(
        INTEGRATION,
        function,
        iam=iam,
        parameters=parameters,
        exports={"spacelift-cfn-ServiceToken": SERVICE_TOKEN},
        stack_name="spacelift-integration",
        account_id=account_id,
        region="eu-west-1",
    )


def test_one_integration_per_account(function: LocalFunction, emulator: Emulator, iam: Any) -> None:
    emulator.trust_check = iam_trust_check(iam, SPACELIFT_AWS_ACCOUNT)
    # moto is a single IAM account: the second "account" gets another role name.
    first = player_for(function, iam, "111111111111", SpaceliftStackId="my-stack-id")
    second = player_for(
        function, iam, "222222222222", SpaceliftStackId="my-other-stack-id", RoleName="spacelift-b"
    )
    first.create()
    second.create()

    names = sorted(integration.name for integration in emulator.integrations.values())
    assert names == ["spacelift-111111111111", "spacelift-222222222222"]
    for player, stack in ((first, "my-stack-id"), (second, "my-other-stack-id")):
        integration_id = player.resources["SpaceliftIntegration"].physical_id
        (attachment,) = [a for a in emulator.attachments.values() if a.stack_id == stack]
        assert attachment.integration_id == integration_id
        assert player.resources["StackAttachment"].data["ExternalId"] == (
            f"{ACCOUNT_NAME}@{integration_id}@{stack}@write"
        )

    # A second integration stack in the same account meets the name and is refused.
    again = player_for(function, iam, "111111111111", SpaceliftStackId="my-stack-id", RoleName="spacelift-c")
    with pytest.raises(
        StackFailed,
        match=r"SpaceliftIntegration Create FAILED: Could not create AWS integration .*already exists",
    ):
        again.create()
    assert len(emulator.integrations) == 2

    first.delete()
    second.delete()
    assert emulator.integrations == {}
    assert emulator.attachments == {}


# ------------------------------------------------------------------------- docs


_BLOCK = re.compile(r"^( *)```(yaml|json)[ \t]*\n(.*?)^\1```[ \t]*$", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)\)")


def test_the_doc_links_resolve() -> None:
    text = re.sub(r"^```.*?^```", "", DOC.read_text(), flags=re.MULTILINE | re.DOTALL)
    targets = [t for t in _LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:|^#", t)]
    assert targets, "docs/organizations.md links no file"
    broken = [t for t in targets if not (DOC.parent / t.partition("#")[0]).resolve().exists()]
    assert not broken, broken


def test_the_doc_names_every_example() -> None:
    text = DOC.read_text()
    for path in TEMPLATES:
        assert f"examples/stacksets/{path.name}" in text, path.name


def test_the_docs_yaml_and_json_examples_are_valid() -> None:
    # tests/test_docs.py finds only unindented blocks; these sit in list items.
    blocks = [(kind, textwrap.dedent(body)) for _, kind, body in _BLOCK.findall(DOC.read_text())]
    assert {kind for kind, _ in blocks} == {"yaml", "json"}
    templates = 0
    for kind, body in blocks:
        if kind == "json":
            json.loads(body)
            continue
        assert isinstance(cfn_yaml.loads(body), dict)
        if body.startswith("AWSTemplateFormatVersion:"):
            templates += 1
            matches = lint(body, regions=["us-east-1"])
            assert not matches, "\n".join(str(match) for match in matches)
    assert templates == 1  # the integration StackSet
