# -*- test-case-name: tests.test_writethrough -*-
"""
Writing replies to a TCP connection at once instead of on the reactor's
next turn, letting the kernel send them at once too, knowing whether a
transport still holds data to send, and knowing whether it runs over TLS.

This module is the only one that knows how Twisted's TCP transport buffers
and how its transports wrap each other.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from typing import Optional

from twisted.internet import tcp
from twisted.internet.interfaces import ITransport

#: How many wrapping transports L{usesTLS} and L{noDelay} look through.
_MAX_LAYERS = 8


def _layers(transport: object) -> Iterator[object]:
    """
    C{transport} and the transports it wraps, outermost first, at most
    L{_MAX_LAYERS} of them.

    A wrapping transport (a L{twisted.protocols.policies.ProtocolWrapper}:
    TLS, HAProxy, the policies' wrappers) forwards the attributes it lacks
    to the transport it wraps, so only instance attributes are looked at.
    """
    layer: Optional[object] = transport
    for _ in range(_MAX_LAYERS):
        if layer is None:
            return
        yield layer
        layer = getattr(layer, "__dict__", {}).get("transport")


def isWrapper(transport: ITransport) -> bool:
    """
    Whether C{transport} wraps another transport (TLS, HAProxy, the
    policies' wrappers), rather than being a socket's own transport or a
    test double.

    Twisted's plain TCP transport is recognised without looking at its
    C{__dict__}: on CPython 3.11 and later, asking an object for its
    C{__dict__} makes it one that stays, about 60 bytes per connection.
    """
    if transport.__class__ is tcp.Server:
        return False
    return "transport" in getattr(transport, "__dict__", ())


def usesTLS(transport: ITransport) -> bool:
    """
    Whether C{transport}, or a transport it wraps, is a TLS layer
    (Twisted's C{TLSMemoryBIOProtocol}, or a TCP transport that has
    started TLS).

    Half-closing a transport that a TLS layer wraps would bypass TLS, so
    callers ask this first.
    """
    tls = sys.modules.get("twisted.protocols.tls")
    for layer in _layers(transport):
        if tls is not None and isinstance(layer, tls.TLSMemoryBIOProtocol):
            return True
        if getattr(layer, "__dict__", {}).get("TLS", False):
            return True
    return False


def noDelay(transport: ITransport) -> bool:
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
    if transport.__class__ is tcp.Server:
        # The common case, without the look through wrappers.
        transport.setTcpNoDelay(True)  # type: ignore[attr-defined]
        return True
    *_, innermost = _layers(transport)
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


def _isPlainTCP(transport: ITransport) -> bool:
    """
    Whether C{transport} is Twisted's own TCP server transport, with the
    buffers this module knows about, and has not started TLS.
    """
    return (
        transport.__class__ is tcp.Server
        and hasattr(transport, "_tempDataLen")
        and not getattr(transport, "TLS", True)
    )


def hasUnsentData(transport: ITransport) -> bool:
    """
    Whether C{transport} may still hold data it has not handed to the
    socket: C{True} for any transport but Twisted's plain TCP one, whose
    buffers are checked.
    """
    if not _isPlainTCP(transport):
        return True
    return bool(transport.dataBuffer or transport._tempDataLen)  # type: ignore[attr-defined]


def _canSendNow(transport: ITransport) -> bool:
    """
    Whether a TCP transport of Twisted's may be given data for its socket
    now: it is connected, and not closing, half-closing or being aborted.
    """
    return bool(
        transport.connected  # type: ignore[attr-defined]
        and not transport.disconnecting  # type: ignore[attr-defined]
        and not getattr(transport, "_writeDisconnecting", True)
        and not getattr(transport, "_aborting", True)
    )


def writeThrough(transport: ITransport, data: bytes, gather: bool = False) -> None:
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

    A wrapping transport (TLS, HAProxy, the policies' wrappers) passes what
    it is given on to the transport it wraps, and Twisted's TLS layer holds
    small writes for the reactor's next turn: what the layers down to
    Twisted's TCP transport then hold is sent at once too (see
    L{_sendWrapped}).

    @param gather: Let a TLS layer gather C{data} with the other small
        writes of this turn of the reactor (for events: C{off all} sends
        a watcher one per relay), instead of encrypting it now.  What it
        gathers is still sent before anything written after it.
    """
    if not hasUnsentData(transport) and _canSendNow(transport):
        sent = transport.writeSomeData(data)  # type: ignore[attr-defined]
        if sent.__class__ is int:
            if sent == len(data):
                return
            data = data[sent:]
    transport.write(data)
    if isWrapper(transport):
        _sendWrapped(transport, gather)


def _sendWrapped(transport: ITransport, gather: bool = False) -> None:
    """
    Send at once what the transports that C{transport} wraps hold, down to
    Twisted's TCP transport and as far as its socket takes it.

    Wrappers cannot be half-closed: when the peer closes its side, Twisted
    closes the connection at once, and what is still held for the next
    turn of the reactor is lost.  Twisted's TLS layer holds small writes
    for that turn, and its TCP transport holds what it is given; a client
    that sends its commands and then closes (C{nc -N} through a HAProxy,
    a TLS client that sends its close alert or half-closes TCP at once)
    would lose replies already written.  Each layer is flushed with what
    that turn would call (the TLS layer's aggregator's C{flush}, the TCP
    transport's own C{doWrite}), which keeps the order of the bytes, and
    the layers' flow control and error handling.

    @param gather: Leave what TLS layers hold for their next flush.
    """
    layer: object = transport
    for layer in _layers(transport):
        aggregator = getattr(layer, "__dict__", {}).get("_aggregator")
        if aggregator is not None and not gather:
            aggregator.flush()
    if (
        layer is not transport
        and _isPlainTCP(layer)  # type: ignore[arg-type]
        and _canSendNow(layer)  # type: ignore[arg-type]
        and hasUnsentData(layer)  # type: ignore[arg-type]
    ):
        layer.doWrite()  # type: ignore[attr-defined]
