# -*- test-case-name: tests.test_switchlog -*-
"""
The namespaces of eofrelay's log lines.

Operators filter and search the log by namespace (the C{[eofrelay.state.
RelayState#info]} that twistd prints), so the namespaces are part of what
eofrelay promises; they stay as they were when each part of the code had
the module they name, wherever the code lives now.
"""

from __future__ import annotations

from time import time
from typing import Final

from twisted.logger import Logger, LogLevel

#: Every switch of a relay: the audit trail.
SWITCHES: Final = "eofrelay.state.RelayState"
#: What happens on client connections (authentication included).
CONNECTIONS: Final = "eofrelay.protocol.RelayProtocol"
#: Connections refused before they start.
REFUSALS: Final = "eofrelay.factory.RelayFactory"
#: The service starting and stopping.
SERVICE: Final = "eofrelay.service.RelayService"
#: The state file.
STATE_FILE: Final = "eofrelay.statefile.StateFile"


class NamedLogger(Logger):
    """
    A L{Logger} that keeps its namespace as a class attribute too (a plain
    one takes the name of the class it is read from); like a plain one, it
    gives the instance it is read from as the events' C{log_source}.
    """

    def __get__(self, instance: object, owner: type | None = None) -> Logger:
        return Logger(
            self.namespace,
            owner if instance is None else instance,
            observer=self.observer,
        )


class EventLogger(Logger):
    """
    A L{Logger} that builds each event in one step: a plain one first
    checks that the level is one of L{LogLevel}'s by going through all of
    them, which is 40% of what making and publishing an event costs
    (C{benchmarks.switchlog}).  Its callers give only L{LogLevel}'s own
    constants, by its methods (C{info}, C{warn}...).
    """

    def emit(
        self, level: LogLevel, format: str | None = None, **kwargs: object
    ) -> None:
        """
        Publish an event at C{level} to the observer, as L{Logger.emit}
        does.
        """
        kwargs.update(
            log_logger=self,
            log_level=level,
            log_namespace=self.namespace,
            log_source=self.source,
            log_format=format,
            log_time=time(),
        )
        trace = kwargs.get("log_trace")
        if trace is not None:
            trace.append((self, self.observer))  # type: ignore[attr-defined]
        self.observer(kwargs)
