# -*- test-case-name: tests.test_http_api -*-
"""
Request bodies: refused on the routes that take none, and capped on the
others, before any of them is read (twisted.web would spool all of a body,
to memory or a temporary file, before a resource could refuse it).
"""

from __future__ import annotations

from typing import Final, Optional

from twisted.web.server import Request

from eofrelay.http.responses import BODY_TOO_LARGE, jsonBody

#: The largest body a request that may have one (C{POST}, C{PUT}) may
#: have: the API reads only C{PUT}'s (C{ON}, C{OFF} or a small JSON
#: object, what Home Assistant's C{rest} switch sends), and other clients
#: may send an empty JSON object with a C{POST}.
MAX_BODY: Final = 1024

#: The methods whose requests may have a body; for the others (C{GET},
#: C{HEAD}, ...) any body is refused.
WITH_BODY: Final = frozenset({b"POST", b"PUT"})

_BODY = jsonBody({"error": BODY_TOO_LARGE})

#: The answer to a body refused, before any of it is read; the connection
#: is closed after it.
REFUSED: Final = (
    b"HTTP/1.1 413 Request Entity Too Large\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(_BODY)).encode("ascii") + b"\r\n"
    b"Connection: close\r\n\r\n" + _BODY
)


class CappedRequest(Request):
    """
    A request whose body, if its method may have one (L{WITH_BODY}), is at
    most L{MAX_BODY} bytes, and otherwise empty: one that declares or sends
    more gets C{413} and the connection is closed, before any of the body
    is stored.
    """

    _refused = False
    _received = 0

    def _maxBody(self) -> int:
        """
        The most bytes of body this request may have, by its method.
        """
        # The method is known once the request line is parsed, but
        # twisted.web gives it to the request only with the whole body: it
        # is the channel's until then.
        method = getattr(self.channel, "_command", b"")
        return MAX_BODY if method.upper() in WITH_BODY else 0

    def gotLength(self, length: Optional[int]) -> None:
        """
        Refuse a declared body that is too large; otherwise take what
        twisted.web takes.
        """
        if length and length > self._maxBody():
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
        if self._received > self._maxBody():
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
            transport.write(REFUSED)
            transport.loseConnection()
