# -*- test-case-name: tests.test_protocol -*-
"""
The replies of one connection, written in the order of their messages.
"""

from __future__ import annotations

from typing import ClassVar, Optional

from twisted.internet.defer import Deferred

from eofrelay.tcp.writethrough import writeThrough
from eofrelay.wire.framing import IStreamTransport


class _PendingReply:
    """
    The place of one reply in a connection's reply order.

    @ivar reply: The reply, once known.
    """

    __slots__ = ("reply",)

    def __init__(self) -> None:
        self.reply: Optional[bytes] = None


class OrderedReplies:
    """
    A mixin for a protocol that writes exactly one reply per message, in
    the order of the messages, also when replies come later (Deferreds)
    and out of order; and C{<EOF>}-delimited messages between them
    (events).

    The replies to the messages of one received segment are written
    together (L{startBatch}, L{flushBatch}), but never more than
    L{BATCH_LIMIT} bytes at once.  When L{MAX_PENDING} replies wait,
    L{repliesPiledUp} is called, and L{repliesDrained} once only half as
    many do.  A connection that is closing (C{_closing}) is closed
    (L{disconnect}) once the last pending reply is written.

    The protocol provides C{transport}, C{delimiter}, C{_connected}
    (whether the connection is still up) and L{disconnect}, and creates
    C{_pending}, an empty list, in its constructor.

    @cvar MAX_PENDING: How many replies may wait before
        L{repliesPiledUp}.
    @cvar BATCH_LIMIT: The most bytes of replies written at once, so that
        a full write buffer can still pause reading between messages.
    """

    transport: IStreamTransport
    delimiter: ClassVar[bytes]
    MAX_PENDING = 64
    BATCH_LIMIT = 65536

    # A list, not a deque: it holds at most MAX_PENDING replies, and an
    # empty list costs a tenth of an empty deque on every idle connection.
    _pending: list[_PendingReply]
    _connected = False
    _closing = False
    _repliesBlocked = False
    _batch: Optional[list[bytes]] = None
    _batchSize = 0

    def repliesPiledUp(self) -> None:
        """
        L{MAX_PENDING} replies wait: take no more messages for now.
        """

    def repliesDrained(self) -> None:
        """
        The replies that piled up are down to half of L{MAX_PENDING}.
        """

    def disconnect(self) -> None:
        """
        Close the connection: called when a reply that came later was the
        last one pending of a connection that is closing (C{_closing}).
        """
        raise NotImplementedError()

    def sendReply(self, reply: bytes | Deferred[bytes]) -> None:
        """
        Write C{reply} after the replies still pending, now if it is known
        and none is, otherwise when it and they are.

        @param reply: The reply, without its delimiter, or a Deferred that
            fires with it (and never fails).
        """
        if isinstance(reply, bytes) and not self._pending:
            batch = self._batch
            if batch is None:
                self.writeMessage(reply)
                return
            # writeMessage's gathering, in line: a call less is 5% of the
            # instructions a command takes (benchmarks.inprocess, counted
            # with callgrind).
            batch.append(reply)
            self._batchSize += len(reply) + 5
            if self._batchSize >= self.BATCH_LIMIT:
                self._batchFull()
            return
        slot = _PendingReply()
        self._pending.append(slot)
        if len(self._pending) >= self.MAX_PENDING and not self._repliesBlocked:
            self._repliesBlocked = True
            self.repliesPiledUp()
        if isinstance(reply, bytes):
            slot.reply = reply
        else:
            reply.addCallback(self._fill, slot)

    def writeMessage(self, message: bytes, gather: bool = False) -> None:
        """
        Write one message (a reply or an event, without its delimiter) now,
        or add it to the batch being gathered.

        @param gather: See L{writeThrough}.
        """
        batch = self._batch
        if batch is None:
            writeThrough(self.transport, message + self.delimiter, gather)
            return
        batch.append(message)
        self._batchSize += len(message) + 5  # and its delimiter, <EOF>
        if self._batchSize >= self.BATCH_LIMIT:
            self._batchFull()

    def _batchFull(self) -> None:
        """
        The batch holds L{BATCH_LIMIT} bytes: write it, so that the
        transport can pause reading, and gather on.
        """
        self.flushBatch()
        self._batch = []

    def startBatch(self) -> None:
        """
        Gather what is written from now on until L{flushBatch}.
        """
        self._batch = []

    @property
    def batching(self) -> bool:
        """
        Whether what is written is gathered (L{startBatch}).
        """
        return self._batch is not None

    def flushBatch(self) -> None:
        """
        Write what was gathered, if anything, and gather no more.
        """
        batch, self._batch = self._batch, None
        self._batchSize = 0
        if batch:
            batch.append(b"")
            writeThrough(self.transport, self.delimiter.join(batch))

    def _fill(self, reply: bytes, slot: _PendingReply) -> None:
        """
        A pending reply is known: write it and every reply ready after it.
        """
        slot.reply = reply
        if not self._connected:
            return
        pending = self._pending
        count = 0
        while count < len(pending) and pending[count].reply is not None:
            count += 1
        ready = [each.reply for each in pending[:count] if each.reply is not None]
        del pending[:count]
        # Written together, as the replies of one segment are.
        batching = self.batching
        if not batching:
            self.startBatch()
        for each in ready:
            self.writeMessage(each)
        if not batching:
            self.flushBatch()
        if self._closing and not pending:
            self.disconnect()
        elif self._repliesBlocked and len(pending) <= self.MAX_PENDING // 2:
            self._repliesBlocked = False
            self.repliesDrained()
