# -*- test-case-name: tests.test_http_api -*-
"""
The API's answers: JSON bodies, and the status code of each error.
"""

from __future__ import annotations

import json
from typing import Final

from twisted.web import http
from twisted.web.server import Request

from eofrelay.wire import replies

#: The status of each error reply of the command layer, by the reply; an
#: error not named here (none the API's commands can give) is a 400.
ERROR_STATUS: Final = {
    replies.UNKNOWN_RELAY: http.NOT_FOUND,
    replies.BAD_ARGUMENT: http.BAD_REQUEST,
    replies.AUTHENTICATION_REQUIRED: http.UNAUTHORIZED,
    replies.AUTHENTICATION_FAILED: http.UNAUTHORIZED,
    replies.HARDWARE_FAILURE: http.SERVICE_UNAVAILABLE,
}

#: The texts of the API's own errors, which have no wire reply.
NOT_FOUND: Final = "not found"
METHOD_NOT_ALLOWED: Final = "method not allowed"
FORBIDDEN_ORIGIN: Final = "cross-origin request refused"
BODY_TOO_LARGE: Final = "request body too large"

#: Headers of every answer of the API.
_HEADERS: Final = (
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
)


def errorText(reply: bytes) -> str:
    """
    The text of an error reply without its C{error: }: C{unknown relay}.
    """
    return reply.decode("ascii").removeprefix("error: ")


def jsonBody(value: object) -> bytes:
    """
    C{value} as the API writes it: JSON, then a line break.
    """
    return json.dumps(value).encode("utf-8") + b"\n"


def respond(request: Request, status: int, value: object) -> None:
    """
    Answer C{request} with C{status} and C{value} as JSON, and finish it;
    nothing if the client went away before.
    """
    # twisted.web has no public way to ask whether the client went away;
    # writing to a request whose client did raises nothing but is wasted.
    if getattr(request, "_disconnected", False) or request.finished:
        return
    body = jsonBody(value)
    request.setResponseCode(status)
    for name, header in _HEADERS:
        request.setHeader(name, header)
    request.setHeader(b"content-length", str(len(body)).encode("ascii"))
    request.write(body)
    request.finish()


def respondError(request: Request, status: int, text: str) -> None:
    """
    Answer C{request} with C{status} and C{{"error": text}}; a 401 also
    names the scheme it wants (C{WWW-Authenticate: Bearer}).
    """
    if status == http.UNAUTHORIZED:
        request.setHeader(b"www-authenticate", b'Bearer realm="eofrelay"')
    respond(request, status, {"error": text})


def respondReply(request: Request, reply: bytes) -> None:
    """
    Answer C{request} with an error reply of the command layer, as JSON
    with its status (L{ERROR_STATUS}).
    """
    respondError(request, ERROR_STATUS.get(reply, http.BAD_REQUEST), errorText(reply))
