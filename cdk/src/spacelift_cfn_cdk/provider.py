"""``SpaceliftProvider``: the provider function of ``template.yaml``, as a construct.

It mirrors the SAM template (same function settings, least-privilege role,
idempotency table, log group) and builds its two assets with the same Makefiles
``sam build`` runs (``src/Makefile`` and ``layers/deps/Makefile``), locally and
without Docker: pip fetches the Lambda platform's wheels (arm64, CPython 3.13)
whatever the machine is. Already-built folders (``.aws-sam/build/...``) can be
given instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from spacelift_cfn_cdk._common import is_literal

#: The checkout this package lives in (cdk/src/spacelift_cfn_cdk/provider.py).
DEFAULT_SOURCE_ROOT = Path(__file__).resolve().parents[3]

LOG_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")

#: The image ``sam build --use-container`` uses; only used when local bundling cannot
#: run (no ``make`` or no Python 3.13 on the machine).
BUILD_IMAGE = "public.ecr.aws/sam/build-python3.13"

#: Never part of an asset: caches would change its hash from one machine to another.
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.mypy_cache", "**/.pytest_cache"]

PathLike = str | os.PathLike[str]


class SpaceliftProvider(Construct):
    """The Lambda function that serves the ``Custom::Spacelift*`` resource types.

    ``api_key_secret`` holds the Spacelift API key's secret; the function may read
    that secret only. Pass ``export_name`` (e.g. ``"spacelift-cfn-ServiceToken"``,
    what the SAM stack exports) to let other stacks ``Fn.import_value`` the token,
    or hand the provider itself to the resource constructs of this app.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api_key_endpoint: str,
        api_key_id: str,
        api_key_secret: secretsmanager.ISecret,
        function_name: str | None = None,
        log_level: str = "INFO",
        export_name: str | None = None,
        source_root: PathLike | None = None,
        function_asset_path: PathLike | None = None,
        layer_asset_path: PathLike | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if log_level not in LOG_LEVELS:
            raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
        if is_literal(api_key_endpoint) and not api_key_endpoint.startswith("https://"):
            raise ValueError(
                f"api_key_endpoint must be an https:// URL such as https://acme.app.spacelift.io, "
                f"got {api_key_endpoint!r}"
            )
        root = Path(source_root) if source_root is not None else DEFAULT_SOURCE_ROOT

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            # Named like Lambda's own group when the function's name is known.
            log_group_name=f"/aws/lambda/{function_name}" if function_name else None,
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # Powertools Idempotency (DynamoDBPersistenceLayer defaults: key "id",
        # expiry "expiration"). Records live about an hour: deleted with the stack.
        self.table = dynamodb.Table(
            self,
            "IdempotencyTable",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expiration",
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # An explicit role: Lambda's default one gets AWSLambdaBasicExecutionRole,
        # which may write to every log group.
        self.role = iam.Role(
            self,
            "Role",
            description="Execution role of the spacelift-cfn provider function",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        self.log_group.grant_write(self.role)
        # Only the calls Powertools Idempotency makes.
        self.table.grant(
            self.role, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"
        )
        # Also grants kms:Decrypt (through Secrets Manager) when the secret has its own key.
        api_key_secret.grant_read(self.role)

        self.layer = lambda_.LayerVersion(
            self,
            "DependenciesLayer",
            code=_asset(root / "layers" / "deps", "build-DependenciesLayer", layer_asset_path),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_13],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="Runtime dependencies of the spacelift-cfn provider (Powertools, crhelper, requests)",
            license="See the licenses of the packages in python/*.dist-info",
            # Only this function uses the layer, always its newest version.
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description="Serves the Custom::SpaceliftAwsIntegration* CloudFormation resource types",
            code=_asset(root / "src", "build-ProviderFunction", function_asset_path),
            handler="app.handler",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=128,
            # Resources set ServiceTimeout to 150 s, a little above this.
            timeout=cdk.Duration.seconds(120),
            role=self.role,
            layers=[self.layer],
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel(log_level),
            # CloudFormation invokes asynchronously. Retries are safe (the provider is
            # idempotent), but none may start after CloudFormation stopped waiting
            # (ServiceTimeout 150 s): see the comment in template.yaml.
            retry_attempts=2,
            max_event_age=cdk.Duration.seconds(150),
            environment={
                "SPACELIFT_API_KEY_ENDPOINT": api_key_endpoint,
                "SPACELIFT_API_KEY_ID": api_key_id,
                # The full ARN when known; else the name, which GetSecretValue
                # resolves more reliably than a partial ARN.
                "SPACELIFT_API_KEY_SECRET_ARN": api_key_secret.secret_full_arn or api_key_secret.secret_name,
                "IDEMPOTENCY_TABLE": self.table.table_name,
                "POWERTOOLS_SERVICE_NAME": "spacelift-cfn",
                "POWERTOOLS_LOG_LEVEL": log_level,
                # The event holds the presigned ResponseURL: never log it.
                "POWERTOOLS_LOGGER_LOG_EVENT": "false",
            },
        )

        if export_name is not None:
            cdk.CfnOutput(
                self,
                "ServiceToken",
                description="ServiceToken for the Custom::SpaceliftAwsIntegration* resources",
                value=self.service_token,
                export_name=export_name,
            )

    @property
    def service_token(self) -> str:
        """The ServiceToken of the ``Custom::Spacelift*`` resources: the function's ARN."""
        return self.function.function_arn


def _asset(source: Path, make_target: str, prebuilt: PathLike | None) -> lambda_.Code:
    """A prebuilt folder as is, else ``source`` built by its Makefile's ``make_target``."""
    if prebuilt is not None:
        return lambda_.Code.from_asset(str(prebuilt))
    if not (source / "Makefile").is_file():
        raise FileNotFoundError(
            f"{source / 'Makefile'} not found: pass source_root (a spacelift-cfn checkout), or "
            "function_asset_path and layer_asset_path (folders built by `sam build`)."
        )
    return lambda_.Code.from_asset(
        str(source),
        exclude=ASSET_EXCLUDES,
        bundling=cdk.BundlingOptions(
            image=cdk.DockerImage.from_registry(BUILD_IMAGE),
            command=["make", "-C", "/asset-input", make_target, "ARTIFACTS_DIR=/asset-output"],
            local=MakeBundling(source, make_target),
        ),
    )


@jsii.implements(cdk.ILocalBundling)
class MakeBundling:
    """Runs ``make <target> ARTIFACTS_DIR=<asset output>`` in ``directory``, as ``sam build`` does.

    The Makefiles need Python 3.13 exactly (they precompile for the python3.13
    runtime): this interpreter when it is 3.13, else ``python3.13`` on PATH.
    Without ``make`` or Python 3.13 it declines, and CDK falls back to Docker.
    """

    def __init__(self, directory: Path, target: str) -> None:
        self.directory = directory
        self.target = target

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **options: Any) -> bool:
        make = shutil.which("make")
        python = sys.executable if sys.version_info[:2] == (3, 13) else shutil.which("python3.13")
        if make is None or python is None:
            missing = "make" if make is None else "Python 3.13"
            print(
                f"spacelift-cfn-cdk: {missing} not found, bundling {self.target} with Docker", file=sys.stderr
            )
            return False
        command = [
            make,
            "-C",
            str(self.directory),
            self.target,
            f"ARTIFACTS_DIR={output_dir}",
            f"PYTHON={python}",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        # To stderr: the CDK CLI reads a CDK app's stdout.
        sys.stderr.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed with exit code {result.returncode}")
        return True
