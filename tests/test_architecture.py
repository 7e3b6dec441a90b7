"""The package's shape, as CONTRIBUTING.md and the module docstrings describe it: one errors
module holding every public exception, its docstring drawing the whole hierarchy."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from spacelift_cfn import errors

SRC = Path(__file__).parent.parent / "src"


def exception_classes_outside_errors() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = [ast.unparse(base) for base in node.bases]
                if any(base.endswith(("Error", "Exception", "Exceeded", "Unknown")) for base in bases):
                    found.append(f"{path.relative_to(SRC)}: {node.name}({', '.join(bases)})")
    return found


def test_every_public_exception_lives_in_the_errors_module() -> None:
    assert exception_classes_outside_errors() == [], "move these to spacelift_cfn/errors.py"


def test_the_errors_docstring_draws_every_exception() -> None:
    classes = [
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == errors.__name__
    ]
    drawing = errors.__doc__ or ""
    assert classes and all(f" {name} " in drawing for name in classes), "draw each class in the docstring"


def test_only_user_facing_errors_become_reasons() -> None:
    """The handler turns exactly the UserFacingError family into a Reason; secrets never live there."""
    handler = (SRC / "spacelift_cfn" / "handler.py").read_text()
    assert "except UserFacingError as error:" in handler
    for name in ("SpaceliftError", "PropertyError", "ConfigurationError", "TableUnavailable"):
        assert issubclass(getattr(errors, name), errors.UserFacingError)
    for name in ("DeadlineExceeded", "DuplicateInProgress"):
        assert not issubclass(getattr(errors, name), errors.UserFacingError)


#: Who may import whom inside the package: the event's path reads one way, entry → handler →
#: resource → client, with the responder and exactly-once beside the handler as services, and
#: the protocol and errors under everything.
MAY_NOT_IMPORT = {
    "protocol": {"*"},
    "errors": {"*"},
    "deadline": {"handler", "responder", "exactly_once", "resources", "spacelift", "ownership"},
    "spacelift": {"handler", "responder", "exactly_once", "resources", "ownership"},
    "responder": {"handler", "exactly_once", "resources", "spacelift", "ownership"},
    "exactly_once": {"handler", "responder", "resources", "spacelift", "ownership"},
    "ownership": {"handler", "responder", "resources", "spacelift"},
    "resources": {"handler", "responder", "exactly_once"},
}


def package_imports(path: Path) -> set[str]:
    """The package's modules ``path`` imports (first component below ``spacelift_cfn``)."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else []
        )
        for name in names:
            parts = name.split(".")
            if parts[0] == "spacelift_cfn" and len(parts) > 1:
                imported.add(parts[1])
            elif parts[0] == "spacelift_cfn" and isinstance(node, ast.ImportFrom):
                imported.update(alias.name for alias in node.names)
    return imported


def test_the_event_path_reads_one_way() -> None:
    package = SRC / "spacelift_cfn"
    wrong = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        module = relative.parts[0].removesuffix(".py")
        forbidden = MAY_NOT_IMPORT.get(module, set())
        for imported in package_imports(path) - {module}:
            if "*" in forbidden or imported in forbidden:
                wrong.append(f"{relative} imports spacelift_cfn.{imported}")
    assert wrong == []


def test_every_document_declares_exactly_the_variables_it_sends() -> None:
    """Each GraphQL document and its variables come from one declaration, so they cannot drift."""
    from graphql import parse

    from spacelift_cfn.properties import parse as parse_properties
    from spacelift_cfn.resources import attachment, external_id, integration, lookup
    from spacelift_cfn.resources.external_ids import external_id_selections
    from spacelift_cfn.spacelift import arguments, document

    attached = parse_properties(
        attachment.AttachmentProperties, {"IntegrationId": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "ModuleId": "m"}
    )
    read = parse_properties(
        external_id.ExternalIdProperties, {"IntegrationId": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "StackId": "s"}
    )
    listed = parse_properties(
        integration.IntegrationProperties,
        {"Name": "n", "RoleArn": "arn:aws:iam::123456789012:role/r", "ExternalIdsFor": [{"StackId": "a"}]},
    )
    settings = integration._settings(listed, "spacelift-cfn:owner")
    looked_up = parse_properties(
        lookup.LookupProperties, {"Name": "n", "ExternalIdsFor": [{"ModuleId": "m"}]}
    )
    targets, selections = external_id_selections(listed.external_ids_for)

    documents = [
        attachment._attach_document(attached),
        attachment._update_document("01HAAAAAAAAAAAAAAAAAAAAAAA", attached),
        attachment._detach_document("01HAAAAAAAAAAAAAAAAAAAAAAA"),
        attachment._read_document(attached),
        external_id._read_document(read),
        lookup._lookup_document(looked_up),
        lookup._by_id_document("01HAAAAAAAAAAAAAAAAAAAAAAA", looked_up),
        document("mutation", [*settings, *targets], f"x({arguments(settings)}) {{ id {selections} }}"),
    ]
    for text, variables in documents:
        (operation,) = parse(text).definitions
        declared = {definition.variable.name.value for definition in operation.variable_definitions}  # type: ignore[attr-defined]
        assert declared == set(variables), text
