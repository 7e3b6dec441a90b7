"""What a container talks to, all on loopback and outside the measured processes.

* AWS is moto's server, run as its own process (so its CPU never counts against
  the child being measured), holding the API key secret and the idempotency table;
* Spacelift is :class:`spacelift_emulator.Emulator`, in a thread of the benchmark;
* CloudFormation's presigned ResponseURL is :class:`localcfn.ResponseServer`;
* the X-Ray daemon, for the runs with tracing on, is a UDP socket that receives and
  drops the segment documents, as the daemon in a Lambda container would take them.

:meth:`Services.environment` is the function's environment as the template sets
it (endpoint, key ID, secret ARN, optionally ``IDEMPOTENCY_TABLE``), plus the AWS
variables pointing boto3 at moto, and nothing inherited from the benchmark.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import boto3

from localcfn import ResponseServer
from spacelift_emulator import Emulator

API_KEY_ID = "01HXKEYBENCHAAAAAAAAAAAAAA"
API_KEY_SECRET = "bench-api-key-secret-value"
REGION = "us-east-1"
TABLE = "spacelift-cfn-idempotency"
#: Stacks the integrations' ExternalIdsFor and attachments name.
STACKS = tuple(f"stack-{index}" for index in range(10))
AWS_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
#: What Lambda itself sets that libraries read (botocore's user agent, Powertools).
LAMBDA_VARIABLES = {
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_NAME": "spacelift-cfn-provider",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
}


def _drain(daemon: socket.socket) -> None:
    """Receive and drop UDP datagrams until the socket is closed."""
    try:
        while True:
            daemon.recv(65536)
    except OSError:
        return


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Services:
    """moto (a process), the Spacelift emulator and the response capture, started together."""

    moto_url: str = ""
    secret_arn: str = ""
    emulator: Emulator = field(
        default_factory=lambda: Emulator(api_keys={API_KEY_ID: API_KEY_SECRET}, stacks=STACKS)
    )
    responses: ResponseServer = field(default_factory=ResponseServer)
    _moto: subprocess.Popen[bytes] | None = None
    _xray_daemon: socket.socket | None = None

    def __enter__(self) -> Self:
        port = free_port()
        self._moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.moto_url = f"http://127.0.0.1:{port}"
        try:
            self._seed_aws()
            self.emulator.start()
            self.responses.start()
            self._xray_daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._xray_daemon.bind(("127.0.0.1", 0))
            threading.Thread(target=_drain, args=(self._xray_daemon,), daemon=True).start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.responses.stop()
        self.emulator.stop()
        if self._xray_daemon is not None:
            self._xray_daemon.close()
        if self._moto is not None:
            self._moto.terminate()
            self._moto.wait(timeout=10)

    def _session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=AWS_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )

    def _seed_aws(self) -> None:
        secrets = self._session().client("secretsmanager", endpoint_url=self.moto_url)
        deadline = time.monotonic() + 30
        while True:  # moto's server takes a moment to listen
            try:
                created = secrets.create_secret(Name="spacelift/api-key-secret", SecretString=API_KEY_SECRET)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.secret_arn = str(created["ARN"])
        self._session().client("dynamodb", endpoint_url=self.moto_url).create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )

    def environment(
        self, *, table: bool = False, log_level: str = "INFO", traced: bool = False
    ) -> dict[str, str]:
        """The function's environment; with ``table`` the idempotency table as in production,
        with ``traced`` what the template's ``Tracing: Active`` sets (and Lambda adds)."""
        environment = {
            **LAMBDA_VARIABLES,
            **AWS_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.moto_url,
            "SPACELIFT_API_KEY_ENDPOINT": self.emulator.url,
            "SPACELIFT_API_KEY_ID": API_KEY_ID,
            "SPACELIFT_API_KEY_SECRET_ARN": self.secret_arn,
            "POWERTOOLS_SERVICE_NAME": "spacelift-cfn",
            "POWERTOOLS_LOG_LEVEL": log_level,
            "POWERTOOLS_LOGGER_LOG_EVENT": "false",
            "POWERTOOLS_METRICS_NAMESPACE": "SpaceliftCfn",
            "POWERTOOLS_TRACE_DISABLED": "false" if traced else "true",
        }
        if table:
            environment["IDEMPOTENCY_TABLE"] = TABLE
        if traced and self._xray_daemon is not None:
            host, port = self._xray_daemon.getsockname()
            environment |= {
                "LAMBDA_TASK_ROOT": "/var/task",  # Powertools traces only inside Lambda
                "AWS_XRAY_DAEMON_ADDRESS": f"{host}:{port}",
                "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
                "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            }
        return environment

    def reset_spacelift(self) -> None:
        """No integrations, no faults, counters at zero; tokens already issued stay valid."""
        self.emulator.reset()
