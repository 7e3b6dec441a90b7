"""Lambda entry point (``app.handler``).

Kept to the standard library on purpose: if importing the provider fails (a
broken layer, a missing dependency), CloudFormation must still get an answer,
or the stack hangs until ServiceTimeout. So the import is guarded, and the
fallback answer is sent with ``urllib`` alone.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from typing import Any

_provider: Callable[[Any, Any], None] | None
_import_error: Exception | None = None
try:
    from spacelift_cfn.handler import lambda_handler as _provider
except Exception as error:  # any import failure must be answered
    _provider = None
    _import_error = error

#: spacelift_cfn.protocol.CREATE_FAILED_PREFIX, which this fallback cannot import.
_FAILED_PREFIX = "spacelift-cfn:create-failed:"


def handler(event: Any, context: Any) -> None:
    if _provider is not None:
        _provider(event, context)
        return
    _answer_import_failure(event, context)


def _where_to_look(context: Any) -> str:
    """spacelift_cfn.observability.where_to_look, which this fallback cannot import."""
    group, stream, request_id = (
        str(getattr(context, name, "") or "")[:512]
        for name in ("log_group_name", "log_stream_name", "aws_request_id")
    )
    if not (group or stream or request_id):
        return ""
    return (
        f" See the details in CloudWatch Logs: log group {group or '?'}, stream {stream or '?'}, "
        f"Lambda request ID {request_id or '?'}."
    )


def _answer_import_failure(event: Any, context: Any) -> None:
    logging.getLogger(__name__).error("The provider failed to import: %r", _import_error)
    if not isinstance(event, dict) or not str(event.get("ResponseURL", "")).startswith("http"):
        return
    logical_id = str(event.get("LogicalResourceId", ""))
    physical_id = str(event.get("PhysicalResourceId") or f"{_FAILED_PREFIX}{logical_id}")
    # The Delete that rolls back a Create this fallback failed: nothing was made, and a
    # FAILED answer would leave the stack in ROLLBACK_FAILED.
    made_nothing = event.get("RequestType") == "Delete" and physical_id.startswith(_FAILED_PREFIX)
    body = json.dumps(
        {
            "Status": "SUCCESS" if made_nothing else "FAILED",
            "Reason": ""
            if made_nothing
            else f"The provider function could not start ({type(_import_error).__name__}); "
            "check its layer and its logs." + _where_to_look(context),
            "PhysicalResourceId": physical_id,
            "StackId": str(event.get("StackId", "")),
            "RequestId": str(event.get("RequestId", "")),
            "LogicalResourceId": logical_id,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is CloudFormation's presigned URL
        event["ResponseURL"], data=body, method="PUT", headers={"content-type": ""}
    )
    for _attempt in range(3):
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            continue
