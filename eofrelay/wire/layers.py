# -*- test-case-name: tests.test_layers -*-
"""
How Twisted's transports wrap each other (TLS, HAProxy, the policies'
wrappers), and the socket option every TCP connection of eofrelay's, server
or client, is set up with (L{noDelay}).

This module and L{eofrelay.tcp.writethrough} are the only ones that know
how Twisted's transports are built.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from typing import Optional, TypeGuard

from twisted.internet import tcp

#: How many wrapping transports L{layers} looks through.
MAX_LAYERS = 8


def layers(transport: object) -> Iterator[object]:
    """
    C{transport} and the transports it wraps, outermost first, at most
    L{MAX_LAYERS} of them.

    A wrapping transport (a L{twisted.protocols.policies.ProtocolWrapper}:
    TLS, HAProxy, the policies' wrappers) forwards the attributes it lacks
    to the transport it wraps, so only instance attributes are looked at.
    """
    layer: Optional[object] = transport
    for _ in range(MAX_LAYERS):
        if layer is None:
            return
        yield layer
        layer = getattr(layer, "__dict__", {}).get("transport")


def isTCPServer(transport: object) -> TypeGuard[tcp.Server]:
    """
    Whether C{transport} is a server connection of Twisted's own TCP, not a
    subclass, a wrapper or a test double.
    """
    return transport.__class__ is tcp.Server


def isWrapper(transport: object) -> bool:
    """
    Whether C{transport} wraps another transport (TLS, HAProxy, the
    policies' wrappers), rather than being a socket's own transport or a
    test double.

    Twisted's plain TCP transport is recognised without looking at its
    C{__dict__}: on CPython 3.11 and later, asking an object for its
    C{__dict__} makes it one that stays, about 60 bytes per connection.
    """
    if transport.__class__ is tcp.Server:
        # Inline, not isTCPServer(): it is asked on every write.
        return False
    return "transport" in getattr(transport, "__dict__", ())


def usesTLS(transport: object) -> bool:
    """
    Whether C{transport}, or a transport it wraps, is a TLS layer
    (Twisted's C{TLSMemoryBIOProtocol}, or a TCP transport that has
    started TLS).

    Half-closing a transport that a TLS layer wraps would bypass TLS, so
    callers ask this first.
    """
    tls = sys.modules.get("twisted.protocols.tls")
    for layer in layers(transport):
        if tls is not None and isinstance(layer, tls.TLSMemoryBIOProtocol):
            return True
        if getattr(layer, "__dict__", {}).get("TLS", False):
            return True
    return False


def noDelay(transport: object) -> bool:
    """
    Turn Nagle's algorithm off (C{TCP_NODELAY}) for C{transport} if it is,
    or wraps, a TCP connection.

    With Nagle's algorithm, a small write waits while anything sent before
    it is unacknowledged, and a peer that delays its acknowledgements (as
    Windows, macOS and Linux all may) sends one only after 40 to 200 ms:
    the second of two events written back to back, or the reply to a
    command sent before the previous reply arrived, would reach the peer
    that much later.  Without it, every write is sent at once, each in its
    own packet: the replies to one received segment are still written
    together, but events and replies that come later are not gathered.

    It is only an optimisation: a transport it cannot make sense of is
    left as it is.

    @return: Whether it was turned off.
    """
    if isTCPServer(transport):
        # The common case, without the look through wrappers.
        transport.setTcpNoDelay(True)
        return True
    *_, innermost = layers(transport)
    setNoDelay = getattr(innermost, "setTcpNoDelay", None)
    getHandle = getattr(innermost, "getHandle", None)
    if setNoDelay is None or getHandle is None:
        return False
    try:
        family = getattr(getHandle(), "family", None)
    except Exception:
        return False
    if family not in (socket.AF_INET, socket.AF_INET6):
        return False
    setNoDelay(True)
    return True
