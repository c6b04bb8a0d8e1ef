# -*- test-case-name: tests.test_sequencer -*-
"""
Results that are known at once or later: a value, or a L{Deferred} of it.

Most relays switch at once, and a Deferred for every switch would cost
more than the switch; a driver on the network answers later.  Code that
handles both uses L{then}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, Union

from twisted.internet.defer import Deferred

T = TypeVar("T")
U = TypeVar("U")

#: A value now, or a Deferred firing with it.
Result = Union[T, "Deferred[T]"]


def then(result: Result[T], function: Callable[[T], U]) -> Result[U]:
    """
    Apply C{function} to C{result} now, or when it fires if it is a
    L{Deferred}.
    """
    if isinstance(result, Deferred):
        return result.addCallback(function)
    return function(result)
