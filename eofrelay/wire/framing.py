# -*- test-case-name: tests.test_framing -*-
"""
Framing of a byte stream into C{<EOF>}-delimited messages.
"""

from __future__ import annotations

import sys
from typing import ClassVar

from twisted.internet.interfaces import IConsumer, IPushProducer, ITCPTransport
from twisted.internet.protocol import Protocol


class IStreamTransport(ITCPTransport, IConsumer, IPushProducer):
    """
    What eofrelay's protocols use of a connection's transport: a TCP
    transport's methods, a consumer's (C{registerProducer}) and a push
    producer's (C{pauseProducing}), as Twisted's TCP, TLS and UNIX
    transports provide them.

    A UNIX socket's transport lacks C{loseWriteConnection} and
    C{setTcpKeepAlive}: those are looked up with C{getattr}.
    """


def _partialDelimiterLength(data: bytes, delimiter: bytes) -> int:
    """
    The length of the longest suffix of C{data} that is a proper prefix of
    C{delimiter}: the part of a delimiter that may still be completed by the
    next segment.
    """
    for size in range(min(len(delimiter) - 1, len(data)), 0, -1):
        if data.endswith(delimiter[:size]):
            return size
    return 0


class StreamProtocol(Protocol):
    """
    A protocol of eofrelay's on a stream connection, whose transport is
    typed as what it is (L{IStreamTransport}) once connected.
    """

    # Twisted types it as an optional ITransport, for every protocol;
    # a protocol of these is only used connected.
    transport: IStreamTransport


class EOFReceiver(StreamProtocol):
    """
    A protocol that receives only C{<EOF>}-delimited messages.

    Like L{twisted.protocols.basic.LineOnlyReceiver}, which it follows, it
    splits the stream into messages and calls L{lineReceived} for each;
    it never knows what a message means.  It differs in three ways that a
    request/reply protocol needs:

      - A message of exactly L{MAX_LENGTH} bytes is accepted also when its
        delimiter arrives split across segments.
      - After L{stopReceiving}, the rest of the stream (including the rest
        of the current segment) is discarded, so nothing after a closing
        command is acted upon.
      - L{pauseReceiving} holds complete messages back until
        L{resumeReceiving}, for flow control.
      - One call of L{dataReceived} delivers at most L{MESSAGES_PER_TURN}
        messages: the rest are held back as by L{pauseReceiving}, and
        L{messagesHeldBack} is called, so that a peer that sends
        thousands of messages in one segment cannot have them all
        handled in one turn of the reactor.

    @cvar delimiter: The message delimiter, C{b"<EOF>"}.
    @ivar MAX_LENGTH: The longest message accepted, in bytes, not counting
        the delimiter.  A longer one calls L{lineLengthExceeded} and
        stops receiving.
    @cvar MESSAGES_PER_TURN: The most messages one call of L{dataReceived}
        delivers; by default, every message received.
    """

    delimiter: ClassVar[bytes] = b"<EOF>"
    MAX_LENGTH: int = 1024
    MESSAGES_PER_TURN: ClassVar[int] = sys.maxsize

    _buffer: bytes = b""
    _receiving: bool = True
    _paused: bool = False

    def dataReceived(self, data: bytes) -> None:
        """
        Split C{data} into messages and call L{lineReceived} for each.
        """
        if not self._receiving:
            return
        buffer = self._buffer + data if self._buffer else data
        delimiter = self.delimiter
        if self._paused or delimiter not in buffer:
            self._buffer = buffer
            self._checkIncomplete()
            return
        # At most MESSAGES_PER_TURN messages are split off; the rest stays
        # whole, as received, for the next turn.
        messages = buffer.split(delimiter, self.MESSAGES_PER_TURN)
        self._buffer = messages.pop()
        heldBack = delimiter in self._buffer
        maxLength = self.MAX_LENGTH
        lineReceived = self.lineReceived
        index = 0
        for message in messages:
            index += 1
            if len(message) > maxLength:
                self.stopReceiving()
                self.lineLengthExceeded(message)
                return
            lineReceived(message)
            if self._paused or not self._receiving:
                if self._receiving:
                    rest = messages[index:]
                    if rest:
                        rest.append(self._buffer)
                        self._buffer = delimiter.join(rest)
                return
        if heldBack:
            self.pauseReceiving()
            self.messagesHeldBack()
        elif len(self._buffer) > maxLength:
            self._checkIncomplete()

    def _checkIncomplete(self) -> None:
        """
        Call L{lineLengthExceeded} if the incomplete message held in the
        buffer can no longer become a message of acceptable length.
        """
        buffer = self._buffer
        if len(buffer) <= self.MAX_LENGTH or self._paused:
            return
        partial = _partialDelimiterLength(buffer, self.delimiter)
        if len(buffer) - partial > self.MAX_LENGTH:
            self.stopReceiving()
            self.lineLengthExceeded(buffer)

    def stopReceiving(self) -> None:
        """
        Discard everything received from now on, including the rest of the
        segment being processed.
        """
        self._receiving = False
        self._buffer = b""

    def pauseReceiving(self) -> None:
        """
        Hold back further messages until L{resumeReceiving}.  The transport
        is paused too, so that the peer is slowed down by TCP itself.
        """
        if not self._paused:
            self._paused = True
            self.transport.pauseProducing()

    def resumeReceiving(self) -> None:
        """
        Deliver the messages held back since L{pauseReceiving} and read
        from the transport again.
        """
        if self._paused:
            self._paused = False
            self.transport.resumeProducing()
            self.dataReceived(b"")

    def lineReceived(self, message: bytes) -> None:
        """
        Override this to handle one message, without its delimiter.
        """
        raise NotImplementedError()

    def messagesHeldBack(self) -> None:
        """
        Called when L{dataReceived} has delivered L{MESSAGES_PER_TURN}
        messages and holds more back, paused as by L{pauseReceiving}:
        override this to have L{resumeReceiving} called in a later turn of
        the reactor.  By default they are delivered at once.
        """
        self.resumeReceiving()

    def lineLengthExceeded(self, message: bytes) -> None:
        """
        Called once when a message longer than L{MAX_LENGTH} arrives, after
        receiving has stopped.  By default the connection is closed.

        @param message: The over-long message or the start of it.
        """
        self.transport.loseConnection()
