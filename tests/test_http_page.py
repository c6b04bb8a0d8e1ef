"""
Tests for the web page of C{eofrelay.http.page}: served at C{/},
self-contained, and allowed to load nothing from elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import re

from twisted.trial.unittest import SynchronousTestCase

from eofrelay.http.page import Page, loadPage
from tests.httptesting import FakeHTTP


class PageTests(SynchronousTestCase):
    """
    C{GET /}.
    """

    def test_served(self) -> None:
        """
        C{GET /} is the page from the package, as UTF-8 HTML that no cache
        keeps stale and no other site may frame.
        """
        response = FakeHTTP().request("GET", "/")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body, loadPage())
        self.assertEqual(response.header("content-type"), "text/html; charset=utf-8")
        self.assertEqual(response.header("x-frame-options"), "DENY")
        self.assertEqual(response.header("cache-control"), "no-cache")
        policy = response.header("content-security-policy") or ""
        self.assertIn("frame-ancestors 'none'", policy)
        self.assertIn("connect-src 'self'", policy)
        self.assertIn("default-src 'none'", policy)

    def test_policyHashes(self) -> None:
        """
        The policy allows the page's inline script and style by their
        hashes, and nothing else: no C{unsafe-inline}, no other source.
        """
        page = Page()
        policy = page.policy.decode("ascii")
        for element in ("script", "style"):
            [text] = re.findall(
                f"<{element}>(.*?)</{element}>".encode(), page.body, re.S
            )
            digest = base64.b64encode(hashlib.sha256(text).digest()).decode()
            self.assertIn(f"{element}-src 'sha256-{digest}'", policy)
        self.assertNotIn("unsafe", policy)
        self.assertNotIn("http", policy)

    def test_selfContained(self) -> None:
        """
        The page names no other host: no URL with a scheme or C{//}, no
        external script, style sheet or font; the token goes into a header,
        never a URL, and is kept in C{sessionStorage} only.
        """
        text = loadPage().decode("utf-8")
        self.assertIsNone(re.search(r"(https?:)?//[a-z0-9]", text, re.I))
        self.assertNotIn("<script src", text)
        self.assertNotIn('rel="stylesheet"', text)
        self.assertNotIn("@import", text)
        self.assertNotIn("localStorage", text)
        self.assertIn("sessionStorage", text)
        self.assertIn('"Authorization": "Bearer " + token', text)
        self.assertNotIn("EventSource", text)
        self.assertIsNone(re.search(r"[?&]token=", text))

    def test_accessibleNames(self) -> None:
        """
        Every control's accessible name includes the relay's name.
        """
        text = loadPage().decode("utf-8")
        for label in (
            '"Switch " + name + " on"',
            '"Switch " + name + " off"',
            '"Toggle " + name',
            '"Pulse " + name',
            '"Pulse length of " + name + " in seconds"',
        ):
            self.assertIn(label, text)

    def test_head(self) -> None:
        """
        C{HEAD /} has the page's headers and no body.
        """
        http = FakeHTTP()
        _, transport = http.send("HEAD", "/")
        head, _, body = transport.value().partition(b"\r\n\r\n")
        self.assertIn(b"200 OK", head)
        self.assertIn(f"Content-Length: {len(loadPage())}".encode(), head)
        self.assertEqual(body, b"")
