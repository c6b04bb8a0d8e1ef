# -*- test-case-name: tests.test_http_origin -*-
"""
The same-origin rule of state-changing requests: a request whose
C{Origin} header names another site (or C{null}) is refused, so that no
other web page a user visits can switch a relay through the user's
browser.
"""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

from twisted.web.server import Request

#: The port a URL of each scheme means without one.
DEFAULT_PORTS = {"http": 80, "https": 443}

#: An origin: scheme, host (lower-cased, an IPv6 address without its
#: brackets) and port.
Origin = tuple[str, str, int]


def parseOrigin(text: str) -> Optional[Origin]:
    """
    The origin that an C{Origin} header's value names, or C{None} for one
    that names none (C{null}, or anything but C{http[s]://HOST[:PORT]}).
    """
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in DEFAULT_PORTS or not host or parts.path or parts.query:
        return None
    if parts.username is not None or parts.fragment:
        return None
    return (scheme, host.lower(), DEFAULT_PORTS[scheme] if port is None else port)


def ownOrigin(request: Request) -> Optional[Origin]:
    """
    The origin a browser sees this server at for C{request}: the scheme of
    the connection (C{https} over TLS), and the host and port of its
    C{Host} header (or, without one, of the address it reached).
    """
    scheme = "https" if request.isSecure() else "http"
    hosts = request.requestHeaders.getRawHeaders(b"host")
    if hosts:
        if len(hosts) != 1:
            return None
        try:
            named = hosts[0].decode("ascii")
        except UnicodeDecodeError:
            return None
        return parseOrigin(f"{scheme}://{named}")
    address = request.getHost()
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    if not isinstance(host, str) or not isinstance(port, int):
        return None
    return (scheme, host.lower(), port)


def crossOrigin(request: Request) -> bool:
    """
    Whether C{request} comes from a page of another origin: it has an
    C{Origin} header (one; several count as another origin) and that is
    not the server's own (L{ownOrigin}), C{Origin: null} included.  A
    request without C{Origin} (curl, scripts, Home Assistant) is not.
    """
    given = request.requestHeaders.getRawHeaders(b"origin")
    if given is None:
        return False
    if len(given) != 1:
        return True
    try:
        origin = parseOrigin(given[0].decode("ascii"))
    except UnicodeDecodeError:
        return True
    return origin is None or origin != ownOrigin(request)
