"""
Helpers for tests that listen on real sockets.
"""

from __future__ import annotations

import socket
from collections.abc import Generator
from typing import Any

from twisted.internet import reactor, tcp
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.protocol import ServerFactory
from twisted.internet.task import deferLater
from twisted.trial.unittest import SynchronousTestCase, TestCase

from eofrelay.tcp.factory import RelayFactory


@inlineCallbacks
def closed(
    factory: RelayFactory, turns: int = 10_000
) -> Generator[Deferred[None], None, None]:
    """
    Wait, for at most C{turns} turns of the reactor, until every connection
    of C{factory} is closed (the peer's close reaches the server one turn
    after the peer made it).
    """
    for _ in range(turns):
        if not factory.connections:
            return
        yield deferLater(reactor, 0, lambda: None)
    raise AssertionError(f"connections still open: {factory.connections}")


def occupiedPort(test: SynchronousTestCase) -> int:
    """
    A port on 127.0.0.1 that another socket listens on until the end of
    C{test}.
    """
    import socket

    holder = socket.socket()
    test.addCleanup(holder.close)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port: int = holder.getsockname()[1]
    return port


def listen(test: TestCase, factory: ServerFactory[Any]) -> int:
    """
    Listen with C{factory} on 127.0.0.1, a free port, until the end of
    C{test}, when the listening port is closed and its connections are
    waited for.

    @return: The port number.
    """
    listening = reactor.listenTCP(0, factory, interface="127.0.0.1")
    test.addCleanup(listening.stopListening)
    if isinstance(factory, RelayFactory):
        test.addCleanup(closed, factory)
    return int(listening.getHost().port)  # type: ignore[attr-defined]


def sendsAtOnce(transport: object) -> bool:
    """
    Whether the TCP socket under C{transport} and the transports it may
    wrap (at most a few) has Nagle's algorithm off (C{TCP_NODELAY}).
    """
    for _ in range(8):
        if isinstance(transport, tcp.Connection):
            handle = transport.getHandle()
            return bool(handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        transport = transport.transport  # type: ignore[attr-defined]
    raise AssertionError("no TCP connection under the transport")
