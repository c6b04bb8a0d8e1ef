# -*- test-case-name: tests.test_http_api -*-
"""
One HTTP request, as the command layer sees it: a session that sends one
command.
"""

from __future__ import annotations

from typing import Optional

from zope.interface import implementer

from eofrelay.commands.session import ISession


@implementer(ISession)
class RequestSession:
    """
    The session of one HTTP request.  It is authenticated (or not) by its
    C{Authorization} header before its command is executed, and never
    watches or closes: events have their own route, and the connection is
    HTTP's to manage.

    @ivar peer: The peer as the log names it, C{http:HOST:PORT}.
    @ivar host: The peer's IP address, by which failed tokens are
        throttled, or C{None}.
    @ivar authenticated: Whether its token was accepted (or none is
        needed).
    """

    def __init__(self, peer: str, host: Optional[str], authenticated: bool) -> None:
        self.peer = peer
        self.host = host
        self.authenticated = authenticated

    def watch(self) -> None:
        """
        Nothing: HTTP clients read events from C{/api/events}.
        """

    def close(self) -> None:
        """
        Nothing: the request ends with its response.
        """
