"""``make demo``: the seed example's lifecycle, played locally through the real handler.

Starts the Spacelift emulator and moto's server (for IAM) on loopback, then plays
examples/integration-stack.yaml as CloudFormation would: Create, an Update that
flips the module attachment's Write, and Delete. Every request CloudFormation
would send, and every answer it would get, is printed, with the trust policy
built from the returned external IDs.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import textwrap
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from localcfn import CapturedResponse, LocalFunction, ResponseServer, StackPlayer
from localcfn.iam_trust import iam_trust_check
from spacelift_emulator import Emulator

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "integration-stack.yaml"
KEY_ID, KEY_SECRET = "01HXDEMOKEYAAAAAAAAAAAAAAA", "demo-secret"
SPACELIFT_AWS_ACCOUNT = "324880187172"


def main() -> None:
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the demo prints the requests itself
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log
    moto_url = _start_moto()
    iam = boto3.client("iam")
    with Emulator(
        api_keys={KEY_ID: KEY_SECRET}, account_name="acme", aws_account_id=SPACELIFT_AWS_ACCOUNT
    ) as spacelift:
        spacelift.add_stack("my-stack-id")
        spacelift.add_module("my-module-id")
        spacelift.trust_check = iam_trust_check(iam, SPACELIFT_AWS_ACCOUNT)
        responses = ResponseServer().start()
        function = LocalFunction(
            responses,
            {
                "SPACELIFT_API_KEY_ENDPOINT": spacelift.url,
                "SPACELIFT_API_KEY_ID": KEY_ID,
                "SPACELIFT_API_KEY_SECRET": KEY_SECRET,
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            },
        )
        player = StackPlayer(
            EXAMPLE,
            function,
            iam=iam,
            exports={
                "spacelift-cfn-ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:spacelift-cfn-provider"
            },
            on_request=_show,
        )
        print(f"Spacelift emulator on {spacelift.url}, IAM (moto) on {moto_url}\n")

        _heading("Create the stack")
        player.create()
        role = iam.get_role(RoleName="my_role")["Role"]
        print("Trust policy of IAM role my_role, built from the returned attributes:")
        print(textwrap.indent(json.dumps(role["AssumeRolePolicyDocument"], indent=2), "    "))

        _heading("Update: the module attachment gets Write access (ModuleWrite=true)")
        player.update({"ModuleWrite": "true"})

        _heading("Delete the stack")
        player.delete()
        print(
            f"Left in Spacelift: {len(spacelift.integrations)} integrations, {len(spacelift.attachments)} attachments"
        )
        print(f"Spacelift requests: {spacelift.request_count()} ({spacelift.token_exchanges} token exchange)")
        responses.stop()


def _start_moto() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False).start()
    url = f"http://127.0.0.1:{port}"
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    return url


def _heading(text: str) -> None:
    print(f"\n=== {text} ===\n")


def _show(event: dict[str, Any], response: CapturedResponse) -> None:
    shown = {key: value for key, value in event.items() if key not in ("ResponseURL", "ServiceToken")}
    shown["ResourceProperties"] = {
        k: v for k, v in event["ResourceProperties"].items() if k != "ServiceToken"
    }
    print(
        f"CloudFormation -> provider: {event['RequestType']} {event['ResourceType']} {event['LogicalResourceId']}"
    )
    print(textwrap.indent(json.dumps(shown, indent=2), "    "))
    answer = {
        key: response.body[key]
        for key in ("Status", "Reason", "PhysicalResourceId", "Data")
        if response.body.get(key)
    }
    print("provider -> CloudFormation:")
    print(textwrap.indent(json.dumps(answer, indent=2), "    ") + "\n")


if __name__ == "__main__":
    main()
