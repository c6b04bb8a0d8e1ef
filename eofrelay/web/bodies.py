# -*- test-case-name: tests.test_metrics,tests.test_http_api -*-
"""
Request bodies refused or capped before any of them is read: twisted.web
would spool all of a body, to memory or a temporary file, before a
resource could refuse it.
"""

from __future__ import annotations

from typing import ClassVar, Optional

from twisted.web.server import Request

#: The answer to a body refused, without a body of its own; the connection
#: is closed after it.
BODY_REFUSED = (
    b"HTTP/1.1 413 Request Entity Too Large\r\n"
    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
)


class CappedRequest(Request):
    """
    A request whose body is at most L{maxBody} bytes (by default none):
    one that declares or sends more gets L{REFUSED} (a C{413}) and the
    connection is closed, before any of the body is stored.

    @cvar REFUSED: The whole answer written to a body refused.
    """

    REFUSED: ClassVar[bytes] = BODY_REFUSED

    _refused = False
    _received = 0

    def maxBody(self) -> int:
        """
        The most bytes of body this request may have; override to allow
        some.
        """
        return 0

    def gotLength(self, length: Optional[int]) -> None:
        """
        Refuse a declared body that is too large; otherwise take what
        twisted.web takes.
        """
        if length and length > self.maxBody():
            self._refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        """
        Refuse a body sent in chunks as soon as it is too large.
        """
        if self._refused:
            return
        self._received += len(data)
        if self._received > self.maxBody():
            self._refuse()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        """
        Serve the request, unless it was refused.
        """
        if not self._refused:
            super().requestReceived(command, path, version)

    def _refuse(self) -> None:
        self._refused = True
        transport = self.channel.transport
        if transport is not None:
            transport.write(self.REFUSED)
            transport.loseConnection()
