# -*- test-case-name: tests.test_http_api -*-
"""
Request bodies of the API: refused on the routes that take none, and
capped on the others, before any of them is read (L{eofrelay.web.bodies}).
"""

from __future__ import annotations

from typing import Final

from eofrelay.http.responses import BODY_TOO_LARGE, jsonBody
from eofrelay.web import bodies

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


class CappedRequest(bodies.CappedRequest):
    """
    A request of the API whose body, if its method may have one
    (L{WITH_BODY}), is at most L{MAX_BODY} bytes, and otherwise empty; one
    with more gets the JSON C{413} of L{REFUSED}.
    """

    REFUSED = REFUSED

    def maxBody(self) -> int:
        """
        The most bytes of body this request may have, by its method.
        """
        # The method is known once the request line is parsed, but
        # twisted.web gives it to the request only with the whole body: it
        # is the channel's until then.
        method = getattr(self.channel, "_command", b"")
        return MAX_BODY if method.upper() in WITH_BODY else 0
