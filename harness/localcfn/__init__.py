"""A local stand-in for CloudFormation's side of custom resources, shared by the tests and the demo.

* :class:`ResponseServer` records the response PUTs (the presigned ResponseURL);
* :class:`LocalFunction` invokes the provider in-process with a real deadline;
* :class:`StackPlayer` plays a template's lifecycle in dependency order;
* :class:`Stack` models CloudFormation's stack operations with their rollbacks, cancellations
  and Lambda's delivery faults (see ``harness/localcfn/lifecycle.py`` for its assumptions).
"""

from localcfn.doubles import CapturedResponse, LambdaContext, LocalFunction, ResponseServer
from localcfn.lifecycle import (
    SIBLING,
    Delivery,
    FunctionDied,
    OperationNotAllowed,
    Request,
    Resource,
    Stack,
    function_dies_after,
)
from localcfn.player import StackFailed, StackPlayer, stringify

__all__ = [
    "SIBLING",
    "CapturedResponse",
    "Delivery",
    "FunctionDied",
    "LambdaContext",
    "LocalFunction",
    "OperationNotAllowed",
    "Request",
    "Resource",
    "ResponseServer",
    "Stack",
    "StackFailed",
    "StackPlayer",
    "function_dies_after",
    "stringify",
]
