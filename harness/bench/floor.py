"""The floor: the least a program can do to answer the same Create, as a fresh process.

It imports boto3, creates the Secrets Manager client and reads the secret, then
sends the provider's exact GraphQL requests (API key exchange, account lookup,
the create mutation with one aliased ``externalIdForStack`` per ExternalIdsFor
entry) on one keep-alive ``http.client`` connection and PUTs the same response
body on a new connection, as the provider does. No validation, no retries, no
logging: what remains is the physical cost of the work (interpreter start,
boto3, the secret, the round trips), which the provider's cold start is
compared to. ``bench.cold`` checks at the emulator that the floor and the
provider sent the same operations with the same (masked) documents.

With ``--warm N`` it then repeats the create mutation N times on the open
connection and reports each one's time: the emulator's own answer time with a
client that does nothing else, which :mod:`bench.warm` subtracts from the
provider's warm overhead (the injected latency stands for Spacelift's whole
answer time).

With ``--table`` it also makes the table's four DynamoDB calls (PutItem of the
in-progress record, UpdateItem registering the Create in the ownership record,
UpdateItem recording what it made, PutItem of the result), the floor for the
cold start with ``IDEMPOTENCY_TABLE``.

Run like :mod:`bench.container`: ``python -I -S harness/bench/floor.py`` with
``BENCH_SYS_PATH``, the function's environment, and the event as a line
``{"event": {...}}`` on stdin.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

EXCHANGE = (
    "mutation GetSpaceliftToken($id: ID!, $secret: String!) "
    "{ apiKeyUser(id: $id, secret: $secret) { jwt validUntil } }"
)
ACCOUNT = "query SpaceliftAccount { name spaceliftAwsAccountId }"
FIELDS = (
    "$name: String!, $roleArn: String!, $generateCredentialsInWorker: Boolean!, "
    "$externalID: String!, $durationSeconds: Int!, $labels: [String!]!, $space: ID, "
    "$region: String, $autoattachEnabled: Boolean!, $tagAssumeRole: Boolean!"
)
ARGUMENTS = (
    "name: $name, roleArn: $roleArn, generateCredentialsInWorker: $generateCredentialsInWorker, "
    "externalID: $externalID, durationSeconds: $durationSeconds, labels: $labels, space: $space, "
    "region: $region, autoattachEnabled: $autoattachEnabled, tagAssumeRole: $tagAssumeRole"
)
EXTERNAL_ID = "{ externalId assumeRolePolicyStatement }"


def create_document(stacks: list[str]) -> tuple[str, dict[str, Any]]:
    """The create mutation with one aliased external ID per stack, and its target variables."""
    declarations, selections, variables = [], [], {}
    for index, stack in enumerate(stacks):
        declarations.append(f"$s{index}: ID!, $r{index}: Boolean!, $w{index}: Boolean!")
        selections.append(
            f"e{index}: externalIdForStack(stackId: $s{index}, read: $r{index}, write: $w{index}) "
            + EXTERNAL_ID
        )
        variables.update({f"s{index}": stack, f"r{index}": True, f"w{index}": True})
    joined = ", ".join(declarations)
    document = (
        f"mutation ({FIELDS}{', ' + joined if joined else ''}) "
        f"{{ awsIntegrationCreate({ARGUMENTS}) {{ id name roleArn space labels {' '.join(selections)} }} }}"
    )
    return document, variables


def post(connection: http.client.HTTPConnection, path: str, payload: Any, jwt: str | None) -> Any:
    headers = {"Content-Type": "application/json", "User-Agent": "floor"}
    if jwt:
        headers["Authorization"] = f"Bearer {jwt}"
    connection.request("POST", path, json.dumps(payload).encode(), headers)
    response = connection.getresponse()
    body = json.loads(response.read())
    if response.status != 200 or body.get("errors"):
        raise SystemExit(f"Spacelift answered {response.status}: {body}")
    return body["data"]


def idempotency_calls(table: str, key: str) -> tuple[Any, dict[str, Any]]:
    """The DynamoDB calls before the work: the in-progress record, the Create registered."""
    import boto3

    dynamodb = boto3.client("dynamodb")
    expiration = {"N": str(int(time.time()) + 3600)}
    dynamodb.put_item(
        TableName=table,
        Item={"id": {"S": key}, "expiration": expiration, "status": {"S": "INPROGRESS"}},
        ConditionExpression="attribute_not_exists(id)",
    )
    dynamodb.update_item(
        TableName=table,
        Key={"id": {"S": f"resource#{key}"}},
        UpdateExpression="SET create_request = :r REMOVE pending_until",
        ExpressionAttributeValues={":r": {"S": key}},
        ReturnValues="ALL_OLD",
    )
    return dynamodb, expiration


def main() -> None:
    sys.path[:0] = [path for path in os.environ["BENCH_SYS_PATH"].split(os.pathsep) if path]
    sys.dont_write_bytecode = True
    import boto3

    event = json.loads(sys.stdin.readline())["event"]
    properties = event["ResourceProperties"]
    table = os.environ.get("IDEMPOTENCY_TABLE") if "--table" in sys.argv else None
    secret = boto3.client("secretsmanager").get_secret_value(
        SecretId=os.environ["SPACELIFT_API_KEY_SECRET_ARN"]
    )["SecretString"]
    if table:
        dynamodb, expiration = idempotency_calls(table, event["RequestId"])

    endpoint = urlsplit(os.environ["SPACELIFT_API_KEY_ENDPOINT"])
    connection = http.client.HTTPConnection(endpoint.hostname or "", endpoint.port, timeout=30)
    path = endpoint.path.rstrip("/").removesuffix("/graphql") + "/graphql"
    key = {"id": os.environ["SPACELIFT_API_KEY_ID"], "secret": secret}
    jwt = post(connection, path, {"query": EXCHANGE, "variables": key}, None)["apiKeyUser"]["jwt"]
    account = post(connection, path, {"query": ACCOUNT, "variables": {}}, jwt)

    stacks = [entry["StackId"] for entry in properties.get("ExternalIdsFor", [])]
    document, variables = create_document(stacks)
    owner = (
        "spacelift-cfn:"
        + hashlib.sha256(f"{event['StackId']}|{event['LogicalResourceId']}".encode()).hexdigest()[:24]
    )
    variables |= {
        "name": properties["Name"],
        "roleArn": properties["RoleArn"],
        "generateCredentialsInWorker": False,
        "externalID": "",
        "durationSeconds": int(properties["DurationSeconds"]),
        "labels": [*properties.get("Labels", []), owner],
        "space": None,
        "region": None,
        "autoattachEnabled": False,
        "tagAssumeRole": False,
    }
    made = post(connection, path, {"query": document, "variables": variables}, jwt)["awsIntegrationCreate"]
    if table:
        dynamodb.update_item(
            TableName=table,
            Key={"id": {"S": f"resource#{event['RequestId']}"}},
            UpdateExpression="SET #made = :made ADD finished :r",
            ExpressionAttributeNames={"#made": f"made:{made['id']}"},
            ExpressionAttributeValues={":made": {"S": made["id"]}, ":r": {"SS": [event["RequestId"]]}},
            ReturnValues="ALL_NEW",
        )

    data = {"Id": made["id"], "Name": made["name"], "RoleArn": made["roleArn"], "SpaceId": made["space"]}
    data["SpaceliftAwsAccountId"] = account["spaceliftAwsAccountId"]
    statements = []
    for index, stack in enumerate(stacks):
        data[f"ExternalId.{stack}"] = made[f"e{index}"]["externalId"]
        statements.append(json.loads(made[f"e{index}"]["assumeRolePolicyStatement"]))
    policy = {"Version": "2012-10-17", "Statement": statements}
    data["AssumeRolePolicyDocument"] = json.dumps(policy, separators=(",", ":"))
    body = {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": made["id"],
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": dict(sorted(data.items())),
    }
    if table:
        dynamodb.put_item(
            TableName=table,
            Item={"id": {"S": event["RequestId"]}, "expiration": expiration, "data": {"S": json.dumps(body)}},
        )

    url = urlsplit(event["ResponseURL"])
    put = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    encoded = json.dumps(body).encode()
    put.request("PUT", f"{url.path}?{url.query}", encoded, {"content-type": ""})
    if put.getresponse().status != 200:
        raise SystemExit("the response PUT failed")
    put.close()
    if "--warm" in sys.argv:
        print(json.dumps({"warm": warm_creates(connection, path, document, variables, jwt)}))
    connection.close()
    print(json.dumps({"exit": True, "maxrss_kb": peak_rss_kb()}))


def warm_creates(
    connection: http.client.HTTPConnection, path: str, document: str, variables: dict[str, Any], jwt: str
) -> list[float]:
    """Seconds per create mutation on the warm connection: Spacelift's answer time, client aside."""
    seconds = []
    for index in range(int(sys.argv[sys.argv.index("--warm") + 1])):
        renamed = {**variables, "name": f"{variables['name']}-floor-{index}"}
        started = time.perf_counter()
        post(connection, path, {"query": document, "variables": renamed}, jwt)
        seconds.append(time.perf_counter() - started)
    return seconds


def peak_rss_kb() -> int:
    """Peak RSS since ``exec`` (as :func:`bench.container.peak_rss_kb`)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


if __name__ == "__main__":
    main()
