# -*- test-case-name: tests.test_service -*-
"""
Connections dropped because the process is out of file descriptors,
counted with the connections refused.
"""

from __future__ import annotations

from collections import Counter

from twisted.logger import ILogObserver, LogEvent
from zope.interface import implementer

#: The reason counted in C{eofrelay_connections_refused_total}.
OUT_OF_FILES = "out of file descriptors"

#: What Twisted's listening ports log for each connection they accept and
#: close at once, with the descriptor they keep for it, when C{accept()}
#: fails with C{EMFILE}.
EMFILE_FORMAT = "EMFILE recovery: Closed socket from {address}"


@implementer(ILogObserver)
class DroppedConnections:
    """
    A log observer that counts the connections Twisted drops at C{EMFILE}
    into C{counts[OUT_OF_FILES]}: Twisted tells of them only in its own log
    lines, and no factory sees them.
    """

    def __init__(self, counts: Counter[str]) -> None:
        self.counts = counts

    def __call__(self, event: LogEvent) -> None:
        if event.get("log_format") == EMFILE_FORMAT:
            self.counts[OUT_OF_FILES] += 1
