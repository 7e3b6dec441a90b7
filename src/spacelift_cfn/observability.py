"""Logs, metrics and traces: what an operator reads when a stack failed.

* **Logs**: one Powertools ``Logger``. The handler adds the Lambda context (``cold_start``,
  ``function_request_id``, the function's name and ARN) and the request's keys (``stack_id``,
  ``logical_resource_id``, ``request_id``, ``request_type``, ``resource_type``) to every line,
  never the event (its ResponseURL is a presigned URL) nor a secret.
* **Metrics**: Powertools ``Metrics`` in CloudWatch embedded metric format: one JSON line on
  stdout per invocation, which CloudWatch Logs turns into metrics, so there is no
  ``PutMetricData`` call, no extra permission and no latency. Dimensions: ``ResourceType`` and
  ``Outcome``. See :data:`METRICS` for what is counted.
* **Traces**: X-Ray through Powertools ``Tracer``, only when the template's ``Tracing``
  parameter is ``Active`` (``POWERTOOLS_TRACE_DISABLED=false``). The Tracer and the X-Ray SDK
  are imported only then, so a function without tracing pays nothing for it at cold start.

The reason tail (:func:`where_to_look`) points the stack's user from a FAILED answer to the
log lines of the request that failed, as AWS's own ``cfn-response`` module does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "spacelift-cfn"
NAMESPACE = "SpaceliftCfn"

REQUESTS = "Requests"
SPACELIFT_RETRIES = "SpaceliftRetries"
SPACELIFT_THROTTLED = "SpaceliftThrottled"
TRUST_RELATIONSHIP_ERRORS = "TrustRelationshipErrors"
TOKEN_EXCHANGES = "TokenExchanges"
HANDLER_DURATION = "HandlerDuration"

#: Every metric, and what it counts (docs/troubleshooting.md lists them).
METRICS = {
    REQUESTS: "CloudFormation requests handled (1 per invocation)",
    SPACELIFT_RETRIES: "Spacelift requests sent again after a connection error, a 5xx or a 429",
    SPACELIFT_THROTTLED: "Spacelift answers HTTP 429 (rate limited)",
    TRUST_RELATIONSHIP_ERRORS: "attaches Spacelift refused because the role's trust policy was not "
    "(yet) right; the attach retries them for a while",
    TOKEN_EXCHANGES: "API key exchanges for a token (apiKeyUser); each exchanged key is a billed user",
    HANDLER_DURATION: "milliseconds from the event's arrival to the answer sent",
}
DIMENSIONS = ("ResourceType", "Outcome")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


#: This invocation's counters, summed here so that each is one value in the EMF line.
_counts: dict[str, int] = {}


def count(name: str, value: int = 1) -> None:
    """Add ``value`` to the counter ``name`` of this invocation."""
    _counts[name] = _counts.get(name, 0) + value


def flush(resource_type: str, outcome: str, duration_ms: float) -> None:
    """Print this invocation's metrics as one EMF line, with its dimensions."""
    count(REQUESTS)
    counted = dict(_counts)
    _counts.clear()
    metrics.add_dimension(name="ResourceType", value=resource_type[:128] or "unknown")
    metrics.add_dimension(name="Outcome", value=outcome)
    for name, value in counted.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.add_metric(name=HANDLER_DURATION, unit=MetricUnit.Milliseconds, value=round(duration_ms, 3))
    metrics.flush_metrics()


def tracing_enabled() -> bool:
    """Whether the template's ``Tracing`` parameter is ``Active`` (off by default)."""
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").strip().lower() in ("false", "0")


def traced[Handler: Callable[..., Any]](handler: Handler) -> Handler:
    """``handler`` inside an X-Ray segment when tracing is on; ``handler`` itself otherwise.

    The Tracer patches requests and botocore, so each Spacelift call, the secret read and the
    response PUT get a subsegment. The handler returns nothing, so no response is recorded.
    """
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=SERVICE, patch_modules=("requests", "botocore"))
    return cast(Handler, tracer.capture_lambda_handler(handler, capture_response=False))


def where_to_look(context: object) -> str:
    """The reason's tail: the log group, stream and request ID of this invocation.

    ``cfn-response`` answers "See the details in CloudWatch Log Stream: <stream>"; the group and
    the Lambda request ID are added so that one Logs Insights query finds the lines.
    """
    group = str(getattr(context, "log_group_name", "") or "")[:512]
    stream = str(getattr(context, "log_stream_name", "") or "")[:512]
    request_id = str(getattr(context, "aws_request_id", "") or "")[:128]
    if not (group or stream or request_id):
        return ""
    return (
        f"See the details in CloudWatch Logs: log group {group or '?'}, stream {stream or '?'}, "
        f"Lambda request ID {request_id or '?'}."
    )
