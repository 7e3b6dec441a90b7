"""A local stand-in for CloudFormation's side of custom resources, shared by the tests and the demo.

* :class:`ResponseServer` records the response PUTs (the presigned ResponseURL);
* :class:`LocalFunction` invokes the provider in-process with a real deadline;
* :class:`StackPlayer` plays a template's lifecycle in dependency order.
"""

from localcfn.doubles import CapturedResponse, LambdaContext, LocalFunction, ResponseServer
from localcfn.player import StackFailed, StackPlayer, stringify

__all__ = [
    "CapturedResponse",
    "LambdaContext",
    "LocalFunction",
    "ResponseServer",
    "StackFailed",
    "StackPlayer",
    "stringify",
]
