# -*- test-case-name: tests.test_http_api -*-
"""
The site of C{--http}: the page at C{/}, the API below C{/api/}, and
nothing else.
"""

from __future__ import annotations

from typing import Any

from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from eofrelay.http.api import RelayAPI
from eofrelay.http.bodies import CappedRequest
from eofrelay.http.page import Page
from eofrelay.http.responses import METHOD_NOT_ALLOWED, NOT_FOUND, respondError


class Root(Resource):
    """
    Every path of the site, answered by the page or the API.

    @ivar api: What answers C{/api/}.
    @ivar page: What answers C{/}.
    """

    isLeaf = True

    def __init__(self, api: RelayAPI, page: Page) -> None:
        super().__init__()
        self.api = api
        self.page = page

    def render(self, request: Request) -> Any:
        """
        Answer C{request}, now or later.
        """
        segments = list(request.postpath or [])
        if segments == [b""] or not segments:
            if request.method in (b"GET", b"HEAD"):
                self.page.serve(request)
            else:
                request.setHeader(b"allow", b"GET, HEAD")
                respondError(request, http.NOT_ALLOWED, METHOD_NOT_ALLOWED)
        elif segments[0] == b"api":
            self.api.handle(request, segments[1:])
        else:
            respondError(request, http.NOT_FOUND, NOT_FOUND)
        return NOT_DONE_YET


class HTTPSite(Site):
    """
    The site of C{--http}: request bodies capped (L{CappedRequest}), and no
    access-log line per request (any peer that reaches the port could grow
    the service's log with them; what a request switches is in the switch
    log, and refused tokens are logged).
    """

    requestFactory = CappedRequest

    def log(self, request: http.Request) -> None:
        """
        Log nothing.
        """
