"""docs/troubleshooting.md against the code: every misconfiguration's reason verbatim, the reason's
log pointer as the code writes it, a Logs Insights query on keys every log line carries, and the
recovery procedures with their AWS sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spacelift_cfn import errors, handler, observability

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "troubleshooting.md").read_text()


@pytest.mark.parametrize("misconfiguration", errors.MISCONFIGURATIONS, ids=lambda m: m.key)
def test_every_reason_is_in_the_table_verbatim(misconfiguration: errors.Misconfiguration) -> None:
    row = f"| `{misconfiguration.as_documented()}` |"
    assert row in DOC


@pytest.mark.parametrize("misconfiguration", errors.MISCONFIGURATIONS, ids=lambda m: m.key)
def test_every_reason_names_a_template_parameter_and_is_provoked_by_a_test(
    misconfiguration: errors.Misconfiguration,
) -> None:
    assert re.search(r"\bSpacelift(ApiKey\w+)\b", misconfiguration.template), misconfiguration.key
    name = next(n for n, value in vars(errors).items() if value is misconfiguration)
    tests = [(ROOT / "tests" / f"test_{part}.py").read_text() for part in ("misconfiguration", "settings")]
    assert any(f"errors.{name}.reason(" in text for text in tests), name


def test_the_table_has_no_reason_the_code_does_not_produce() -> None:
    section = DOC.split("## Misconfigurations", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)
    assert documented == [m.as_documented() for m in errors.MISCONFIGURATIONS]


def test_the_example_pointer_is_what_the_code_writes() -> None:
    class Context:
        log_group_name = "/aws/lambda/spacelift-cfn-provider"
        log_stream_name = "2026/12/02/[$LATEST]0123456789abcdef"
        aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    assert observability.where_to_look(Context()) in DOC


def test_the_logs_insights_query_filters_on_keys_every_line_carries() -> None:
    query = DOC.split("```text\nfields ", 1)[1].split("```", 1)[0]
    filtered = re.findall(r"filter (\w+) =", query) + re.findall(r"and (\w+) =", DOC)
    filtered += re.findall(r"filter on `(\w+) =", DOC)
    assert {"stack_id", "logical_resource_id", "function_request_id"} <= set(filtered)
    assert {"stack_id", "logical_resource_id"} <= set(handler._LOG_KEYS)


def test_the_recovery_procedures_cite_aws() -> None:
    for needed in (
        "continue-update-rollback --stack-name <name> --resources-to-skip",
        "API_ContinueUpdateRollback.html",
        "delete-stack --stack-name <name> --retain-resources",
        "API_DeleteStack.html",
        "API_GetSecretValue.html",
        "CloudWatch_Embedded_Metric_Format_Specification.html",
    ):
        assert needed in DOC, needed


def test_the_readme_links_here() -> None:
    assert "(docs/troubleshooting.md)" in (ROOT / "README.md").read_text()
