"""Regenerate the property tables of the reference pages in docs/resources/ from the declarations.

Each page holds its table between ``<!-- properties:start -->`` and ``<!-- properties:end -->``;
the table comes from ``markdown_table`` (type, required, default, "Update requires",
description per property), so the page cannot drift from what the code accepts.

    PYTHONPATH=src .venv/bin/python scripts/reference_tables.py          # rewrite the pages
    PYTHONPATH=src .venv/bin/python scripts/reference_tables.py --check  # fail if one is stale
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from spacelift_cfn.properties import markdown_table
from spacelift_cfn.resources.attachment import AttachmentProperties
from spacelift_cfn.resources.external_id import ExternalIdProperties
from spacelift_cfn.resources.integration import IntegrationProperties
from spacelift_cfn.resources.lookup import LookupProperties

RESOURCES = Path(__file__).resolve().parent.parent / "docs" / "resources"
#: Each reference page and the declaration of its properties.
PAGES: dict[str, type[Any]] = {
    "integration.md": IntegrationProperties,
    "attachment.md": AttachmentProperties,
    "external-id.md": ExternalIdProperties,
    "lookup.md": LookupProperties,
}
START, END = "<!-- properties:start -->", "<!-- properties:end -->"


def rendered(text: str, properties: type[Any]) -> str:
    """``text`` with its property table replaced by the one the declaration renders."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"expected one {START} followed by one {END}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{markdown_table(properties)}\n{END}{tail}"


def main(arguments: list[str]) -> int:
    check = arguments == ["--check"]
    stale = []
    for name, properties in PAGES.items():
        path = RESOURCES / name
        text = path.read_text()
        new = rendered(text, properties)
        if new != text:
            stale.append(name)
            if not check:
                path.write_text(new)
    if check and stale:
        print(f"stale property tables: {', '.join(stale)}; run {Path(__file__).name} without --check")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
