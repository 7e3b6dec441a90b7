"""A small stand-in for CloudFormation that plays a template's lifecycle.

It reads a template (with cfn-lint's decoder), resolves the intrinsic
functions the examples use, and walks the resources in dependency order:
custom resources go to the provider as CloudFormation would send them (every
scalar a string, ``OldResourceProperties`` on Update, replacement by a new
PhysicalResourceId followed by a Delete of the old one in cleanup, Delete in
reverse order); IAM roles go to an IAM API (moto's server in tests and demo).

It is a test instrument, not a CloudFormation: no conditions, no rollback of
updates, only the intrinsics listed in ``_resolve``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

from localcfn.doubles import CapturedResponse as Response

Invoke = Callable[[dict[str, Any]], Response]


@dataclass
class Resource:
    logical_id: str
    type: str
    physical_id: str = ""
    data: dict[str, str] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)


class StackFailed(Exception):
    """A resource answered FAILED; the stack stops as CloudFormation would."""


class StackPlayer:
    def __init__(
        self,
        template: Path,
        invoke: Invoke,
        *,
        iam: Any,
        parameters: Mapping[str, str] | None = None,
        exports: Mapping[str, str] | None = None,
        stack_name: str = "spacelift-demo",
        account_id: str = "123456789012",
        region: str = "us-east-1",
        on_request: Callable[[dict[str, Any], Response], None] | None = None,
    ) -> None:
        self.template = template
        self.invoke = invoke
        self.iam = iam
        self.parameters = dict(parameters or {})
        self.exports = dict(exports or {})
        self.stack_name = stack_name
        self.account_id = account_id
        self.region = region
        self.stack_id = f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/{uuid.uuid4()}"
        self.on_request = on_request or (lambda event, response: None)
        self.resources: dict[str, Resource] = {}
        self._values: dict[str, str] = {}

    # The three stack operations -------------------------------------------------

    def create(self) -> None:
        body = self._load()
        for logical_id in self._order(body):
            self._create(logical_id, body["Resources"][logical_id])

    def update(self, parameters: Mapping[str, str] | None = None, template: Path | None = None) -> None:
        """A stack update with new parameter values and/or a new template."""
        self.parameters.update(parameters or {})
        self.template = template or self.template
        body = self._load()
        replaced: list[Resource] = []
        for logical_id in self._order(body):
            definition = body["Resources"][logical_id]
            old = self.resources[logical_id]
            new_properties = self._resolve(definition.get("Properties", {}))
            if new_properties == old.properties:
                continue
            if old.type.startswith("Custom::"):
                response = self._send("Update", old, new_properties, old.properties)
                if response.physical_id != old.physical_id:
                    replaced.append(
                        Resource(old.logical_id, old.type, old.physical_id, old.data, old.properties)
                    )
                old.physical_id, old.data, old.properties = (
                    response.physical_id,
                    response.data,
                    new_properties,
                )
            else:
                self._update_role(old, new_properties)
        for resource in replaced:  # UPDATE_COMPLETE_CLEANUP_IN_PROGRESS
            self._send("Delete", resource, resource.properties)

    def delete(self) -> None:
        body = self._load()
        for logical_id in reversed(self._order(body)):
            resource = self.resources.pop(logical_id, None)
            if resource is None:
                continue
            if resource.type.startswith("Custom::"):
                self._send("Delete", resource, resource.properties)
            else:
                self._delete_role(resource)

    # Resources ---------------------------------------------------------------------

    def _create(self, logical_id: str, definition: Mapping[str, Any]) -> None:
        properties = self._resolve(definition.get("Properties", {}))
        resource = Resource(logical_id, definition["Type"], properties=properties)
        if resource.type.startswith("Custom::"):
            response = self._send("Create", resource, properties)
            resource.physical_id, resource.data = response.physical_id, response.data
        elif resource.type == "AWS::IAM::Role":
            self._create_role(resource)
        else:
            raise NotImplementedError(resource.type)
        self.resources[logical_id] = resource

    def _send(
        self, request_type: str, resource: Resource, properties: Mapping[str, Any], old: Any = None
    ) -> Response:
        request_id = str(uuid.uuid4())
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": properties.get("ServiceToken", ""),
            "ResponseURL": "",  # the invoker fills in its capture URL
            "StackId": self.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": resource.logical_id,
            "ResourceType": resource.type,
            "ResourceProperties": stringify(properties),
        }
        if request_type != "Create":
            event["PhysicalResourceId"] = resource.physical_id
        if old is not None:
            event["OldResourceProperties"] = stringify(old)
        response = self.invoke(event)
        self.on_request(event, response)
        if response.status != "SUCCESS":
            raise StackFailed(f"{resource.logical_id} {request_type} FAILED: {response.reason}")
        return response

    def _create_role(self, resource: Resource) -> None:
        properties = resource.properties
        role = self.iam.create_role(
            RoleName=properties["RoleName"],
            AssumeRolePolicyDocument=_policy_json(properties["AssumeRolePolicyDocument"]),
            MaxSessionDuration=int(properties.get("MaxSessionDuration", 3600)),
        )["Role"]
        for policy_arn in properties.get("ManagedPolicyArns", []):
            self.iam.attach_role_policy(RoleName=properties["RoleName"], PolicyArn=policy_arn)
        resource.physical_id, resource.data = role["RoleName"], {"Arn": role["Arn"]}

    def _update_role(self, resource: Resource, properties: dict[str, Any]) -> None:
        self.iam.update_assume_role_policy(
            RoleName=resource.physical_id, PolicyDocument=_policy_json(properties["AssumeRolePolicyDocument"])
        )
        resource.properties = properties

    def _delete_role(self, resource: Resource) -> None:
        for policy_arn in resource.properties.get("ManagedPolicyArns", []):
            self.iam.detach_role_policy(RoleName=resource.physical_id, PolicyArn=policy_arn)
        self.iam.delete_role(RoleName=resource.physical_id)

    # Template ----------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        body = cfn_yaml.load(str(self.template))
        defaults = {name: str(p.get("Default", "")) for name, p in body.get("Parameters", {}).items()}
        self._values = {**defaults, **self.parameters}
        return dict(body)

    def _order(self, body: Mapping[str, Any]) -> list[str]:
        resources = body["Resources"]
        ordered: list[str] = []

        def visit(logical_id: str) -> None:
            if logical_id in ordered:
                return
            for dependency in sorted(dependencies(resources[logical_id]) & set(resources)):
                visit(dependency)
            ordered.append(logical_id)

        for logical_id in resources:
            visit(logical_id)
        return ordered

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._resolve(item) for item in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            (function, argument), *_ = value.items()
            if function == "Ref":
                return self._ref(str(argument))
            if function == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.resources[logical_id].data[attribute]
            if function == "Fn::Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m.group(1)), str(argument))
            if function == "Fn::ImportValue":
                return self.exports[self._resolve(argument)]
        return {key: self._resolve(item) for key, item in value.items()}

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::AccountId": self.account_id, "AWS::Region": self.region, "AWS::Partition": "aws"}
        pseudo["AWS::StackName"] = self.stack_name
        if name in pseudo:
            return pseudo[name]
        if name in self._values:
            return self._values[name]
        return self.resources[name].physical_id

    def _sub(self, name: str) -> str:
        if "." in name and name.split(".", 1)[0] in self.resources:
            logical_id, attribute = name.split(".", 1)
            return self.resources[logical_id].data[attribute]
        return self._ref(name)


def stringify(value: Any) -> Any:
    """CloudFormation sends every scalar as a string, also inside lists and maps."""
    if isinstance(value, Mapping):
        return {key: stringify(item) for key, item in value.items()}
    if isinstance(value, list):
        return [stringify(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _policy_json(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def dependencies(value: Any) -> frozenset[str]:
    """Logical IDs a definition names: Ref, Fn::GetAtt, Fn::Sub and DependsOn (pseudo
    parameters such as ``AWS::Region`` excluded)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= dependencies(item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key == "Ref" and not str(item).startswith("AWS::"):
                found.add(str(item))
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else str(item).split(".", 1)[0])
            elif key == "Fn::Sub":
                found |= {name.split(".", 1)[0] for name in re.findall(r"\$\{([^}]+)\}", str(item))}
            elif key == "DependsOn":
                found |= {item} if isinstance(item, str) else {str(name) for name in item}
            else:
                found |= dependencies(item)
    return frozenset(found)
