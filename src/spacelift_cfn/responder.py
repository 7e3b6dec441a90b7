"""Answering CloudFormation: crhelper's ``CfnResource`` with its defects removed.

crhelper gives the request skeleton (read the event, run the function, turn an
exception into FAILED, send). Its known defects (docs/cloudformation.md, section "crhelper") are
neutralised here, each in one small override:

* ``__init__`` created three boto3 clients for polling we never use and set the
  root logger to DEBUG, which logs the whole event with its ResponseURL;
* ``_set_timeout`` sent FAILED with an empty PhysicalResourceId 0.5 s before the
  deadline and let the work go on: our work is bounded by a deadline instead;
* ``_wait_for_cwlogs`` slept up to 120 s on every Delete;
* ``_send`` cut the *head* off long reasons, never checked the 4096-byte limit,
  ignored the PUT's HTTP status and retried forever without a socket timeout;
* ``_get_func``/``_poll_enabled`` raised AttributeError for unknown request types.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from crhelper.resource_helper import CfnResource

from spacelift_cfn.deadline import Deadline
from spacelift_cfn.protocol import FAILED, SUCCESS, Outcome, create_failed_id, response_body

PUT_ATTEMPTS = 4
PUT_TIMEOUT_SECONDS = 10.0

logger = logging.getLogger(__name__)
logging.getLogger("crhelper").setLevel(logging.WARNING)  # it logs events at DEBUG


def put_response(url: str, body: bytes, deadline: Deadline) -> bool:
    """PUT the answer to the presigned URL; bounded retries, status checked, URL never logged.

    ``content-type`` is empty because older presigned URLs sign it that way.
    """
    host = urlsplit(url).hostname or "?"
    headers = {"content-type": "", "content-length": str(len(body))}
    for attempt in range(PUT_ATTEMPTS):
        try:
            response = requests.put(
                url, data=body, headers=headers, timeout=deadline.timeout(PUT_TIMEOUT_SECONDS)
            )
        except requests.exceptions.RequestException as error:
            problem = type(error).__name__
        except Exception as error:  # the deadline, or a URL requests cannot use
            logger.error("Could not send the response to %s: %s", host, type(error).__name__)
            return False
        else:
            if response.status_code == 200:
                return True
            problem = f"HTTP {response.status_code}"
            if response.status_code < 500:
                logger.error("CloudFormation's response URL on %s refused the answer: %s", host, problem)
                return False
        logger.warning("Sending the response to %s failed (%s), attempt %d", host, problem, attempt + 1)
        pause = 0.5 * 2**attempt
        if attempt + 1 == PUT_ATTEMPTS or pause >= deadline.remaining():
            break
        time.sleep(pause)
    logger.error("Gave up sending the response to %s", host)
    return False


class Responder(CfnResource):
    """Runs one request through crhelper's skeleton and sends exactly one answer."""

    def __init__(self, put_deadline: Deadline, secrets: Callable[[], Iterable[str]]) -> None:
        # Not calling CfnResource.__init__: see the module docstring.
        self._put_deadline = put_deadline
        self._secrets = secrets
        self._create_func = self._update_func = self._delete_func = None
        self._timer = None
        self._init_failed = None
        self._json_logging = False
        self._sam_local = None
        self._ssl_verify = None
        self._sleep_on_delete = 0
        self.Status, self.Reason, self.PhysicalResourceId = "", "", ""
        self.StackId = self.RequestId = self.LogicalResourceId = ""
        self.Data: dict[str, str] = {}
        self.NoEcho = False
        self._event: dict[str, str] = {}
        self._response_url = ""
        self._outcome = Outcome(FAILED, "", "no outcome")
        self.sent: bool | None = None

    def answer(self, event: Mapping[str, str], context: object, outcome: Outcome) -> None:
        """Send ``outcome`` as the answer to ``event`` (a sanitised envelope)."""
        self._outcome = outcome
        self(dict(event), context)

    def _log_setup(self, event: object, context: object) -> None:
        """Powertools Logger is set up by the handler."""

    def _set_timeout(self) -> None:
        """No timer: the work is bounded by its deadline and answers before it."""

    def _wait_for_cwlogs(self, sleep: object = None) -> None:
        """No sleep on Delete."""

    def _poll_enabled(self) -> bool:
        return False

    def _get_func(self) -> Callable[[object, object], str]:
        return self._run

    def _run(self, event: object, context: object) -> str:
        outcome = self._outcome
        self.Status, self.Reason, self.Data = outcome.status, outcome.reason, dict(outcome.data)
        return outcome.physical_resource_id

    def _cfn_response(self, event: Mapping[str, Any]) -> None:
        self._send()

    def _send(self, status: str | None = None, reason: str = "", send_response: object = None) -> None:
        if self.sent is not None:
            return  # exactly one answer per request
        physical_id = str(self.PhysicalResourceId or "") or str(self._event.get("PhysicalResourceId") or "")
        outcome = Outcome(
            status or self.Status or FAILED,
            physical_id or create_failed_id(self.LogicalResourceId),
            reason if status else str(self.Reason),
            {} if status == FAILED else self.Data,
            self._outcome.where,  # where the details are: kept whole at the reason's end
        )
        if outcome.status not in (SUCCESS, FAILED):  # pragma: no cover - defensive
            outcome = Outcome(FAILED, outcome.physical_resource_id, "internal error: bad status")
        secrets = [*self._secrets(), self._response_url, urlsplit(self._response_url).query]
        body = response_body(outcome, self.StackId, self.RequestId, self.LogicalResourceId, secrets)
        self.sent = put_response(self._response_url, body, self._put_deadline)
