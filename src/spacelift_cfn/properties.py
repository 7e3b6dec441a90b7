"""Resource properties declared once, as frozen dataclasses.

Each resource type declares its properties as a dataclass whose fields carry a
:class:`Spec` (CloudFormation name, documentation, default, extra check). The
same declaration drives validation, coercion and the reference docs, so they
cannot disagree.

Coercion exists because CloudFormation sends every scalar as a string, also
inside lists and maps: ``"true"`` and ``"900"`` must be read as ``True`` and
``900``, while the native forms (used by tests and SDKs) stay accepted.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from spacelift_cfn.errors import PropertyError

#: Properties CloudFormation itself adds or reads; tolerated on every resource.
CLOUDFORMATION_PROPERTIES = frozenset({"ServiceToken", "ServiceTimeout"})

_INTEGER = re.compile(r"^[+-]?[0-9]{1,12}$")
_MAX_SHOWN = 40

Check = Callable[[Any], str | None]


@dataclass(frozen=True)
class Spec:
    """How one property looks in a template."""

    name: str
    doc: str
    required: bool
    default: Any
    check: Check | None
    #: What a change does, in CloudFormation's words: :data:`NO_INTERRUPTION` (the
    #: PhysicalResourceId stays) or :data:`REPLACEMENT` (the provider answers a new one, and
    #: CloudFormation deletes the old one once the stack update has succeeded).
    update: str = "No interruption"


#: CloudFormation's "Update requires" values that a custom resource can show.
NO_INTERRUPTION = "No interruption"
REPLACEMENT = "Replacement"


def prop(
    name: str,
    doc: str,
    *,
    default: Any = dataclasses.MISSING,
    check: Check | None = None,
    update: str = NO_INTERRUPTION,
) -> Any:
    """Declare a property. Without ``default`` it is required; ``update`` says whether changing
    it keeps the PhysicalResourceId (the default) or replaces the resource."""
    if update not in (NO_INTERRUPTION, REPLACEMENT):
        raise ValueError(f"update must be {NO_INTERRUPTION!r} or {REPLACEMENT!r}, got {update!r}")
    required = default is dataclasses.MISSING
    spec = Spec(name, doc, required, None if required else default, check, update)
    if required:
        return field(metadata={"spec": spec})
    return field(default=default, metadata={"spec": spec})


def specs(cls: type[Any]) -> list[tuple[dataclasses.Field[Any], Spec]]:
    """The declared properties of ``cls``, in declaration order."""
    return [(f, f.metadata["spec"]) for f in dataclasses.fields(cls) if "spec" in f.metadata]


def parse[T](cls: type[T], raw: object, *, top_level: bool = True) -> T:
    """Validate and coerce ``raw`` (a ResourceProperties map) into ``cls``.

    Raises :class:`PropertyError` naming the first offending property.
    """
    if not isinstance(raw, Mapping):
        raise PropertyError("", f"properties must be a map, got {_describe(raw)}")
    declared = specs(cls)
    known = {spec.name for _, spec in declared}
    tolerated = CLOUDFORMATION_PROPERTIES if top_level else frozenset()
    unknown = sorted(str(key) for key in raw if key not in known and key not in tolerated)
    if unknown:
        shown = ", ".join(_shorten(name) for name in unknown[:5])
        raise PropertyError(shown, f"unknown property; expected one of {', '.join(sorted(known))}")
    hints = _hints(typing.cast(Any, cls))
    values: dict[str, Any] = {}
    for f, spec in declared:
        if spec.name not in raw or raw[spec.name] is None:
            if spec.required:
                raise PropertyError(spec.name, "is required")
            continue
        try:
            value = _coerce(hints[f.name], raw[spec.name])
            problem = spec.check(value) if spec.check else None
        except PropertyError as error:
            raise error.under(spec.name) from None
        if problem:
            raise PropertyError(spec.name, problem)
        values[f.name] = value
    try:
        return cls(**values)
    except PropertyError:
        raise
    except (TypeError, ValueError) as error:  # pragma: no cover - a declaration bug
        raise PropertyError("", str(error)) from error


@cache
def _hints(cls: type[Any]) -> dict[str, Any]:
    """The evaluated annotations of ``cls`` (evaluating them costs more than the parsing)."""
    return typing.get_type_hints(cls)


def _coerce(hint: Any, value: object) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _coerce(inner, value)
    if origin is tuple:
        return _coerce_list(typing.get_args(hint)[0], value)
    if hint is bool:
        return _coerce_bool(value)
    if hint is int:
        return _coerce_int(value)
    if hint is str:
        return _coerce_str(value)
    if dataclasses.is_dataclass(hint):
        return parse(typing.cast(type[Any], hint), value, top_level=False)
    raise TypeError(f"unsupported property type {hint!r}")  # pragma: no cover


def _coerce_list(item: Any, value: object) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise PropertyError("", f"expected a list, got {_describe(value)}")
    items = []
    for index, element in enumerate(value):
        try:
            items.append(_coerce(item, element))
        except PropertyError as error:
            raise PropertyError(f"[{index}]{'.' + error.path if error.path else ''}", error.problem) from None
    return tuple(items)


def _coerce_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise PropertyError("", f"expected true or false, got {_describe(value)}")


def _coerce_int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value.strip())
    raise PropertyError("", f"expected a whole number, got {_describe(value)}")


def _coerce_str(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise PropertyError("", f"expected a string, got {_describe(value)}")


def _describe(value: object) -> str:
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(_shorten(str(value)))


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


# Reusable checks: each returns a problem description or None.


def non_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def between(low: int, high: int) -> Check:
    def check(value: int) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}, got {value}"

    return check


def matches(pattern: str, expected: str) -> Check:
    compiled = re.compile(pattern)

    def check(value: str) -> str | None:
        return None if compiled.fullmatch(value) else f"expected {expected}, got {_describe(value)}"

    return check


def each(item_check: Check) -> Check:
    def check(values: tuple[Any, ...]) -> str | None:
        for index, value in enumerate(values):
            problem = item_check(value)
            if problem:
                return f"item {index} {problem}"
        return None

    return check


def require_one_of(first: tuple[str, object], second: tuple[str, object]) -> None:
    """Exactly one of two optional properties must be set."""
    (first_name, first_value), (second_name, second_value) = first, second
    if (first_value is None) == (second_value is None):
        raise PropertyError(
            f"{first_name}/{second_name}", f"set exactly one of {first_name} or {second_name}"
        )


def require_access(read: bool, write: bool) -> None:
    """Spacelift needs at least one of read and write access."""
    if not (read or write):
        raise PropertyError("Read/Write", "at least one of Read or Write must be true")


def markdown_table(cls: type[Any]) -> str:
    """The property reference table for the docs, generated from the declaration: per property
    its type, whether it is required, its default and what a change does, in the words of
    CloudFormation's own reference pages ("Update requires")."""
    rows = [
        "| Property | Type | Required | Default | Update requires | Description |",
        "|---|---|---|---|---|---|",
    ]
    hints = _hints(typing.cast(Any, cls))
    for f, spec in specs(cls):
        default = "" if spec.required or spec.default is None else f"`{_doc_default(spec.default)}`"
        rows.append(
            f"| `{spec.name}` | {_doc_type(hints[f.name])} | {'Yes' if spec.required else 'No'} | "
            f"{default} | {spec.update} | {spec.doc} |"
        )
    return "\n".join(rows)


def _doc_type(hint: Any) -> str:
    """A field's type in the words of CloudFormation's pages: String, Integer, Boolean, List of …"""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _doc_type(inner)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return "List of objects" if dataclasses.is_dataclass(item) else f"List of {_doc_type(item)}"
    names = {str: "String", int: "Integer", bool: "Boolean"}
    return names.get(hint, "Object")


def _doc_default(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[]"
    return str(value)
