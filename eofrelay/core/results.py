# -*- test-case-name: tests.test_sequencer -*-
"""
Results that are known at once or later: a value, or a L{Deferred} of it.

Most relays switch at once, and a Deferred for every switch would cost
more than the switch; a driver on the network answers later.  Code that
handles both uses L{then}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar, Union

from twisted.internet.defer import Deferred
from typing_extensions import TypeIs

T = TypeVar("T")
U = TypeVar("U")

#: A value now, or a Deferred firing with it.
Result = Union[T, "Deferred[T]"]


#: The classes of the results known at once on the path of every command.
_KNOWN: Final = frozenset({bool, bytes, type(None)})


def isDeferred(result: object) -> TypeIs[Deferred[Any]]:
    """
    Whether C{result} is a L{Deferred} (or a subclass's instance, such as a
    L{DeferredList}).

    C{isinstance(result, Deferred)} costs about four times as much for the
    results known at once, because L{Deferred} is an abstract base class
    (C{Awaitable}): on the path of every command, those are told apart by
    their class first (measured with C{benchmarks.inprocess}).
    """
    return result.__class__ not in _KNOWN and isinstance(result, Deferred)


def then(result: Result[T], function: Callable[[T], U]) -> Result[U]:
    """
    Apply C{function} to C{result} now, or when it fires if it is a
    L{Deferred}.
    """
    if isDeferred(result):
        return result.addCallback(function)
    return function(result)
