"""Test doubles for CloudFormation's side of the contract: the presigned
ResponseURL (a real HTTP server on loopback that records every PUT) and the
Lambda context (a real deadline)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class CapturedResponse:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict[str, Any]:
        parsed = json.loads(self.raw)
        assert isinstance(parsed, dict)
        return parsed

    @property
    def status(self) -> str:
        return str(self.body["Status"])

    @property
    def physical_id(self) -> str:
        return str(self.body["PhysicalResourceId"])

    @property
    def data(self) -> dict[str, str]:
        return dict(self.body.get("Data") or {})

    @property
    def reason(self) -> str:
        return str(self.body.get("Reason", ""))


@dataclass
class ResponseServer:
    """Stands in for S3's presigned URL: records each PUT, answers ``status_codes`` in turn."""

    responses: list[CapturedResponse] = field(default_factory=list)
    status_codes: list[int] = field(default_factory=list)
    #: The HTTP status answered to every PUT, accepted or not.
    attempts: list[int] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> ResponseServer:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_PUT(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = recorder.status_codes.pop(0) if recorder.status_codes else 200
                recorder.attempts.append(status)
                if status == 200:
                    recorder.responses.append(CapturedResponse(self.path, dict(self.headers), raw))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def url(self, request_id: str) -> str:
        """A URL shaped like a presigned S3 URL, with a secret-looking signature."""
        assert self._server is not None
        port = self._server.server_address[1]
        return (
            f"http://127.0.0.1:{port}/cloudformation-custom-resource-response-useast1/"
            f"arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/demo/{request_id}"
            f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&X-Amz-SignedHeaders=host"
            f"&X-Amz-Signature=SIGNATURE{request_id.replace('-', '')}"
        )

    def for_request(self, request_id: str) -> list[CapturedResponse]:
        return [r for r in self.responses if request_id in r.path]


class LambdaContext:
    """The parts of the Lambda context the provider reads, with a real deadline."""

    def __init__(self, timeout_seconds: float = 120.0) -> None:
        self.deadline = time.monotonic() + timeout_seconds
        self.function_name = "spacelift-cfn-provider"
        self.function_version = "$LATEST"
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:spacelift-cfn-provider"
        self.memory_limit_in_mb = 128
        self.aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
        self.log_group_name = "/aws/lambda/spacelift-cfn-provider"
        self.log_stream_name = "2026/11/22/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self.deadline - time.monotonic()) * 1000), 0)


class _SharedEnvironment:
    """The function's variables in ``os.environ`` while any delivery runs, as Lambda sets them.

    Deliveries may run concurrently (duplicates, a Create and the Delete cancelling it): the
    first one in saves the environment and the last one out restores it, so none of them ever
    sees it half restored.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved: dict[str, str] = {}

    @contextmanager
    def applied(self, variables: dict[str, str]) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._saved = dict(os.environ)
            self._users += 1
            os.environ.update(variables)
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    os.environ.clear()
                    os.environ.update(self._saved)


_environment = _SharedEnvironment()


class LocalFunction:
    """Invokes the provider in-process as Lambda would, and returns what CloudFormation received.

    ``environment`` is applied to ``os.environ`` for the call, as Lambda would set it.
    """

    def __init__(
        self, responses: ResponseServer, environment: dict[str, str], timeout: float = 120.0
    ) -> None:
        self.responses = responses
        self.environment = environment
        self.timeout = timeout

    def send(self, event: dict[str, Any], timeout: float | None = None) -> list[CapturedResponse]:
        """Deliver ``event`` (its ResponseURL replaced by the capture server's); all answers it got."""
        import app

        event = {**event, "ResponseURL": self.responses.url(str(event["RequestId"]))}
        with _environment.applied(self.environment):
            app.handler(event, LambdaContext(self.timeout if timeout is None else timeout))
        return self.responses.for_request(str(event["RequestId"]))

    def __call__(self, event: dict[str, Any]) -> CapturedResponse:
        """Deliver ``event`` and return its one answer."""
        answers = self.send(event)
        assert len(answers) == 1, f"expected exactly one response, got {len(answers)}"
        return answers[0]
