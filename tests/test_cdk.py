"""The CDK example app (examples/cdk/), synthesised the way a user would: the construct library's
wheel (built by ``make cdk`` from cdk/, the TypeScript source) installed in a fresh virtualenv
outside the repository, the app and its cdk.json copied next to nothing else, then cfn-lint.

The constructs themselves are unit-tested in TypeScript (cdk/test/, ``make cdk-test``); this
proves that the generated Python package works on its own: its function and layer come from the
wheel, not from this checkout.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from tests.cdk_packages import NODE_ENV, ROOT, built

EXAMPLE = ROOT / "examples" / "cdk"
VENV_BIN = Path(sys.executable).parent
INTEGRATION = "Custom::SpaceliftAwsIntegration"
ATTACHMENT = "Custom::SpaceliftAwsIntegrationAttachment"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:spacelift-api-key-AbCdEf"
#: What `cdk deploy --all -c ...` adds to deploy the provider stack too (examples/cdk/app.py).
PROVIDER_CONTEXT = {
    "spacelift_api_key_endpoint": "https://acme.app.spacelift.io",
    "spacelift_api_key_id": "01APIKEY",
    "spacelift_api_key_secret_arn": SECRET_ARN,
}


@dataclass(frozen=True)
class Synthesis:
    outdir: Path
    module_file: Path
    app_dir: Path

    def template(self, stack: str) -> dict[str, Any]:
        body: dict[str, Any] = json.loads((self.outdir / f"{stack}.template.json").read_text())
        return body


def _constraints(path: Path) -> Path:
    """This virtualenv's versions as pip constraints: the fresh one gets the same jsii, typeguard…
    (from pip's cache), and aws-cdk-lib and constructs as pinned in examples/cdk/requirements.txt."""
    pins = sorted({f"{dist.metadata['Name']}=={dist.version}" for dist in metadata.distributions()})
    path.write_text("\n".join(pins) + "\n")
    return path


@pytest.fixture(scope="module")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesis]:
    wheel = built().wheel
    work = tmp_path_factory.mktemp("cdk-user")
    assert not work.is_relative_to(ROOT)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # --no-compile: byte-compiling all of aws-cdk-lib takes ten times longer than installing it.
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    subprocess.run(
        [
            *install,
            "-c",
            str(_constraints(work / "constraints.txt")),
            "-r",
            str(EXAMPLE / "requirements.txt"),
        ],
        check=True,
        timeout=600,
    )
    # The wheel has the version of every build: replace what a previous build left in pip's cache.
    subprocess.run([*install, "--no-deps", "--force-reinstall", str(wheel)], check=True, timeout=300)
    app_dir = work / "app"
    app_dir.mkdir()
    for name in ("app.py", "cdk.json"):
        shutil.copy(EXAMPLE / name, app_dir / name)
    outdir = work / "cdk.out"
    cdk_json = json.loads((app_dir / "cdk.json").read_text())
    # What the CDK CLI does for `cdk synth`: cdk.json's context plus -c values in CDK_CONTEXT_JSON,
    # cdk.json's "app" command run with CDK_OUTDIR.
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= NODE_ENV | {
        "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(cdk_json["context"] | PROVIDER_CONTEXT),
    }
    result = subprocess.run(
        shlex.split(cdk_json["app"]),
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    located = subprocess.run(
        ["python3", "-c", "import spacelift_cfn_cdk; print(spacelift_cfn_cdk.__file__)"],
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    yield Synthesis(outdir=outdir, module_file=Path(located.stdout.strip()), app_dir=app_dir)


def _only(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (key, value) for key, value in template["Resources"].items() if value["Type"] == resource_type
    ]
    return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_app_uses_the_installed_wheel(synthesis: Synthesis) -> None:
    assert "site-packages" in synthesis.module_file.parts
    assert not synthesis.module_file.is_relative_to(ROOT)
    assert not synthesis.app_dir.is_relative_to(ROOT)


def test_example_templates_pass_cfn_lint(synthesis: Synthesis) -> None:
    templates = sorted(synthesis.outdir.glob("*.template.json"))
    assert [path.name for path in templates] == [
        "SpaceliftIntegrationExample.template.json",
        "SpaceliftProvider.template.json",
    ]
    # W3005 (a DependsOn also implied by a GetAtt) is how CDK makes every function wait for its
    # role's policy; nothing to fix on our side.
    result = subprocess.run(
        [str(VENV_BIN / "cfn-lint"), "--ignore-checks", "W3005", "--", *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


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


def test_example_is_the_seed_example(synthesis: Synthesis) -> None:
    template = synthesis.template("SpaceliftIntegrationExample")
    types = sorted(resource["Type"] for resource in template["Resources"].values())
    assert types == sorted(["AWS::IAM::Role", INTEGRATION, ATTACHMENT, ATTACHMENT])
    integration_id, integration = _only(template, INTEGRATION)
    assert integration["Properties"] == {
        "ServiceToken": {"Fn::ImportValue": "spacelift-cfn-ServiceToken"},
        "ServiceTimeout": "150",
        "Name": "my_role",
        "RoleArn": {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":role/my_role"],
            ]
        },
        # A number and a boolean, not strings: the provider reads both forms.
        "DurationSeconds": 3600,
        "Labels": ["team-infra"],
        "ExternalIdsFor": [{"StackId": "my-stack-id"}, {"ModuleId": "my-module-id", "Write": False}],
    }
    role_id, role = _only(template, "AWS::IAM::Role")
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [_trust_statement(integration_id)]
    assert role["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/PowerUserAccess"]]}
    ]
    attachments = [resource for resource in template["Resources"].values() if resource["Type"] == ATTACHMENT]
    assert sorted(json.dumps(a["Properties"], sort_keys=True) for a in attachments) == sorted(
        json.dumps(
            {
                "ServiceToken": {"Fn::ImportValue": "spacelift-cfn-ServiceToken"},
                "ServiceTimeout": "150",
                "IntegrationId": {"Ref": integration_id},
                **target,
            },
            sort_keys=True,
        )
        for target in ({"StackId": "my-stack-id"}, {"ModuleId": "my-module-id", "Write": False})
    )
    # Spacelift assumes the role when attaching: the attachments wait for it.
    assert all(attachment["DependsOn"] == [role_id] for attachment in attachments)
    # The integration stack is deployed after the stack that exports the token.
    manifest = json.loads((synthesis.outdir / "manifest.json").read_text())
    assert "SpaceliftProvider" in manifest["artifacts"]["SpaceliftIntegrationExample"]["dependencies"]
    (output,) = synthesis.template("SpaceliftProvider")["Outputs"].values()
    assert output["Export"] == {"Name": "spacelift-cfn-ServiceToken"}


def test_provider_mirrors_template_yaml(synthesis: Synthesis) -> None:
    """Editing the SAM template's function settings should mean editing the construct too."""
    sam = json.loads(json.dumps(cfn_yaml.load(str(ROOT / "template.yaml"))))["Resources"]
    sam_function = sam["ProviderFunction"]["Properties"]
    template = synthesis.template("SpaceliftProvider")
    _, function = _only(template, "AWS::Lambda::Function")
    properties = function["Properties"]
    for name in ("Handler", "Runtime", "Architectures", "MemorySize", "Timeout"):
        assert properties[name] == sam_function[name], name
    assert set(properties["Environment"]["Variables"]) == set(sam_function["Environment"]["Variables"])
    assert properties["Environment"]["Variables"]["SPACELIFT_API_KEY_SECRET_ARN"] == SECRET_ARN
    _, invoke_config = _only(template, "AWS::Lambda::EventInvokeConfig")
    for name in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        assert invoke_config["Properties"][name] == sam_function["EventInvokeConfig"][name], name
    sam_table = sam["IdempotencyTable"]["Properties"]
    _, table = _only(template, "AWS::DynamoDB::Table")
    for name in ("KeySchema", "TimeToLiveSpecification", "BillingMode", "SSESpecification"):
        assert table["Properties"][name] == sam_table[name], name
    sam_statements = sam["ProviderFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    sam_dynamodb = next(s for s in sam_statements if isinstance(s, dict) and s.get("Sid") == "Idempotency")
    statements = [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
    dynamodb = next(s for s in statements if str(_list(s["Action"])[0]).startswith("dynamodb:"))
    assert sorted(_list(dynamodb["Action"])) == sorted(sam_dynamodb["Action"])


def test_provider_assets_come_from_the_wheel(synthesis: Synthesis) -> None:
    """The function and layer the wheel carries, as `make cdk` built them from src/ and layers/deps/."""
    template = synthesis.template("SpaceliftProvider")
    _, function = _only(template, "AWS::Lambda::Function")
    _, layer = _only(template, "AWS::Lambda::LayerVersion")
    function_asset = synthesis.outdir / (
        "asset." + function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    )
    layer_asset = synthesis.outdir / ("asset." + layer["Properties"]["Content"]["S3Key"].removesuffix(".zip"))
    assert (function_asset / "app.py").read_bytes() == (ROOT / "src" / "app.py").read_bytes()
    assert (function_asset / "spacelift_cfn" / "handler.py").is_file()
    assert list((function_asset / "spacelift_cfn" / "__pycache__").glob("handler.cpython-313.pyc"))
    site = layer_asset / "python"
    for package in ("aws_lambda_powertools", "crhelper", "requests"):
        assert (site / package).is_dir(), package
    # The runtime provides boto3; the layer never carries a second copy.
    assert not (site / "boto3").exists() and not (site / "botocore").exists()
