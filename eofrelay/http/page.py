# -*- test-case-name: tests.test_http_page -*-
"""
The web page at C{/}: one HTML document shipped with the package
(C{page.html}), its style and script inline, served with a content
security policy that lets it load nothing from anywhere but itself and
this server's API.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources
from typing import Final

from twisted.web import http
from twisted.web.server import Request

#: The page's file in the package.
PAGE_FILE: Final = "page.html"


def loadPage() -> bytes:
    """
    The page, as shipped in the package.
    """
    return resources.files("eofrelay.http").joinpath(PAGE_FILE).read_bytes()


def _hashes(page: bytes, element: bytes) -> bytes:
    """
    The C{'sha256-...'} sources of the inline C{<element>}s of C{page}.
    """
    found = re.findall(rb"<" + element + rb">(.*?)</" + element + rb">", page, re.S)
    return b" ".join(
        b"'sha256-" + base64.b64encode(hashlib.sha256(text).digest()) + b"'"
        for text in found
    )


def securityPolicy(page: bytes) -> bytes:
    """
    The C{Content-Security-Policy} of C{page}: its own inline script and
    style only (by their hashes), requests to this server only, no frame
    around it (no other site can lay it under its own buttons).
    """
    return b"; ".join(
        (
            b"default-src 'none'",
            b"script-src " + _hashes(page, b"script"),
            b"style-src " + _hashes(page, b"style"),
            b"img-src data:",
            b"connect-src 'self'",
            b"base-uri 'none'",
            b"form-action 'none'",
            b"frame-ancestors 'none'",
        )
    )


class Page:
    """
    Serves the page.

    @ivar body: The page.
    @ivar policy: Its content security policy.
    """

    def __init__(self, body: bytes | None = None) -> None:
        self.body = loadPage() if body is None else body
        self.policy = securityPolicy(self.body)

    def serve(self, request: Request) -> None:
        """
        Answer C{request} (a C{GET} or C{HEAD} of C{/}) with the page.
        """
        request.setResponseCode(http.OK)
        for name, value in (
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-security-policy", self.policy),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"cache-control", b"no-cache"),
            (b"content-length", str(len(self.body)).encode("ascii")),
        ):
            request.setHeader(name, value)
        request.write(self.body)
        request.finish()
