# -*- test-case-name: tests.test_protocol,tests.test_docs -*-
"""
Test doubles for eofrelay and for applications that embed it.
"""

from __future__ import annotations

from typing import Optional, TypeVar

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.testing import StringTransport
from zope.interface import implementer

from eofrelay.interfaces import IRelay
from eofrelay.tcp.factory import RelayFactory
from eofrelay.tcp.protocol import RelayProtocol

T = TypeVar("T")


@implementer(IRelay)
class MemoryRelay:
    """
    A relay that only exists in memory and records every switch.

    @ivar history: Every state it was driven to, in order.
    @ivar asynchronous: When C{True}, L{switch} returns a Deferred that the
        test fires (or fails) through L{pending}; the state changes when it
        fires.
    @ivar pending: The unfired Deferreds of asynchronous switches, oldest
        first, each with the state it will set.
    @ivar failWith: When set, L{switch} raises this exception.
    """

    def __init__(self, name: str = "relay", asynchronous: bool = False) -> None:
        self.name = name
        self.on = False
        self.history: list[bool] = []
        self.asynchronous = asynchronous
        self.pending: list[tuple[Deferred[None], bool]] = []
        self.failWith: Optional[Exception] = None

    def switch(self, on: bool) -> Optional[Deferred[None]]:
        """
        Record the switch, or return a Deferred for it.
        """
        if self.failWith is not None:
            raise self.failWith
        if not self.asynchronous:
            self._set(None, on)
            return None
        result: Deferred[None] = Deferred()
        result.addCallback(self._set, on)
        result.addBoth(self._settled, result)
        self.pending.append((result, on))
        return result

    def _set(self, ignored: object, on: bool) -> None:
        self.on = on
        self.history.append(on)

    def _settled(self, outcome: T, switch: Deferred[None]) -> T:
        """
        A switch's Deferred fired, failed or was cancelled: it is no longer
        pending.
        """
        # A new list: a loop over the old one, firing each, goes on.
        self.pending = [entry for entry in self.pending if entry[0] is not switch]
        return outcome

    def state(self) -> bool:
        """
        The state last set.
        """
        return self.on


def connect(
    factory: RelayFactory, host: str = "127.0.0.1", port: int = 40000
) -> tuple[RelayProtocol, StringTransport]:
    """
    Connect a new protocol of C{factory} to a L{StringTransport}, without a
    socket or a reactor.

    @return: The protocol and its transport; what the protocol writes
        accumulates in C{transport.value()}.
    @raise ValueError: if the factory refuses the peer (C{allow},
        C{maxConnections}).
    """
    peer = IPv4Address("TCP", host, port)
    protocol = factory.buildProtocol(peer)
    if not isinstance(protocol, RelayProtocol):
        raise ValueError(
            f"the factory refused a connection from {host}:{port} "
            "(see its allow and maxConnections)"
        )
    transport = StringTransport(peerAddress=peer)
    protocol.makeConnection(transport)
    return protocol, transport
