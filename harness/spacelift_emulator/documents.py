"""Parsed and validated GraphQL documents, cached per query text.

Parse + validate costs far more than executing the small operations a client sends
(the reference measured ~600 requests/s uncached against 13-19k/s for execution alone), and a
client repeats a handful of query texts, so each text is prepared once. The cache also works
out what the instrumentation and the field-filtered faults need: each operation's type and
root fields, and a copy of the text that is safe to record.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    Visitor,
    parse,
    print_ast,
    validate,
    visit,
)

SECRET_ARGUMENTS = frozenset({"secret"})
"""Arguments whose values never reach the request log (API key secrets, OIDC tokens)."""
MASK = "***"


@dataclass(frozen=True)
class Operation:
    """What a request selects: `query`/`mutation` (None if unknown) and its root field names."""

    type: str | None = None
    root_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class PreparedDocument:
    """A query text after parsing and validation.

    `document` is None when the text does not parse; `errors` holds the syntax or
    validation errors (a document with errors is never executed). `recordable_text` is the
    printed document with secret argument literals masked (None if it does not parse);
    `secret_variables` are the variables passed to secret arguments.
    """

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    recordable_text: str | None
    operations: Mapping[str | None, Operation] = field(default_factory=dict)
    secret_variables: frozenset[str] = frozenset()

    def recordable_variables(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The variables with secret ones masked; none at all if the text did not parse,
        since then nobody can tell which ones are secret."""
        if self.document is None:
            return {}
        return {
            name: MASK
            if name in self.secret_variables or any(s in name.lower() for s in SECRET_ARGUMENTS)
            else value
            for name, value in variables.items()
        }

    def operation(self, name: str | None) -> Operation:
        """The operation a request runs: the named one, or the only one when unnamed."""
        if name is None:
            only = len(self.operations) == 1
            return next(iter(self.operations.values())) if only else Operation()
        return self.operations.get(name, Operation())


class DocumentCache:
    """A thread-safe LRU map from query text to `PreparedDocument`."""

    def __init__(self, schema: GraphQLSchema, maxsize: int = 512) -> None:
        self._schema = schema
        self._maxsize = maxsize
        self._entries: OrderedDict[str, PreparedDocument] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: str) -> PreparedDocument:
        with self._lock:
            prepared = self._entries.get(query)
            if prepared is not None:
                self._entries.move_to_end(query)
                return prepared
        prepared = self._prepare(query)  # outside the lock: a race only prepares twice
        with self._lock:
            self._entries[query] = prepared
            if len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)
        return prepared

    def _prepare(self, query: str) -> PreparedDocument:
        try:
            document = parse(query)
        except GraphQLError as error:
            return PreparedDocument(None, (error,), None)
        masker = _MaskSecrets()
        masked_text = print_ast(visit(document, masker))
        return PreparedDocument(
            document,
            tuple(validate(self._schema, document)),
            masked_text,
            _operations(document),
            frozenset(masker.variables),
        )


class _MaskSecrets(Visitor):
    """Replaces literals given to secret arguments by `***`, noting variables given to them."""

    def __init__(self) -> None:
        super().__init__()
        self.variables: set[str] = set()

    def enter_argument(self, node: ArgumentNode, *_: Any) -> ArgumentNode | None:
        if node.name.value not in SECRET_ARGUMENTS:
            return None
        if isinstance(node.value, VariableNode):
            self.variables.add(node.value.name.value)
            return None
        return ArgumentNode(name=node.name, value=StringValueNode(value=MASK))


def _operations(document: DocumentNode) -> dict[str | None, Operation]:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return {
        d.name.value if d.name else None: Operation(
            d.operation.value, tuple(dict.fromkeys(_field_names(d.selection_set, fragments, set())))
        )
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }


def _field_names(
    selections: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], seen: set[str]
) -> Iterator[str]:
    """Field names at the top of a selection set, looking through fragments (cycle-safe, as
    this also runs on documents that failed validation)."""
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _field_names(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                seen.add(selection.name.value)
                yield from _field_names(fragment.selection_set, fragments, seen)
