"""`python -m spacelift_emulator`: run the emulator in the foreground.

Example (from the repository root): `PYTHONPATH=harness python -m spacelift_emulator --port 8765 --api-key ID:SECRET --stack my-stack
--module my-module --space team:root --stack team-stack:team`. Prints the endpoint (never
the secrets) and serves until interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from .emulator import DEFAULT_AWS_ACCOUNT_ID, Emulator
from .state import ROOT_SPACE


def _pair(default_second: str | None) -> Callable[[str], tuple[str, str]]:
    """An argparse type for `FIRST:SECOND`, the second part optional when there is a default."""

    def parse(text: str) -> tuple[str, str]:
        first, sep, second = text.partition(":")
        if not first or (sep and not second) or (not sep and default_second is None):
            raise argparse.ArgumentTypeError(f"bad value {text!r}")
        return first, second if sep else str(default_second)

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spacelift_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--api-key",
        action="append",
        type=_pair(None),
        required=True,
        metavar="ID:SECRET",
        help="an API key (repeatable)",
    )
    parser.add_argument(
        "--space",
        action="append",
        type=_pair(ROOT_SPACE),
        default=[],
        metavar="ID[:PARENT]",
        help="a space, parents first (repeatable)",
    )
    parser.add_argument(
        "--stack",
        action="append",
        type=_pair(ROOT_SPACE),
        default=[],
        metavar="ID[:SPACE]",
        help="a stack (repeatable)",
    )
    parser.add_argument(
        "--module",
        action="append",
        type=_pair(ROOT_SPACE),
        default=[],
        metavar="ID[:SPACE]",
        help="a module (repeatable)",
    )
    parser.add_argument("--account-name", default="acme")
    parser.add_argument("--aws-account-id", default=DEFAULT_AWS_ACCOUNT_ID)
    parser.add_argument("--token-lifetime", type=int, default=3600, metavar="SECONDS")
    args = parser.parse_args(argv)

    emulator = Emulator(
        dict(args.api_key),
        account_name=args.account_name,
        aws_account_id=args.aws_account_id,
        host=args.host,
        port=args.port,
        token_lifetime=args.token_lifetime,
        stacks=dict(args.stack),
        modules=dict(args.module),
        spaces=dict(args.space),
    )
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with emulator:
        keys = ", ".join(key_id for key_id, _ in args.api_key)
        print(f"Spacelift emulator listening on {emulator.url}", flush=True)
        print(
            f"GraphQL endpoint: {emulator.url}/graphql (account {args.account_name}; keys: {keys})",
            flush=True,
        )
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
