# -*- test-case-name: tests.test_writethrough -*-
"""
Writing to a TCP connection at once instead of on the reactor's next turn,
letting the kernel send it at once too, and knowing whether a transport
still holds data to send.

This module and L{eofrelay.wire.layers} are the only ones that know how
Twisted's TCP transport buffers and how its transports wrap each other.
"""

from __future__ import annotations

from typing import TypeGuard

from twisted.internet import tcp
from twisted.internet.interfaces import ITransport

from eofrelay.wire.layers import isWrapper, layers


def _isPlainTCP(transport: object) -> TypeGuard[tcp.Server]:
    """
    Whether C{transport} is Twisted's own TCP server transport, with the
    buffers this module knows about, and has not started TLS.
    """
    return (
        transport.__class__ is tcp.Server
        and hasattr(transport, "_tempDataLen")
        and not getattr(transport, "TLS", True)
    )


def hasUnsentData(transport: object) -> bool:
    """
    Whether C{transport} may still hold data it has not handed to the
    socket: C{True} for any transport but Twisted's plain TCP one, whose
    buffers are checked.
    """
    if not _isPlainTCP(transport):
        return True
    return _holdsData(transport)


def _holdsData(transport: tcp.Server) -> bool:
    """
    Whether a TCP transport of Twisted's holds data for its socket.
    """
    return bool(transport.dataBuffer or transport._tempDataLen)


def _canSendNow(transport: tcp.Server) -> bool:
    """
    Whether a TCP transport of Twisted's may be given data for its socket
    now: it is connected, and not closing, half-closing or being aborted.
    """
    return bool(
        transport.connected
        and not transport.disconnecting
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
    if _isPlainTCP(transport) and not _holdsData(transport) and _canSendNow(transport):
        sent = transport.writeSomeData(data)
        if isinstance(sent, int):
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
    for layer in layers(transport):
        aggregator = getattr(layer, "__dict__", {}).get("_aggregator")
        if aggregator is not None and not gather:
            aggregator.flush()
    if (
        layer is not transport
        and _isPlainTCP(layer)
        and _canSendNow(layer)
        and _holdsData(layer)
    ):
        layer.doWrite()
