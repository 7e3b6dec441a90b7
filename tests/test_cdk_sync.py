"""The CDK constructs (cdk/, TypeScript) kept in step with the provider's property declarations
(src/spacelift_cfn: ``specs()`` of each resource module's property dataclass).

Read from jsii's assembly (cdk/build/.jsii: every prop's type, optionality and ``@default``) and
from the compiled constructs run by Node.js (the resource types they make, the bounds they
enforce). A property added, renamed, retyped or given another default or bound on one side only
fails here; so does a pin of aws-cdk-lib or constructs that differs between npm and PyPI.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
import subprocess
import types
import typing
from collections.abc import Iterator
from typing import Any

import pytest

from spacelift_cfn.handler import RESOURCE_TYPES
from spacelift_cfn.properties import Spec, specs
from spacelift_cfn.resources.external_ids import Target
from tests.cdk_packages import BUILD, NODE_ENV, ROOT, built

PACKAGE = "spacelift-cfn-cdk"
#: Construct props that are not resource properties: where requests go, and what CDK decides.
CONSTRUCT_ONLY = {"serviceToken", "provider", "serviceTimeout", "removalPolicy", "integration"}
#: Resource properties a construct may take from another of its props instead: (construct, prop)
#: -> the other prop.
ALTERNATIVES = {("SpaceliftAwsIntegrationAttachment", "integrationId"): "integration"}
TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:spacelift-cfn-provider"
#: Props each construct needs to be built, for trying values of one property at a time.
VALID_PROPS: dict[str, dict[str, Any]] = {
    "SpaceliftAwsIntegration": {"name": "n", "roleArn": "arn:aws:iam::123456789012:role/r"},
    "SpaceliftAwsIntegrationAttachment": {"integrationId": "01HXK5ZQ7M3N4P8R2S6T9V0W1X", "stackId": "s"},
    "SpaceliftAwsIntegrationExternalId": {"integrationId": "01HXK5ZQ7M3N4P8R2S6T9V0W1X", "stackId": "s"},
    "SpaceliftAwsIntegrationLookup": {"name": "n"},
}
PROBE = """
const lib = require('./lib');
const { App, Stack } = require('aws-cdk-lib');
const types = {};
for (const [name, value] of Object.entries(lib)) {
  if (typeof value === 'function' && typeof value.RESOURCE_TYPE === 'string') types[name] = value.RESOURCE_TYPE;
}
const results = JSON.parse(process.argv[1]).map(({ construct, props }) => {
  try { new lib[construct](new Stack(new App(), 'Probe'), 'Construct', props); return null; }
  catch (error) { return error.message; }
});
console.log(JSON.stringify({ types, results }));
"""


def camel(cloudformation_name: str) -> str:
    return cloudformation_name[0].lower() + cloudformation_name[1:]


def probe(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The constructs' resource types, and the error (or None) each case's props give."""
    result = subprocess.run(
        ["node", "-e", PROBE, json.dumps(cases)],
        cwd=BUILD,
        env=os.environ | NODE_ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


@pytest.fixture(scope="module")
def assembly() -> dict[str, Any]:
    return built().assembly


@pytest.fixture(scope="module")
def constructs() -> dict[str, str]:
    """Resource type -> the construct that makes it."""
    types_by_construct: dict[str, str] = probe([])["types"]
    return {resource_type: name for name, resource_type in types_by_construct.items()}


def struct_properties(assembly: dict[str, Any], fqn: str) -> dict[str, dict[str, Any]]:
    """A props interface's properties, inherited ones included."""
    struct = assembly["types"][fqn]
    found: dict[str, dict[str, Any]] = {}
    for parent in struct.get("interfaces", []):
        found |= struct_properties(assembly, parent)
    return found | {prop["name"]: prop for prop in struct.get("properties", [])}


def properties_class(module: object) -> type[Any]:
    """The dataclass a resource module declares its properties with."""
    (cls,) = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and value.__module__ == getattr(module, "__name__", None)
        and dataclasses.is_dataclass(value)
        and specs(value)
    ]
    return cls


def declarations(cls: type[Any]) -> Iterator[tuple[str, Any, Spec]]:
    """(CloudFormation name, type hint without None, spec) of each declared property."""
    hints = typing.get_type_hints(cls)
    for field, spec in specs(cls):
        hint = hints[field.name]
        if typing.get_origin(hint) in (types.UnionType, typing.Union):
            (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        yield spec.name, hint, spec


def jsii_type(hint: Any) -> dict[str, Any]:
    """The jsii type reference a property declared as ``hint`` should have."""
    primitive = {str: "string", int: "number", bool: "boolean"}
    if hint in primitive:
        return {"primitive": primitive[hint]}
    if hint is Target:
        return {"fqn": f"{PACKAGE}.ExternalIdTarget"}
    if typing.get_origin(hint) is tuple:
        return {"collection": {"kind": "array", "elementtype": jsii_type(typing.get_args(hint)[0])}}
    raise AssertionError(f"no jsii type known for {hint!r}")


def expected_default(spec: Spec) -> str | None:
    """The ``@default`` a construct prop should document (None: a description, "- ...")."""
    if spec.default is None:
        return None
    if isinstance(spec.default, bool):
        return str(spec.default).lower()
    if isinstance(spec.default, tuple):
        return "[]"
    return str(spec.default)


def bounds(spec: Spec) -> tuple[int, int] | None:
    """(low, high) when the property is checked with ``between(low, high)``."""
    if spec.check is None or not spec.check.__qualname__.startswith("between."):
        return None
    values = inspect.getclosurevars(spec.check).nonlocals
    return int(values["low"]), int(values["high"])


def pairs(constructs: dict[str, str]) -> list[tuple[str, str, type[Any]]]:
    """(construct, its props struct, the provider's properties class), plus the targets."""
    found = [
        (constructs[resource_type], f"{PACKAGE}.{constructs[resource_type]}Props", properties_class(module))
        for resource_type, module in RESOURCE_TYPES.items()
    ]
    return [*found, ("ExternalIdTarget", f"{PACKAGE}.ExternalIdTargetProps", Target)]


def test_every_resource_type_has_a_construct(constructs: dict[str, str]) -> None:
    assert sorted(constructs) == sorted(RESOURCE_TYPES)
    assert set(VALID_PROPS) == set(constructs.values())


def test_props_match_the_declarations(assembly: dict[str, Any], constructs: dict[str, str]) -> None:
    problems = []
    for construct, fqn, cls in pairs(constructs):
        props = struct_properties(assembly, fqn)
        declared = {camel(name): (name, hint, spec) for name, hint, spec in declarations(cls)}
        extra = sorted(set(props) - set(declared) - CONSTRUCT_ONLY)
        missing = sorted(set(declared) - set(props))
        problems += [f"{construct}: {name} is not a property of {cls.__name__}" for name in extra]
        problems += [
            f"{construct}: {cls.__name__}'s {declared[name][0]} has no prop {name}" for name in missing
        ]
        for name in sorted(set(declared) & set(props)):
            cloudformation_name, hint, spec = declared[name]
            prop = props[name]
            where = f"{construct}.{name} ({cls.__name__}.{cloudformation_name})"
            if prop["type"] != jsii_type(hint):
                problems.append(f"{where}: type {prop['type']}, expected {jsii_type(hint)}")
            optional = prop.get("optional", False)
            alternative = ALTERNATIVES.get((construct, name))
            if spec.required and optional and not (alternative and alternative in props):
                problems.append(f"{where}: optional in the construct, required by the provider")
            if not spec.required and not optional:
                problems.append(f"{where}: required in the construct, optional for the provider")
            if not spec.required:
                documented = prop["docs"].get("default")
                wanted = expected_default(spec)
                if wanted is None and not (documented or "").startswith("- "):
                    problems.append(f"{where}: @default {documented!r}, expected a description '- ...'")
                if wanted is not None and documented != wanted:
                    problems.append(f"{where}: @default {documented!r}, the provider's default is {wanted}")
            limits = bounds(spec)
            text = " ".join(prop["docs"].get(key, "") for key in ("summary", "remarks"))
            if limits and f"between {limits[0]} and {limits[1]}" not in " ".join(text.split()):
                problems.append(f"{where}: the docs do not say 'between {limits[0]} and {limits[1]}'")
    assert not problems, "\n".join(problems)


def test_bounds_are_enforced_at_synthesis(constructs: dict[str, str]) -> None:
    """Every ``between(low, high)`` check of the provider refuses the same values in the construct."""
    cases, expected = [], []
    for construct, _, cls in pairs(constructs):
        if construct not in VALID_PROPS:
            continue
        for name, _, spec in declarations(cls):
            limits = bounds(spec)
            if limits is None:
                continue
            low, high = limits
            for value, accepted in ((low - 1, False), (low, True), (high, True), (high + 1, False)):
                props = {"serviceToken": TOKEN, **VALID_PROPS[construct], camel(name): value}
                cases.append({"construct": construct, "props": props})
                expected.append((construct, camel(name), value, accepted))
    assert cases, "no bounded property found: does the provider still declare between() checks?"
    results = probe(cases)["results"]
    for (construct, name, value, accepted), error in zip(expected, results, strict=True):
        if accepted:
            assert error is None, f"{construct} refuses {name}={value}: {error}"
        else:
            assert error is not None and name in error, f"{construct} accepts {name}={value} ({error})"


def test_every_optional_prop_documents_its_default(assembly: dict[str, Any]) -> None:
    undocumented = [
        f"{fqn}.{prop['name']}"
        for fqn, kind in assembly["types"].items()
        if kind["kind"] == "interface" and kind.get("datatype")
        for prop in kind.get("properties", [])
        if prop.get("optional") and not prop["docs"].get("default")
    ]
    assert not undocumented, f"add @default to {undocumented}"


def _pip_pins() -> dict[str, str]:
    text = (ROOT / "examples" / "cdk" / "requirements.txt").read_text()
    return dict(re.findall(r"^([\w-]+)==(\S+)$", text, re.MULTILINE))


def test_npm_and_pypi_use_the_same_aws_cdk_lib_and_constructs() -> None:
    package = json.loads((ROOT / "cdk" / "package.json").read_text())
    pins = _pip_pins()
    for name in ("aws-cdk-lib", "constructs"):
        assert package["devDependencies"][name] == pins[name], name
        # The wheel requires at least this version, which the pinned Python package satisfies.
        assert package["peerDependencies"][name] == f"^{pins[name]}", name


def test_the_packages_carry_what_construct_hub_looks_for(
    assembly: dict[str, Any], constructs: dict[str, str]
) -> None:
    """Construct Hub lists jsii libraries whose keywords name the CDK ("awscdk"), and shows the
    API reference jsii-docgen writes (the build copies it to cdk/API.md): every construct is in it."""
    assert "awscdk" in assembly.get("keywords", [])
    reference = (ROOT / "cdk" / "API.md").read_text()
    for construct in (*sorted(constructs.values()), "SpaceliftProvider"):
        assert f"### {construct} " in reference, construct
