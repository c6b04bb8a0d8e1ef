"""
Tests for the server-sent events of C{/api/events}.
"""

from __future__ import annotations

import json

from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IPushProducer
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from eofrelay import testing
from eofrelay.http.events import KEEP_ALIVE_COMMENT, EventHub, EventStream
from tests.httptesting import FakeHTTP, parseResponses


def parseEvents(body: bytes) -> list[object]:
    """
    The events and comments of a stream's body: each event as
    C{(type, data)}, each comment as its text.
    """
    found: list[object] = []
    text = body.decode("utf-8")
    assert text.endswith("\n\n") or not text, text
    for block in text.split("\n\n")[:-1]:
        if block.startswith(":"):
            found.append(block)
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        found.append((fields["event"], json.loads(fields["data"])))
    return found


def producerOf(transport: StringTransport) -> IPushProducer:
    """
    What produces for C{transport}: the HTTP channel, which pauses and
    resumes the stream of its request.
    """
    producer = transport.producer
    assert producer is not None
    return IPushProducer(producer)


def streamTimers(http: FakeHTTP) -> list[object]:
    """
    The calls pending on the clock for event streams.
    """
    return [
        call
        for call in http.clock.getDelayedCalls()
        if "EventStream" in repr(call.func)  # type: ignore[attr-defined]
    ]


def hubTimers(http: FakeHTTP) -> list[object]:
    """
    The calls pending on the clock to send a turn's changes.
    """
    return [
        call
        for call in http.clock.getDelayedCalls()
        if "sendChanges" in repr(call.func)  # type: ignore[attr-defined]
    ]


class StreamTests(SynchronousTestCase):
    """
    The events of one stream.
    """

    def open(self, http: FakeHTTP) -> tuple[object, StringTransport]:
        protocol, transport = http.send("GET", "/api/events")
        return protocol, transport

    def body(self, transport: StringTransport) -> bytes:
        [response] = parseResponses(transport.value())
        return response.body

    def test_snapshot(self) -> None:
        """
        A stream starts with C{200}, C{text/event-stream} and one C{relay}
        event per relay with its state, in configured order, and stays
        open.
        """
        http = FakeHTTP(names=("pump", "lamp", "fan"))
        http.bank.relay("lamp").switch(True)
        _, transport = self.open(http)
        [response] = parseResponses(transport.value())
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("content-type"), "text/event-stream")
        self.assertEqual(response.header("cache-control"), "no-store")
        self.assertFalse(response.complete)
        self.assertEqual(
            parseEvents(response.body),
            [
                ("relay", {"name": "pump", "state": "off"}),
                ("relay", {"name": "lamp", "state": "on"}),
                ("relay", {"name": "fan", "state": "off"}),
            ],
        )
        self.assertFalse(transport.disconnecting)

    def test_changes(self) -> None:
        """
        Every change is one event, whoever made it: HTTP, TCP, a pulse's
        timer; a command that changes nothing is none.
        """
        http = FakeHTTP()
        _, transport = self.open(http)
        http.request("POST", "/api/relays/pump/on")
        http.request("POST", "/api/relays/pump/on")
        from eofrelay.tcp.factory import RelayFactory

        factory = RelayFactory(http.bank, commands=http.commands, reactor=http.clock)
        protocol, _ = testing.connect(factory)
        protocol.dataReceived(b"pulse lamp 100<EOF>")
        http.clock.advance(0.1)
        http.clock.advance(EventHub.GATHER)
        self.assertEqual(
            parseEvents(self.body(transport))[2:],
            [
                ("relay", {"name": "pump", "state": "on"}),
                ("relay", {"name": "lamp", "state": "on"}),
                ("relay", {"name": "lamp", "state": "off"}),
            ],
        )

    def test_keepAlive(self) -> None:
        """
        A comment comes every L{EventStream.KEEP_ALIVE} seconds (at most
        15), and the idle timeout of the site does not close the stream.
        """
        self.assertLessEqual(EventStream.KEEP_ALIVE, 15)
        http = FakeHTTP()
        _, transport = self.open(http)
        http.clock.advance(EventStream.KEEP_ALIVE - 0.01)
        self.assertNotIn(KEEP_ALIVE_COMMENT, transport.value())
        http.clock.advance(0.01)
        self.assertEqual(self.body(transport).count(KEEP_ALIVE_COMMENT), 1)
        for _ in range(100):
            http.clock.advance(EventStream.KEEP_ALIVE)
        self.assertEqual(self.body(transport).count(KEEP_ALIVE_COMMENT), 101)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(len(http.events.streams), 1)

    def test_clientGone(self) -> None:
        """
        A client that goes away is forgotten, its timer cancelled.
        """
        http = FakeHTTP()
        protocol, _ = self.open(http)
        protocol.connectionLost(Failure(ConnectionDone()))  # type: ignore[attr-defined]
        self.assertEqual(http.events.streams, set())
        self.assertEqual(streamTimers(http), [])
        http.request("POST", "/api/relays/pump/on")

    def test_floodCoalesced(self) -> None:
        """
        While the connection's buffer is full, only the latest state of
        each relay is kept; once it drains, those are sent, so the last
        state always arrives.
        """
        http = FakeHTTP()
        _protocol, transport = self.open(http)
        snapshot = len(transport.value())
        producerOf(transport).pauseProducing()
        for _ in range(1000):
            http.bank.relay("pump").toggle()
        http.bank.relay("lamp").switch(True)
        http.bank.relay("pump").toggle()
        self.assertEqual(len(transport.value()), snapshot)
        producerOf(transport).resumeProducing()
        self.assertEqual(
            parseEvents(self.body(transport))[2:],
            [
                ("relay", {"name": "pump", "state": "on"}),
                ("relay", {"name": "lamp", "state": "on"}),
            ],
        )

    def test_slowReaderDropped(self) -> None:
        """
        A client whose buffer stays full for L{EventStream.DROP_AFTER}
        seconds is dropped; one that reads before is not.
        """
        http = FakeHTTP()
        _protocol, transport = self.open(http)
        producerOf(transport).pauseProducing()
        http.clock.advance(EventStream.DROP_AFTER - 1)
        producerOf(transport).resumeProducing()
        http.clock.advance(2)
        self.assertFalse(transport.disconnecting)
        producerOf(transport).pauseProducing()
        http.bank.relay("pump").switch(True)
        http.clock.advance(EventStream.DROP_AFTER)
        self.assertTrue(transport.disconnected)

    def test_finishAll(self) -> None:
        """
        Ending every stream (the service stops) completes each response.
        """
        http = FakeHTTP()
        _, transport = self.open(http)
        http.events.finishAll()
        [response] = parseResponses(transport.value())
        self.assertTrue(response.complete)
        self.assertEqual(http.events.streams, set())
        self.assertEqual(streamTimers(http), [])

    def test_oneWriteATurn(self) -> None:
        """
        The events of the changes made within L{EventHub.GATHER} seconds of
        a first one are written together, in order, at its end; a page
        sees a change within a tenth of a second.
        """
        self.assertLessEqual(EventHub.GATHER, 0.1)
        http = FakeHTTP()
        _, transport = self.open(http)
        before = len(transport.value())
        for _ in range(3):
            http.bank.relay("pump").toggle()
        http.clock.advance(EventHub.GATHER / 2)
        http.bank.relay("lamp").switch(True)
        self.assertEqual(len(transport.value()), before)
        http.clock.advance(EventHub.GATHER / 2)
        self.assertEqual(
            parseEvents(self.body(transport))[2:],
            [
                ("relay", {"name": "pump", "state": "on"}),
                ("relay", {"name": "pump", "state": "off"}),
                ("relay", {"name": "pump", "state": "on"}),
                ("relay", {"name": "lamp", "state": "on"}),
            ],
        )
        self.assertEqual(transport.value()[before:].count(b"\r\n"), 2)
        self.assertEqual(hubTimers(http), [])

    def test_openedWithinATurn(self) -> None:
        """
        A stream opened while changes wait for the next turn starts with
        the states they left, and gets none of them again; the streams
        open before get them first.
        """
        http = FakeHTTP()
        _, first = self.open(http)
        http.bank.relay("pump").switch(True)
        _, second = self.open(http)
        http.clock.advance(EventHub.GATHER)
        self.assertEqual(
            parseEvents(self.body(first))[-1],
            ("relay", {"name": "pump", "state": "on"}),
        )
        self.assertEqual(
            parseEvents(self.body(second)),
            [
                ("relay", {"name": "pump", "state": "on"}),
                ("relay", {"name": "lamp", "state": "off"}),
            ],
        )

    def test_finishSendsTheLastChanges(self) -> None:
        """
        Ending the streams (the service stops) sends the changes of the
        turn first, and leaves nothing scheduled.
        """
        http = FakeHTTP()
        _, transport = self.open(http)
        http.bank.relay("pump").switch(True)
        http.events.finishAll()
        [response] = parseResponses(transport.value())
        self.assertTrue(response.complete)
        self.assertEqual(
            parseEvents(response.body)[-1],
            ("relay", {"name": "pump", "state": "on"}),
        )
        self.assertEqual(hubTimers(http), [])

    def test_manyStreams(self) -> None:
        """
        Each open stream gets every change.
        """
        http = FakeHTTP()
        transports = [self.open(http)[1] for _ in range(3)]
        http.bank.relay("lamp").switch(True)
        http.clock.advance(EventHub.GATHER)
        for transport in transports:
            self.assertEqual(
                parseEvents(self.body(transport))[-1],
                ("relay", {"name": "lamp", "state": "on"}),
            )
