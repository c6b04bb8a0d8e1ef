# -*- test-case-name: tests.test_bank -*-
"""
What times eofrelay's timers: never the wall clock, always an
L{IReactorTime}, so that tests drive every timer with L{task.Clock
<twisted.internet.task.Clock>}.
"""

from __future__ import annotations

from typing import Optional, cast

from twisted.internet.interfaces import IReactorTime


def clockOrReactor(clock: Optional[IReactorTime]) -> IReactorTime:
    """
    C{clock}, or the global reactor if C{clock} is C{None}.

    The reactor is imported only then, so that building relays with a
    clock of their own installs no reactor.
    """
    if clock is not None:
        return clock
    from twisted.internet import reactor

    return cast(IReactorTime, reactor)
