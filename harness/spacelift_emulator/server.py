"""HTTP transport: `POST /graphql` on a threaded HTTP/1.1 server.

`GraphQLEndpoint` decides every answer (request checks, faults, execution, the request log)
without touching sockets; `_Handler` only reads the body and writes the answer. Keep-alive
matters because clients such as a `requests.Session` reuse connections, so every answer
carries a Content-Length and the protocol is HTTP/1.1. Like Spacelift, every GraphQL-level
problem (syntax, validation, resolver errors, `unauthorized`) is HTTP 200 with `errors[]`;
only requests that are not GraphQL requests at all get a 4xx with a plain-text body.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from graphql import GraphQLSchema, execute_sync

from .documents import DocumentCache, PreparedDocument
from .faults import CannedResponse, Faults
from .recording import RequestLog, RequestRecord
from .resolvers import Context, resolve_attribute

GRAPHQL_PATH = "/graphql"
TOKEN_EXCHANGE_FIELD = "apiKeyUser"


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an HTTP request the endpoint looks at; `body` is None without a length."""

    method: str
    path: str
    authorization: str | None
    content_type: str | None
    body: bytes | None
    connection: int


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False


class BadRequest(Exception):
    """The request is not a GraphQL request; answered `status` with the message as body."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class GraphQLEndpoint:
    """Answers one HTTP request and records it. Thread-safe: the parts it uses are."""

    def __init__(
        self,
        schema: GraphQLSchema,
        faults: Faults,
        log: RequestLog,
        make_context: Callable[[str | None], Context],
        stopping: threading.Event,
    ) -> None:
        self._schema, self._documents = schema, DocumentCache(schema)
        self._faults = faults
        self._log = log
        self._make_context = make_context
        self._stopping = stopping  # set on shutdown, so sleeping requests wake up

    def use_schema(self, schema: GraphQLSchema) -> None:
        """Serve another schema from the next request on (one assignment, so thread-safe)."""
        if schema is not self._schema:
            self._schema, self._documents = schema, DocumentCache(schema)

    def handle(self, request: HttpRequest) -> Answer:
        """Decide and record the answer at once, then hold it back for `latency` (and any
        `hang_next`). Deciding first keeps slow answers deterministic: a mutation takes effect
        when the request arrives, never seconds later in some other test's state."""
        answer, delay = self._answer(request)
        if delay:
            self._stopping.wait(delay)
        return answer

    def _answer(self, request: HttpRequest) -> tuple[Answer, float]:
        latency = self._faults.latency
        context = self._make_context(request.authorization)
        record: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "authorized": context.identity is not None,
            "connection": request.connection,
        }
        try:
            query, variables, operation_name = _graphql_request(request)
        except BadRequest as error:
            answer = Answer(error.status, str(error).encode(), close=request.body is None)
            return self._recorded(record, answer), latency

        schema, documents = self._schema, self._documents
        prepared = documents.get(query)
        operation = prepared.operation(operation_name)
        fields = operation.root_fields
        record.update(
            operation_type=operation.type,
            operation_name=operation_name,
            root_fields=fields,
            token_exchange=TOKEN_EXCHANGE_FIELD in fields,
            query=prepared.recordable_text,
            variables=prepared.recordable_variables(variables),
        )
        canned = self._faults.screen(fields)
        if canned is not None:
            return self._recorded(record, _canned(canned), canned.fault), latency

        payload = self._execute(schema, prepared, context, variables, operation_name)
        record["errors"] = tuple(e["message"] for e in payload.get("errors", ()))
        answer = Answer(200, json.dumps(payload).encode(), "application/json")
        fault = None
        hang = self._faults.hang_seconds(fields)
        if hang:
            fault = "hang"
        failure = self._faults.after_apply(fields)
        if failure is not None:
            answer, fault = _canned(failure), failure.fault
        return self._recorded(record, answer, fault), latency + hang

    def _execute(
        self,
        schema: GraphQLSchema,
        prepared: PreparedDocument,
        context: Context,
        variables: dict[str, Any],
        operation_name: str | None,
    ) -> dict[str, Any]:
        if prepared.document is None or prepared.errors:
            # Not executed, so no `data` key at all (GraphQL spec: request errors).
            return {"errors": [e.formatted for e in prepared.errors]}
        result = execute_sync(
            schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            field_resolver=resolve_attribute,
        )
        return dict(result.formatted)

    def _recorded(self, record: dict[str, Any], answer: Answer, fault: str | None = None) -> Answer:
        self._log.append(RequestRecord(status=answer.status, fault=fault, **record))
        return answer


def _graphql_request(request: HttpRequest) -> tuple[str, dict[str, Any], str | None]:
    """`(query, variables, operationName)` from a `POST /graphql` JSON body, or BadRequest."""
    if request.method != "POST":
        raise BadRequest(f"method {request.method} not allowed: send POST {GRAPHQL_PATH}")
    if urlsplit(request.path).path != GRAPHQL_PATH:
        raise BadRequest(f"not found: the GraphQL endpoint is POST {GRAPHQL_PATH}", 404)
    if request.body is None:
        raise BadRequest("a Content-Length header is required")
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise BadRequest("Content-Type must be application/json")
    try:
        payload = json.loads(request.body)
    except ValueError as error:
        raise BadRequest(f"request body is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise BadRequest("request body must be a JSON object")
    query, variables, operation_name = (
        payload.get("query"),
        payload.get("variables"),
        payload.get("operationName"),
    )
    if not isinstance(query, str) or not query.strip():
        raise BadRequest('"query" must be a non-empty string')
    if variables is not None and not isinstance(variables, dict):
        raise BadRequest('"variables" must be an object or null')
    if operation_name is not None and not isinstance(operation_name, str):
        raise BadRequest('"operationName" must be a string or null')
    return query, variables or {}, operation_name


def _canned(response: CannedResponse) -> Answer:
    return Answer(response.status, response.body, response.content_type, response.headers)


class _Handler(BaseHTTPRequestHandler):
    """Socket I/O only: read one request, let the endpoint answer, write the answer."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client's
    # delayed ACK would add ~40 ms to every answer.
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection_number = self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def _serve(self) -> None:
        body = self._read_body()
        try:
            answer = self.server.endpoint.handle(
                HttpRequest(
                    self.command,
                    self.path,
                    self.headers.get("Authorization"),
                    self.headers.get("Content-Type"),
                    body,
                    self.connection_number,
                )
            )
        except Exception as error:  # an emulator bug: say so loudly, keep serving
            traceback.print_exc()
            answer = Answer(500, f"emulator error: {error!r}".encode(), close=True)
        self._write(answer)

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def _read_body(self) -> bytes | None:
        """The body per Content-Length; None (and no keep-alive) when there is none."""
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            if self.command == "POST" or self.headers.get("Transfer-Encoding"):
                self.close_connection = True
                return None
            return b""
        return self.rfile.read(int(length))

    def _write(self, answer: Answer) -> None:
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers:
                self.send_header(name, value)
            if answer.close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)
        except OSError:  # the client gave up (e.g. a read timeout during hang_next)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the default logs every request to stderr."""


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Threaded server that knows its open connections, so `stop()` can cut keep-alives."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], endpoint: GraphQLEndpoint) -> None:
        self.endpoint = endpoint
        self._connections: dict[socket.socket, int] = {}
        self._connection_count = 0
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can stall.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def track(self, connection: socket.socket) -> int:
        with self._connections_lock:
            self._connection_count += 1
            self._connections[connection] = self._connection_count
            return self._connection_count

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.pop(connection, None)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that hang up; anything else is an emulator bug: show it."""
        if not isinstance(sys.exception(), ConnectionError):
            super().handle_error(request, client_address)
