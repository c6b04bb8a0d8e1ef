# -*- test-case-name: tests.test_http_api -*-
"""
C{Authorization: Bearer TOKEN}: the token of C{--token-file} on every API
request, checked as C{auth} checks it.
"""

from __future__ import annotations

from typing import Optional

from twisted.web.server import Request

from eofrelay.commands.access import Authenticator, tokenMatches
from eofrelay.core.logs import CONNECTIONS, NamedLogger
from eofrelay.wire import replies

_SCHEME = b"bearer"


class BearerCheck:
    """
    Checks the bearer token of requests against the token of an
    L{Authenticator}: in constant time, throttled by host with the
    failures of C{auth} (a host that guesses over HTTP is refused over TCP
    too, and the other way round), never logged.

    @ivar authenticator: Whose token and throttle are used.
    """

    log = NamedLogger(CONNECTIONS)

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    def refusal(
        self, request: Request, peer: str, host: Optional[str]
    ) -> Optional[bytes]:
        """
        Why C{request} may not command, as the wire's error reply, or
        C{None} if it may: no token is configured, or it gives the token
        and its host is not refused for now.

        @return: C{error: authentication required} without an
            C{Authorization: Bearer} header, C{error: authentication
            failed} for a wrong token or a host refused for now (too many
            failures).
        """
        token = self.authenticator.token
        if token is None:
            return None
        given = _bearerToken(request)
        if given is None:
            return replies.AUTHENTICATION_REQUIRED
        throttle = self.authenticator.throttle
        refused = throttle.refused(host)
        # Compared even while refused, as auth does.
        matches = tokenMatches(token, given)
        if matches and not refused:
            return None
        if not matches:
            throttle.failed(host)
        self.log.warn(
            "{peer}: authentication failed{why}",
            peer=peer,
            why=" (too many failures from this host, refused for now)"
            if refused
            else "",
        )
        return replies.AUTHENTICATION_FAILED


def _bearerToken(request: Request) -> Optional[bytes]:
    """
    The token of C{request}'s C{Authorization: Bearer TOKEN} header, or
    C{None} without one (or with several, or another scheme).
    """
    headers = request.requestHeaders.getRawHeaders(b"authorization")
    if not headers or len(headers) != 1:
        return None
    scheme, _, token = headers[0].strip().partition(b" ")
    if scheme.lower() != _SCHEME:
        return None
    return token.strip()
