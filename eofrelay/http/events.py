# -*- test-case-name: tests.test_http_events -*-
"""
Server-sent events of every relay's changes, on C{/api/events}.

Each stream first has one C{relay} event per relay with its state, then
one per change, whoever made it, and a comment every
L{EventStream.KEEP_ALIVE} seconds.  A client that reads slower than the
changes come loses intermediate states, never the last one: while its
connection's buffer is full, only each relay's latest state is kept, and
sent once the client reads again.  One that does not read at all for
L{EventStream.DROP_AFTER} seconds is dropped.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Final, Optional

from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime
from twisted.python.failure import Failure
from twisted.web.server import Request
from zope.interface import implementer

from eofrelay.core.bank import RelayBank
from eofrelay.core.logs import CONNECTIONS, NamedLogger
from eofrelay.core.relay import RelayState
from eofrelay.core.switchlog import stateName

#: The media type of an event stream.
CONTENT_TYPE: Final = b"text/event-stream"

#: The comment that keeps a stream, and the proxies on its way, alive.
KEEP_ALIVE_COMMENT: Final = b": keep-alive\n\n"


def relayObject(name: str, on: bool) -> dict[str, str]:
    """
    A relay as the API shows it: C{{"name": "pump", "state": "on"}}.
    """
    return {"name": name, "state": stateName(on)}


@lru_cache(maxsize=1024)
def relayEvent(name: str, on: bool) -> bytes:
    """
    The C{relay} event of one relay's state, built once for each relay and
    state.
    """
    data = json.dumps(relayObject(name, on)).encode("ascii")
    return b"event: relay\ndata: " + data + b"\n\n"


@implementer(IPushProducer)
class EventStream:
    """
    The events of one client: a request answered with C{text/event-stream}
    that stays open, and produces for its connection (an L{IPushProducer}
    registered with the request), so that a full buffer pauses it.

    @cvar KEEP_ALIVE: Seconds between two keep-alive comments.
    @cvar DROP_AFTER: Seconds a stream may stay paused (its client reading
        nothing) before its connection is closed.
    @ivar request: The request answered.
    @ivar paused: Whether the connection's buffer is full.
    @ivar finished: Whether the stream writes nothing more.
    """

    KEEP_ALIVE = 10.0
    DROP_AFTER = 10.0
    log = NamedLogger(CONNECTIONS)

    def __init__(
        self, hub: EventHub, request: Request, peer: str, clock: IReactorTime
    ) -> None:
        self.hub = hub
        self.request = request
        self.peer = peer
        self.clock = clock
        self.paused = False
        self.finished = False
        # The latest state of each relay that changed while paused, in
        # the order they first changed.
        self._pending: dict[str, bool] = {}
        self._keepAlive: Optional[IDelayedCall] = None
        self._drop: Optional[IDelayedCall] = None

    def start(self, states: list[tuple[str, bool]]) -> None:
        """
        Answer the request with the stream's headers and one event per
        relay of C{states}, and go on until the client goes away or
        L{finish} is called.
        """
        request = self.request
        request.setHeader(b"content-type", CONTENT_TYPE)
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-content-type-options", b"nosniff")
        # Reverse proxies (nginx) would hold events back otherwise.
        request.setHeader(b"x-accel-buffering", b"no")
        request.registerProducer(self, True)
        request.notifyFinish().addBoth(self._ended)
        request.write(b"".join(relayEvent(name, on) for name, on in states))
        self._keepAlive = self.clock.callLater(self.KEEP_ALIVE, self._sendKeepAlive)

    def changed(self, changes: list[tuple[str, bool]], events: bytes) -> None:
        """
        Relays changed: send their C{events} (the L{relayEvent} of each
        relay's name and state in C{changes}, made once for every stream),
        or, while paused, keep only the latest state of each relay.
        """
        if self.finished:
            return
        if self.paused:
            for name, on in changes:
                self._pending[name] = on
            return
        self.request.write(events)

    def _sendKeepAlive(self) -> None:
        self._keepAlive = self.clock.callLater(self.KEEP_ALIVE, self._sendKeepAlive)
        if not self.paused:
            self.request.write(KEEP_ALIVE_COMMENT)

    # IPushProducer

    def pauseProducing(self) -> None:
        """
        The connection's buffer is full: keep the latest states until it
        drains, and drop the client if it does not within L{DROP_AFTER}.
        """
        if self.paused or self.finished:
            return
        self.paused = True
        self._drop = self.clock.callLater(self.DROP_AFTER, self._dropClient)

    def resumeProducing(self) -> None:
        """
        The client read again: send the latest state of each relay that
        changed meanwhile.
        """
        if not self.paused or self.finished:
            return
        # The changes gathered and not sent yet are among those it missed.
        self.hub.sendChanges()
        self.paused = False
        if self._drop is not None and self._drop.active():
            self._drop.cancel()
        self._drop = None
        pending, self._pending = self._pending, {}
        if pending:
            self.request.write(b"".join(relayEvent(n, on) for n, on in pending.items()))

    def stopProducing(self) -> None:
        """
        The connection is closing.
        """
        self._stop()

    # The end

    def finish(self) -> None:
        """
        End the stream (the service stops).
        """
        if self.finished:
            return
        self._stop()
        self.request.unregisterProducer()
        self.request.finish()

    def _dropClient(self) -> None:
        self._drop = None
        self.log.warn(
            "{peer}: read no events for {seconds} seconds; closing",
            peer=self.peer,
            seconds=self.DROP_AFTER,
        )
        self._stop()
        transport = self.request.channel.transport
        if transport is not None:
            # Every transport of a stream socket can abort (ITCPTransport).
            transport.abortConnection()  # type: ignore[attr-defined]

    def _ended(self, result: Optional[Failure]) -> None:
        """
        The request is over, however: forget the stream.
        """
        self._stop()
        self.hub.streams.discard(self)

    def _stop(self) -> None:
        """
        Write nothing more, and cancel the timers.
        """
        self.finished = True
        for call in (self._keepAlive, self._drop):
            if call is not None and call.active():
                call.cancel()
        self._keepAlive = self._drop = None


class EventHub:
    """
    The open event streams of one bank, told of every change.

    The events of the changes made within L{GATHER} seconds of a first
    one go out together, in order, in one write to each stream: with many
    changes a second (clients toggling relays in a loop) that costs a
    fraction of a write each, and a page still shows a change at once.

    @cvar GATHER: The seconds after a change during which the events of
        further changes are gathered with its own.
    @ivar bank: The relays whose changes are sent.
    @ivar clock: What times the streams' keep-alive comments and the
        sending of the gathered changes.
    @ivar streams: The streams open.
    """

    GATHER = 0.02

    def __init__(self, bank: RelayBank, clock: IReactorTime) -> None:
        self.bank = bank
        self.clock = clock
        self.streams: set[EventStream] = set()
        self._gathered: list[tuple[str, bool]] = []
        self._sending: Optional[IDelayedCall] = None
        bank.addListener(self._changed)

    def open(self, request: Request, peer: str) -> EventStream:
        """
        Answer C{request} with a stream of events: the state of every relay,
        then every change.
        """
        # The streams open have the changes so far: the new one starts
        # with the states they left.
        self.sendChanges()
        stream = EventStream(self, request, peer, self.clock)
        self.streams.add(stream)
        stream.start([(relay.name, relay.isOn) for relay in self.bank.relays])
        return stream

    def finishAll(self) -> None:
        """
        Send the changes not sent yet, then end every stream.
        """
        self.sendChanges()
        for stream in list(self.streams):
            stream.finish()
        self.streams.clear()

    def _changed(self, relay: RelayState, old: bool, new: bool) -> None:
        """
        A relay changed: its event goes out with the others gathered
        within L{GATHER} seconds.
        """
        if not self.streams:
            return
        self._gathered.append((relay.name, new))
        if self._sending is None:
            self._sending = self.clock.callLater(self.GATHER, self.sendChanges)

    def sendChanges(self) -> None:
        """
        Send every stream the events of the changes since the last call,
        in order, in one write (made once for every stream).
        """
        if self._sending is not None and self._sending.active():
            self._sending.cancel()
        self._sending = None
        changes, self._gathered = self._gathered, []
        if not changes:
            return
        events = b"".join([relayEvent(name, on) for name, on in changes])
        for stream in list(self.streams):
            stream.changed(changes, events)
