# -*- test-case-name: tests.test_protocol -*-
"""
Closing a connection without destroying what was written last.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from eofrelay.wire.framing import IStreamTransport
from eofrelay.wire.layers import usesTLS


def closeGracefully(
    transport: IStreamTransport,
    clock: IReactorTime,
    linger: float,
    keepReading: Callable[[], None],
) -> Optional[IDelayedCall]:
    """
    Close C{transport} once it has written everything already sent.

    Where the transport can half-close, the server sends its FIN and then
    reads and discards what the peer still sends (C{keepReading}) until the
    peer closes too, for at most C{linger} seconds.  Closing outright with
    unread data would make the kernel send a reset, and a reset can destroy
    replies the peer has not read yet (C{bye}, C{error: line too long}).
    Over TLS, the transport's own C{loseConnection} sends the TLS close
    alert and waits for the peer's, which serves the same end; it too is
    given at most C{linger} seconds.

    @param keepReading: Called to go on reading (and discarding) while the
        connection lingers.
    @return: The call that aborts the connection after C{linger} seconds,
        if it lingers and can be aborted.
    """
    if usesTLS(transport):
        # Half-closing the TCP connection underneath would bypass TLS.
        aborting = _abortLater(transport, clock, linger, keepReading)
        transport.loseConnection()
        return aborting
    loseWriteConnection = getattr(transport, "loseWriteConnection", None)
    if loseWriteConnection is None:
        transport.loseConnection()
        return None
    aborting = _abortLater(transport, clock, linger, keepReading)
    loseWriteConnection()
    return aborting


def _abortLater(
    transport: IStreamTransport,
    clock: IReactorTime,
    linger: float,
    keepReading: Callable[[], None],
) -> Optional[IDelayedCall]:
    """
    Go on reading, and abort the connection, if it can be aborted, when it
    is not closed within C{linger} seconds.
    """
    keepReading()
    abort = getattr(transport, "abortConnection", None)
    if abort is None:
        return None
    return clock.callLater(linger, abort)
