"""The reference pages in docs/ agree with the code.

* The property table of each resource type is exactly what ``markdown_table``
  renders from the declaration (type, required, default, "Update requires"), and
  the page is what ``scripts/reference_tables.py`` writes, so a property cannot be
  accepted but undocumented, or documented but refused.
* The attributes documented for ``Fn::GetAtt`` are exactly the ``Data`` keys the
  real handler returns (run against the emulator), placeholders such as
  ``<StackOrModuleId>`` standing for any ID.
* Every YAML example parses with cfn-lint's loader; whole templates (with an
  ``AWSTemplateFormatVersion``) also pass cfn-lint.
* Every relative link points at a file that exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint
from cfnlint.decode import cfn_yaml

from localcfn import CapturedResponse, LocalFunction
from scripts.reference_tables import PAGES as GENERATED_PAGES
from scripts.reference_tables import rendered
from spacelift_cfn.properties import markdown_table
from spacelift_cfn.resources.attachment import AttachmentProperties
from spacelift_cfn.resources.external_id import ExternalIdProperties
from spacelift_cfn.resources.integration import IntegrationProperties
from spacelift_cfn.resources.lookup import RESOURCE_TYPE as LOOKUP
from spacelift_cfn.resources.lookup import LookupProperties
from spacelift_emulator import Emulator
from tests.conftest import ATTACHMENT, EXTERNAL_ID, INTEGRATION, event

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))

_YAML_BLOCK = re.compile(r"^```ya?ml[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_ATTRIBUTE_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|")
_PLACEHOLDER = re.compile(r"<[A-Za-z]+>")


@dataclass(frozen=True)
class Page:
    resource_type: str
    path: Path
    properties: type[Any]
    #: The PhysicalResourceId (``Ref``) as the page writes it, and how to build it from a response.
    ref: str
    physical_id: Callable[[CapturedResponse], str]


RESOURCE_PAGES = [
    Page(
        INTEGRATION,
        DOCS / "resources" / "integration.md",
        IntegrationProperties,
        "the integration ID",
        lambda response: response.data["Id"],
    ),
    Page(
        ATTACHMENT,
        DOCS / "resources" / "attachment.md",
        AttachmentProperties,
        "`<integrationId>/<stackOrModuleId>/<attachmentId>`",
        lambda r: f"{r.data['IntegrationId']}/{r.data['StackId']}/{r.data['Id']}",
    ),
    Page(
        EXTERNAL_ID,
        DOCS / "resources" / "external-id.md",
        ExternalIdProperties,
        "`<integrationId>/<stackOrModuleId>/<read|write>`",
        lambda r: f"{r.data['ExternalId'].split('@')[1]}/my-stack-id/write",
    ),
    Page(
        LOOKUP,
        DOCS / "resources" / "lookup.md",
        LookupProperties,
        "the integration ID",
        lambda response: response.data["Id"],
    ),
]
IDS = [page.path.stem for page in RESOURCE_PAGES]


def between(text: str, name: str) -> str:
    """The text between ``<!-- name:start -->`` and ``<!-- name:end -->`` (exactly one pair)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    assert text.count(start) == 1, f"expected one {start}"
    assert text.count(end) == 1, f"expected one {end}"
    inside = text.split(start, 1)[1].split(end, 1)[0]
    assert end not in text.split(start, 1)[0], f"{end} comes before {start}"
    return inside.strip("\n")


def documented_attributes(text: str) -> list[str]:
    rows = between(text, "attributes").splitlines()
    names = [match.group(1) for row in rows if (match := _ATTRIBUTE_ROW.match(row))]
    assert names, "the attributes table lists no attribute"
    return names


def as_pattern(name: str) -> re.Pattern[str]:
    """``ExternalId.<StackOrModuleId>`` → a pattern matching ``ExternalId.my-stack-id``."""
    parts = _PLACEHOLDER.split(name)
    return re.compile(".+".join(re.escape(part) for part in parts))


def create(page: Page, function: LocalFunction) -> CapturedResponse:
    """The real handler's response to a Create of ``page``'s resource type (after its integration)."""
    integration = function(
        event(
            "Create",
            {
                "Name": "x",
                "RoleArn": "arn:aws:iam::123456789012:role/x",
                "ExternalIdsFor": [{"StackId": "my-stack-id"}],
            },
            resource_type=INTEGRATION,
        )
    )
    assert integration.status == "SUCCESS", integration.reason
    if page.resource_type == INTEGRATION:
        return integration
    properties: dict[str, Any] = {"IntegrationId": integration.physical_id, "StackId": "my-stack-id"}
    if page.resource_type == LOOKUP:
        properties = {"Name": "x", "ExternalIdsFor": [{"StackId": "my-stack-id"}]}
    response = function(
        event("Create", properties, resource_type=page.resource_type, logical_id="Documented")
    )
    assert response.status == "SUCCESS", response.reason
    return response


@pytest.mark.parametrize("page", RESOURCE_PAGES, ids=IDS)
def test_property_table_is_the_declaration(page: Page) -> None:
    assert between(page.path.read_text(), "properties") == markdown_table(page.properties)


@pytest.mark.parametrize("page", RESOURCE_PAGES, ids=IDS)
def test_page_is_what_the_generator_writes(page: Page) -> None:
    """Regenerate with ``PYTHONPATH=src .venv/bin/python scripts/reference_tables.py``."""
    assert GENERATED_PAGES[page.path.name] is page.properties
    text = page.path.read_text()
    assert rendered(text, page.properties) == text


def test_every_reference_page_is_generated_and_tested() -> None:
    on_disk = sorted(path.name for path in (DOCS / "resources").glob("*.md"))
    assert on_disk == sorted(GENERATED_PAGES) == sorted(page.path.name for page in RESOURCE_PAGES)


@pytest.mark.parametrize("page", RESOURCE_PAGES, ids=IDS)
def test_property_table_says_type_requirement_default_and_update_behaviour(page: Page) -> None:
    header = between(page.path.read_text(), "properties").splitlines()[0]
    assert header == "| Property | Type | Required | Default | Update requires | Description |"


@pytest.mark.parametrize("page", RESOURCE_PAGES, ids=IDS)
def test_attribute_table_is_what_the_code_returns(
    page: Page, function: LocalFunction, emulator: Emulator
) -> None:
    documented = documented_attributes(page.path.read_text())
    assert len(documented) == len(set(documented)), "an attribute is listed twice"
    produced = set(create(page, function).data)
    patterns = {name: as_pattern(name) for name in documented}

    undocumented = {key for key in produced if not any(p.fullmatch(key) for p in patterns.values())}
    assert not undocumented, f"returned but not documented: {sorted(undocumented)}"
    never_returned = [name for name, p in patterns.items() if not any(p.fullmatch(key) for key in produced)]
    assert not never_returned, f"documented but not returned: {never_returned}"


@pytest.mark.parametrize("page", RESOURCE_PAGES, ids=IDS)
def test_ref_is_the_documented_physical_id(page: Page, function: LocalFunction) -> None:
    ref_section = page.path.read_text().split("### Ref", 1)[1].split("\n#", 1)[0]
    assert page.ref in " ".join(ref_section.split())
    response = create(page, function)
    assert response.physical_id == page.physical_id(response)


@pytest.mark.parametrize("page", RESOURCE_PAGES, ids=IDS)
def test_page_has_the_expected_sections(page: Page) -> None:
    text = page.path.read_text()
    assert text.startswith(f"# {page.resource_type}\n")
    for section in (
        "## Example usage",
        "## Properties",
        "## Return values",
        "## Lifecycle",
        "## Troubleshooting",
    ):
        assert f"\n{section}\n" in text, f"{page.path.name} lacks {section}"
    assert "](../troubleshooting.md)" in text.split("\n## Troubleshooting\n", 1)[1]
    assert "ServiceToken" in text
    assert "ServiceTimeout" in text


def test_the_integration_page_explains_adoption_and_retain() -> None:
    text = (DOCS / "resources" / "integration.md").read_text()
    section = text.split("\n## Adopt an existing integration\n", 1)[1].split("\n## ", 1)[0]
    for words in (
        "AdoptIntegrationId",
        "DeletionPolicy: Retain",
        "gives the integration back",
        "owner label",
    ):
        assert words in section, words
    assert "AdoptIntegrationId:" in next(body for _, body in YAML_BLOCKS if "AdoptIntegrationId" in body)


def yaml_blocks() -> list[tuple[str, str]]:
    blocks = []
    for path in PAGES:
        for index, match in enumerate(_YAML_BLOCK.finditer(path.read_text())):
            blocks.append((f"{path.relative_to(DOCS)}#{index}", match.group(1)))
    return blocks


YAML_BLOCKS = yaml_blocks()


def test_the_docs_have_yaml_examples() -> None:
    for page in RESOURCE_PAGES:
        assert any(name.startswith(str(page.path.relative_to(DOCS))) for name, _ in YAML_BLOCKS)


@pytest.mark.parametrize(("name", "text"), YAML_BLOCKS, ids=[name for name, _ in YAML_BLOCKS])
def test_yaml_example_parses(name: str, text: str) -> None:
    parsed = cfn_yaml.loads(text)
    assert isinstance(parsed, dict), f"{name} is not a YAML map"


#: The examples that are whole templates; the others are fragments of them.
TEMPLATES = [(name, text) for name, text in YAML_BLOCKS if text.startswith("AWSTemplateFormatVersion:")]


@pytest.mark.parametrize(("name", "text"), TEMPLATES, ids=[name for name, _ in TEMPLATES])
def test_whole_template_examples_pass_cfn_lint(name: str, text: str) -> None:
    matches = lint(text, regions=["us-east-1"])
    assert not matches, "\n".join(str(match) for match in matches)


def test_the_integration_example_uses_the_attributes_it_documents() -> None:
    text = (DOCS / "resources" / "integration.md").read_text()
    template = cfn_yaml.loads(
        next(body for name, body in YAML_BLOCKS if name == "resources/integration.md#0")
    )
    resources = template["Resources"]
    role = resources["Role"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert role["Principal"]["AWS"] == {"Fn::GetAtt": ["SpaceliftIntegration", "SpaceliftAwsAccountId"]}
    external_ids = role["Condition"]["StringEquals"]["sts:ExternalId"]
    assert {"Fn::GetAtt": ["SpaceliftIntegration", "ExternalId.my-stack-id"]} in external_ids
    assert "AssumeRolePolicyDocument: !GetAtt SpaceliftIntegration.AssumeRolePolicyDocument" in text
    assert resources["StackAttachment"]["DependsOn"] == "Role"


def relative_links() -> list[tuple[Path, str]]:
    links = []
    for path in PAGES:
        text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.MULTILINE | re.DOTALL)
        for target in _LINK.findall(text):
            if not re.match(r"^[a-z][a-z0-9+.-]*:|^#", target):
                links.append((path, target))
    return links


def test_relative_links_resolve() -> None:
    links = relative_links()
    assert links, "no relative link found: is the link pattern broken?"
    broken = []
    for path, target in links:
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve()
        if not resolved.is_file():
            broken.append(f"{path.relative_to(ROOT)}: {target}")
        elif anchor and resolved.suffix == ".md" and anchor not in headings(resolved):
            broken.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def headings(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.MULTILINE | re.DOTALL)
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors
