# -*- test-case-name: tests.test_writethrough -*-
"""
Writing replies to a TCP connection at once instead of on the reactor's
next turn, knowing whether a transport still holds data to send, and
knowing whether it runs over TLS.

This module is the only one that knows how Twisted's TCP transport buffers
and how its transports wrap each other.
"""

from __future__ import annotations

import sys

from twisted.internet import tcp
from twisted.internet.interfaces import ITransport

#: How many wrapping transports L{usesTLS} looks through.
_MAX_LAYERS = 8


def usesTLS(transport: ITransport) -> bool:
    """
    Whether C{transport}, or a transport it wraps, is a TLS layer
    (Twisted's C{TLSMemoryBIOProtocol}, or a TCP transport that has
    started TLS).

    A wrapping transport (a L{twisted.protocols.policies.ProtocolWrapper}:
    TLS, HAProxy, the policies' wrappers) forwards the attributes it lacks
    to the transport it wraps; half-closing that one underneath TLS would
    bypass TLS, so callers ask this first.
    """
    tls = sys.modules.get("twisted.protocols.tls")
    layer: object = transport
    for _ in range(_MAX_LAYERS):
        if tls is not None and isinstance(layer, tls.TLSMemoryBIOProtocol):
            return True
        # Instance attributes only, without the wrapper's forwarding.
        attributes = getattr(layer, "__dict__", {})
        if attributes.get("TLS", False):
            return True
        layer = attributes.get("transport")
        if layer is None:
            return False
    return False


def _isPlainTCP(transport: ITransport) -> bool:
    """
    Whether C{transport} is Twisted's own TCP server transport, with the
    buffers this module knows about.
    """
    return transport.__class__ is tcp.Server and hasattr(transport, "_tempDataLen")


def hasUnsentData(transport: ITransport) -> bool:
    """
    Whether C{transport} may still hold data it has not handed to the
    socket: C{True} for any transport but Twisted's plain TCP one, whose
    buffers are checked.
    """
    if not _isPlainTCP(transport) or getattr(transport, "TLS", True):
        return True
    return bool(transport.dataBuffer or transport._tempDataLen)  # type: ignore[attr-defined]


def writeThrough(transport: ITransport, data: bytes) -> None:
    """
    Write C{data} to C{transport}, sending at once what the socket takes.

    Twisted's TCP transport buffers every write and sends it on the
    reactor's next turn: one more turn, and two more system calls to
    register and unregister for writability, for each reply.  A server
    transport of Twisted's own TCP with nothing buffered is given the data
    through its C{writeSomeData} (the send that turn would do) and only
    what the socket did not take is buffered, as asyncio's transports do.
    Any other transport (TLS, UNIX sockets, test doubles), or a TCP
    transport that has started TLS, is closing or being aborted, or still
    has data waiting, gets a plain C{write}, so the order of the bytes, the
    encryption and the transport's flow control are unchanged.
    """
    if (
        not hasUnsentData(transport)
        and transport.connected  # type: ignore[attr-defined]
        and not transport.disconnecting  # type: ignore[attr-defined]
        and not getattr(transport, "_writeDisconnecting", True)
        and not getattr(transport, "_aborting", True)
    ):
        sent = transport.writeSomeData(data)  # type: ignore[attr-defined]
        if sent.__class__ is int:
            if sent == len(data):
                return
            data = data[sent:]
    transport.write(data)
