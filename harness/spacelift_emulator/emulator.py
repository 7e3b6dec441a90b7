"""`Emulator`: the public face of the package, wiring state, tokens, faults and the server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Literal, Self

from .auth import Tokens
from .faults import Faults
from .recording import RequestLog, RequestRecord
from .resolvers import Context, build_executable_schema
from .server import EmulatorHTTPServer, GraphQLEndpoint
from .state import ROOT_SPACE, Attachment, Integration, IntegrationSettings, State, TrustCheck

DEFAULT_AWS_ACCOUNT_ID = "324880187172"  # Spacelift's AWS account for spacelift.io (docs aws.md)

Placement = Mapping[str, str] | Iterable[str]
"""Stacks or modules: `{id: space}`, or just IDs (placed in `root`)."""

DisabledStyle = Literal["error", "unauthorized"]
"""How an account without AWS integrations refuses their fields (unknown in production)."""

#: The error text of `DisabledStyle` "error": an assumption, no public source shows the real one.
INTEGRATIONS_DISABLED_ERROR = "AWS integrations are not enabled for this account"


def trusted(integration: Integration, stack_id: str, external_id: str) -> bool:
    """The default role assumption test: every role trusts Spacelift."""
    return True


class Emulator:
    """A local Spacelift GraphQL API for AWS integrations, with fault switches and a request log.

    `api_keys` maps key IDs to secrets. `stacks`/`modules` (`{id: space}` or a list of IDs)
    and `spaces` (`{id: parent}`, parents first) seed the registry; `reset()` returns to this
    seed. `clock` (Unix seconds) drives token lifetimes, so tests can expire tokens without
    sleeping. `trust_check` is the role assumption test attach runs: replace it with any
    `(integration, stack_or_module_id, external_id) -> bool`.
    """

    def __init__(
        self,
        api_keys: Mapping[str, str] | None = None,
        *,
        account_name: str = "acme",
        aws_account_id: str = DEFAULT_AWS_ACCOUNT_ID,
        host: str = "127.0.0.1",
        port: int = 0,
        token_lifetime: int = 3600,
        stacks: Placement | None = None,
        modules: Placement | None = None,
        spaces: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        unique_names: bool = True,
    ) -> None:
        self._host = host
        self._port = port
        self._account_name = account_name
        self._aws_account_id = aws_account_id
        self._seed_spaces = dict(spaces or {})
        self._seed_stacks = _placement(stacks)
        self._seed_modules = _placement(modules)
        self._seed_unique_names = self._unique_names = unique_names
        self._external_id_required = False
        self._integrations_refusal: str | None = None
        self._tokens = Tokens(token_lifetime, clock)
        for key_id, secret in (api_keys or {}).items():
            self._tokens.add_key(key_id, secret)
        self.faults = Faults(self._tokens.expire_all)
        self.trust_check: TrustCheck = trusted
        self._log = RequestLog()
        self._state = self._seeded_state()
        self._stopping = threading.Event()
        self._endpoint = GraphQLEndpoint(
            build_executable_schema(), self.faults, self._log, self._context, self._stopping
        )
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Serve in a daemon thread. After a stop, a restart reuses the same port."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._stopping.clear()
        self._server = EmulatorHTTPServer((self._host, self._port), self._endpoint)
        self._port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # how long stop() waits for the loop to notice
            name=f"spacelift-emulator:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut open keep-alive connections (idempotent)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self if self._server is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:PORT`; GraphQL is served at `url + "/graphql"`."""
        if self._server is None and self._port == 0:
            raise RuntimeError("the emulator has no port yet: start() it first")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    # ---------------------------------------------------------------- state

    def add_api_key(self, key_id: str, secret: str, *, admin_of: Iterable[str] | None = None) -> None:
        """Add (or replace) an API key. By default it is admin of root, so of every space;
        `admin_of` limits its admin role to those spaces and their children: its mutations
        elsewhere are answered `unauthorized`, as Spacelift answers an under-privileged key."""
        self._tokens.add_key(key_id, secret, None if admin_of is None else frozenset(admin_of))

    def disable_aws_integrations(self, style: DisabledStyle = "error") -> None:
        """Make this an account without AWS integrations, until the next `reset()`.

        `awsIntegrationsEnabled` then answers false and every other AWS integration field (query
        or mutation) an error: `INTEGRATIONS_DISABLED_ERROR` (style "error") or `unauthorized`
        (style "unauthorized"). Which one Spacelift answers is not public, so a client must cope
        with both."""
        if style not in ("error", "unauthorized"):
            raise ValueError("style must be 'error' or 'unauthorized'")
        self._integrations_refusal = INTEGRATIONS_DISABLED_ERROR if style == "error" else "unauthorized"

    @property
    def aws_integrations_enabled(self) -> bool:
        return self._integrations_refusal is None

    def add_space(self, space_id: str, parent: str = ROOT_SPACE, inherit_entities: bool = True) -> None:
        """Add a space; with `inherit_entities` its stacks see integrations of its ancestors."""
        self._state.add_space(space_id, parent, inherit_entities)

    def add_stack(self, stack_id: str, space: str = ROOT_SPACE, name: str | None = None) -> None:
        self._state.add_project(stack_id, space, is_module=False, name=name)

    def add_module(self, module_id: str, space: str = ROOT_SPACE, name: str | None = None) -> None:
        self._state.add_project(module_id, space, is_module=True, name=name)

    def remove_stack(self, stack_id: str) -> None:
        """Delete a stack as a Spacelift user would: its attachments go with it."""
        self._state.remove_project(stack_id, is_module=False)

    def remove_module(self, module_id: str) -> None:
        """Delete a module as a Spacelift user would: its attachments go with it."""
        self._state.remove_project(module_id, is_module=True)

    def add_integration(self, settings: IntegrationSettings) -> Integration:
        """An integration made outside the provider (in the UI, by Terraform), under the API's rules."""
        return self._state.create_integration(settings)

    def edit_integration(self, integration_id: str, settings: IntegrationSettings) -> Integration:
        """Change an integration as a Spacelift user would (every setting is replaced)."""
        return self._state.update_integration(integration_id, settings)

    @property
    def integrations(self) -> dict[str, Integration]:
        """Snapshot of the stored integrations by ID."""
        return self._state.integrations()

    @property
    def attachments(self) -> dict[str, Attachment]:
        """Snapshot of the stored attachments by attachment ID."""
        return self._state.attachments()

    def reset(self) -> None:
        """Back to the constructor's seed: no integrations or attachments, faults disarmed,
        default trust check, counters cleared. Issued tokens stay valid (use
        `faults.expire_tokens()` to revoke them)."""
        self._unique_names = self._seed_unique_names
        self.external_id_required = False
        self._integrations_refusal = None
        self._state = self._seeded_state()
        self.faults.reset()
        self.trust_check = trusted
        self.reset_counters()

    @property
    def unique_names(self) -> bool:
        """Whether integration names must be unique; settable until the next `reset()`."""
        return self._unique_names

    @unique_names.setter
    def unique_names(self, unique: bool) -> None:
        self._unique_names = unique
        self._state.unique_names = unique

    @property
    def external_id_required(self) -> bool:
        """Whether `externalIdForStack` is non-null (unknown in production; nullable by default).

        Non-null, an error computing one external ID nulls the whole mutation result (the
        mutation is still applied). Settable until the next `reset()`."""
        return self._external_id_required

    @external_id_required.setter
    def external_id_required(self, required: bool) -> None:
        self._external_id_required = required
        self._endpoint.use_schema(build_executable_schema(required))

    # ---------------------------------------------------------------- instrumentation

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request answered since the last reset, oldest first."""
        return self._log.records()

    def request_count(self, field: str | None = None) -> int:
        """Requests answered; with `field`, only those whose operation selects that root field."""
        return sum(1 for r in self._log.records() if field is None or field in r.root_fields)

    @property
    def token_exchanges(self) -> int:
        """Successful `apiKeyUser` exchanges (each exchanged key is a billed user)."""
        return self._tokens.exchanges

    def reset_counters(self) -> None:
        self._log.clear()
        self._tokens.reset_count()

    # ---------------------------------------------------------------- internals

    def _seeded_state(self) -> State:
        state = State(self._account_name, self._aws_account_id, self._unique_names)
        for space_id, parent in self._seed_spaces.items():
            state.add_space(space_id, parent)
        for placement, is_module in ((self._seed_stacks, False), (self._seed_modules, True)):
            for project_id, space in placement.items():
                state.add_project(project_id, space, is_module, None)
        return state

    def _context(self, authorization: str | None) -> Context:
        return Context(
            state=self._state,
            tokens=self._tokens,
            faults=self.faults,
            trust=self._trust,
            identity=self._tokens.identify(authorization),
            audience=self.url,
            integrations_refusal=self._integrations_refusal,
        )

    def _trust(self, integration: Integration, stack_id: str, external_id: str) -> bool:
        if self.faults.take_trust_failure():
            return False
        return self.trust_check(integration, stack_id, external_id)


def _placement(projects: Placement | None) -> dict[str, str]:
    if projects is None:
        return {}
    if isinstance(projects, Mapping):
        return dict(projects)
    return dict.fromkeys(projects, ROOT_SPACE)
