"""The interface between the handler and the resource modules: the request a resource module
gets, the result it gives, the three functions it provides, and the shape of the IDs it issues.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from spacelift_cfn.deadline import Deadline
from spacelift_cfn.spacelift import SpaceliftClient

#: Spacelift's IDs are ULIDs (docs: integration IDs are 26-character ULIDs). CloudFormation's
#: made-up IDs (``stack-Logical-1XQ2ZV3ABCDE``) and other tools' markers never match.
SPACELIFT_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


def is_spacelift_id(text: str) -> bool:
    return SPACELIFT_ID.fullmatch(text) is not None


@dataclass(frozen=True)
class Request:
    """One CloudFormation request, as the resource modules see it."""

    request_type: str
    stack_id: str
    request_id: str
    logical_resource_id: str
    physical_resource_id: str
    properties: Mapping[str, Any]
    deadline: Deadline
    #: Bytes left for the JSON of ``Data`` in a response body of at most 4096 bytes.
    data_budget: int = 3000


@dataclass(frozen=True)
class Result:
    """What CloudFormation is told on success."""

    physical_resource_id: str
    data: dict[str, str] = field(default_factory=dict)


class ResourceHandler(Protocol):
    """One module per resource type provides these three functions."""

    def create(self, client: SpaceliftClient, request: Request) -> Result: ...

    def update(self, client: SpaceliftClient, request: Request) -> Result: ...

    def delete(self, client: SpaceliftClient, request: Request) -> None: ...
