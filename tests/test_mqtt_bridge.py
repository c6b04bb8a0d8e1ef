"""
Tests for L{eofrelay.mqtt.bridge}: the MQTT bridge against a fake
connection, timed by a L{Clock}.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import pairwise

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from eofrelay.commands.interpreter import CommandInterpreter
from eofrelay.commands.session import ISession
from eofrelay.core.bank import RelayBank
from eofrelay.mqtt.bridge import Backoff, MQTTBridge, MQTTSession
from eofrelay.mqtt.connection import (
    ConnectFailed,
    ConnectionLost,
    IMQTTConnection,
    IMQTTReceiver,
)
from eofrelay.mqtt.topics import Topics
from eofrelay.tcp.factory import RelayFactory
from eofrelay.tcp.protocol import RelayProtocol
from eofrelay.testing import MemoryRelay, connect


@implementer(IMQTTConnection)
class FakeConnection:
    """
    A connection whose broker the test plays: it records what is published
    and subscribed, and the test acknowledges publishes, accepts or refuses
    the connection, and loses it.

    @ivar published: C{[topic, payload, retain, Deferred]}, in order.
    @ivar autoAcknowledge: Whether publishes are acknowledged at once.
    """

    broker = "broker.test:1883"

    def __init__(self, receiver: IMQTTReceiver) -> None:
        self.receiver = receiver
        self.accepted: Deferred[IMQTTConnection] = Deferred()
        self.published: list[tuple[str, bytes, bool, Deferred[None]]] = []
        self.subscribed: list[str] = []
        self.autoAcknowledge = True
        self.disconnected = False
        self.aborted = False
        self.over = False
        self._closeWaiters: list[Deferred[None]] = []

    def accept(self) -> None:
        self.accepted.callback(self)

    def refuse(self, reason: str = "Connection refused") -> None:
        self.accepted.errback(ConnectFailed(reason))
        self.end()

    def lose(self, reason: str = "the connection was closed") -> None:
        for *_, published in self.published:
            if not published.called:
                published.errback(ConnectionLost(reason))
        self.receiver.connectionLost(reason)
        self.end()

    def end(self) -> None:
        self.over = True
        waiters, self._closeWaiters = self._closeWaiters, []
        for waiter in waiters:
            waiter.callback(None)

    def whenClosed(self) -> Deferred[None]:
        if self.over:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._closeWaiters.append(waiter)
        return waiter

    def publish(self, topic: str, payload: bytes, retain: bool) -> Deferred[None]:
        if self.over:
            return fail(ConnectionLost("over"))
        published: Deferred[None] = Deferred()
        self.published.append((topic, payload, retain, published))
        if self.autoAcknowledge:
            published.callback(None)
        return published

    def acknowledgeAll(self) -> None:
        for *_, published in list(self.published):
            if not published.called:
                published.callback(None)

    def subscribe(self, topics: Sequence[str]) -> Deferred[None]:
        self.subscribed.extend(topics)
        return succeed(None)

    def disconnect(self) -> Deferred[None]:
        self.disconnected = True
        self.end()
        return succeed(None)

    def abort(self) -> None:
        self.aborted = True
        self.end()

    def messages(self) -> list[tuple[str, bytes]]:
        """
        What was published: C{(topic, payload)}, in order.
        """
        return [(topic, payload) for topic, payload, _, _ in self.published]


@implementer(ILogObserver)
class Recording:
    """
    A log observer that keeps the events in a list.
    """

    def __init__(self, events: list[LogEvent]) -> None:
        self.events = events

    def __call__(self, event: LogEvent) -> None:
        self.events.append(event)


class Bridged:
    """
    A bank of relays C{pump} and C{lamp} (interlocked with C{fan}), its TCP
    front end, and a bridge on fake connections, on one clock.
    """

    def __init__(self, test: SynchronousTestCase, discovery: bool = True) -> None:
        self.clock = Clock()
        self.drivers = [MemoryRelay("pump"), MemoryRelay("lamp"), MemoryRelay("fan")]
        self.bank = RelayBank(
            self.drivers, interlocks=[["lamp", "fan"]], clock=self.clock
        )
        self.factory = RelayFactory(self.bank, clock=self.clock)
        self.topics = Topics(
            "eofrelay/pi1", "pi1", "homeassistant" if discovery else None
        )
        self.connections: list[FakeConnection] = []
        self.bridge = MQTTBridge(
            self.factory.commands, self.topics, self.newConnection, "9.9", self.clock
        )
        self.events: list[LogEvent] = []
        observer = Recording(self.events)
        globalLogPublisher.addObserver(observer)
        test.addCleanup(globalLogPublisher.removeObserver, observer)

    def newConnection(self, receiver: IMQTTReceiver) -> FakeConnection:
        connection = FakeConnection(receiver)
        self.connections.append(connection)
        return connection

    @property
    def connection(self) -> FakeConnection:
        return self.connections[-1]

    def connected(self) -> FakeConnection:
        """
        Start the bridge and let the broker accept its connection.
        """
        self.bridge.startService()
        self.connection.accept()
        return self.connection

    def lines(self, text: str = "MQTT") -> list[str]:
        """
        The log lines holding C{text}.
        """
        return [
            line
            for line in (formatEvent(event) for event in self.events)
            if line and text in line
        ]


class ConnectionTests(SynchronousTestCase):
    """
    What the bridge publishes and subscribes to on each connection.
    """

    def test_interfaces(self) -> None:
        """
        The bridge is the connections' receiver; each topic's session is
        an authenticated L{ISession} named after its topic.
        """
        bridged = Bridged(self)
        self.assertTrue(verifyObject(IMQTTReceiver, bridged.bridge))
        session = MQTTSession("eofrelay/pi1/pump/set")
        self.assertTrue(verifyObject(ISession, session))
        self.assertEqual(session.peer, "mqtt:eofrelay/pi1/pump/set")
        self.assertTrue(session.authenticated)
        self.assertTrue(verifyObject(IMQTTConnection, FakeConnection(bridged.bridge)))

    def test_announce(self) -> None:
        """
        Once connected: C{online}, then one discovery config per relay, then
        every state, all retained; subscribed to every relay's C{set} and
        C{pulse}, and to Home Assistant's status.
        """
        bridged = Bridged(self)
        bridged.drivers[0].on = True
        bridged.bank.relay("pump")._on = True
        connection = bridged.connected()
        self.assertEqual(
            [topic for topic, _ in connection.messages()],
            [
                "eofrelay/pi1/availability",
                "homeassistant/switch/pi1/pump/config",
                "homeassistant/switch/pi1/lamp/config",
                "homeassistant/switch/pi1/fan/config",
                "eofrelay/pi1/pump/state",
                "eofrelay/pi1/lamp/state",
                "eofrelay/pi1/fan/state",
            ],
        )
        self.assertTrue(all(retain for _, _, retain, _ in connection.published))
        messages = dict(connection.messages())
        self.assertEqual(messages["eofrelay/pi1/availability"], b"online")
        self.assertEqual(messages["eofrelay/pi1/pump/state"], b"ON")
        self.assertEqual(messages["eofrelay/pi1/lamp/state"], b"OFF")
        config = json.loads(messages["homeassistant/switch/pi1/lamp/config"])
        self.assertEqual(config["unique_id"], "eofrelay_pi1_lamp")
        self.assertEqual(config["command_topic"], "eofrelay/pi1/lamp/set")
        self.assertEqual(config["device"]["sw_version"], "9.9")
        self.assertEqual(
            sorted(connection.subscribed),
            sorted(
                [
                    f"eofrelay/pi1/{n}/{k}"
                    for n in ("pump", "lamp", "fan")
                    for k in ("set", "pulse")
                ]
                + ["homeassistant/status"]
            ),
        )
        self.assertEqual(
            bridged.lines(),
            ["MQTT: connected to broker.test:1883, topics under eofrelay/pi1"],
        )

    def test_noDiscovery(self) -> None:
        """
        Without a discovery prefix: no configs, no status subscription.
        """
        bridged = Bridged(self, discovery=False)
        connection = bridged.connected()
        self.assertEqual(
            [topic for topic, _ in connection.messages()],
            [
                "eofrelay/pi1/availability",
                "eofrelay/pi1/pump/state",
                "eofrelay/pi1/lamp/state",
                "eofrelay/pi1/fan/state",
            ],
        )
        self.assertNotIn("homeassistant/status", connection.subscribed)

    def test_homeAssistantStarted(self) -> None:
        """
        C{online} on Home Assistant's status topic (any case, whitespace
        around) publishes every config and state again; a retained one (a
        replay at subscription, just after everything was published) or
        C{offline} does not.
        """
        bridged = Bridged(self)
        connection = bridged.connected()
        before = len(connection.published)
        bridged.bridge.messageReceived("homeassistant/status", b"online", True)
        bridged.bridge.messageReceived("homeassistant/status", b"offline", False)
        self.assertEqual(len(connection.published), before)
        bridged.bridge.messageReceived("homeassistant/status", b" Online\n", False)
        self.assertEqual(
            connection.messages()[before:], connection.messages()[1:before]
        )

    def test_everyChangePublished(self) -> None:
        """
        Every change, whoever made it (here a TCP client, and the interlock
        that switches a partner off), is published retained, once.
        """
        bridged = Bridged(self)
        connection = bridged.connected()
        before = len(connection.published)
        protocol, transport = connect(bridged.factory)
        protocol.dataReceived(b"on fan<EOF>on lamp<EOF>on lamp<EOF>")
        self.assertEqual(transport.value(), b"success<EOF>" * 3)
        self.assertEqual(
            connection.messages()[before:],
            [
                ("eofrelay/pi1/fan/state", b"ON"),
                ("eofrelay/pi1/fan/state", b"OFF"),
                ("eofrelay/pi1/lamp/state", b"ON"),
            ],
        )
        self.assertEqual(bridged.bridge.statesPublished, 6)


class CommandTests(SynchronousTestCase):
    """
    Messages on C{set} and C{pulse} topics go through the command
    interpreter.
    """

    def setUp(self) -> None:
        self.bridged = Bridged(self)
        self.connection = self.bridged.connected()
        self.before = len(self.connection.published)

    def receive(self, topic: str, payload: bytes, retained: bool = False) -> None:
        self.bridged.bridge.messageReceived(f"eofrelay/pi1/{topic}", payload, retained)

    def since(self) -> list[tuple[str, bytes]]:
        return self.connection.messages()[self.before :]

    def test_set(self) -> None:
        """
        C{ON}, C{OFF} and C{TOGGLE}, in any case and with whitespace around,
        switch the relay as C{on}, C{off} and C{toggle} do: logged with the
        topic as the peer, counted with the TCP front end's commands.
        """
        self.receive("pump/set", b"ON")
        self.assertTrue(self.bridged.drivers[0].on)
        self.receive("pump/set", b" off\r\n")
        self.assertFalse(self.bridged.drivers[0].on)
        self.receive("pump/set", b"Toggle")
        self.assertTrue(self.bridged.drivers[0].on)
        self.assertEqual(
            self.since(),
            [
                ("eofrelay/pi1/pump/state", b"ON"),
                ("eofrelay/pi1/pump/state", b"OFF"),
                ("eofrelay/pi1/pump/state", b"ON"),
            ],
        )
        counts = self.bridged.factory.commands.commandCounts
        self.assertEqual(
            (counts["on", "ok"], counts["off", "ok"], counts["toggle", "ok"]), (1, 1, 1)
        )
        self.assertIn(
            "relay pump switched on (was off) by mqtt:eofrelay/pi1/pump/set: on",
            self.bridged.lines("relay pump"),
        )

    def test_interlock(self) -> None:
        """
        Interlocks apply to commands from MQTT: C{ON} for C{lamp} switches
        C{fan} off first.
        """
        self.receive("fan/set", b"ON")
        self.receive("lamp/set", b"ON")
        self.assertEqual(
            [self.bridged.drivers[1].on, self.bridged.drivers[2].on], [True, False]
        )
        self.assertEqual(
            self.since(),
            [
                ("eofrelay/pi1/fan/state", b"ON"),
                ("eofrelay/pi1/fan/state", b"OFF"),
                ("eofrelay/pi1/lamp/state", b"ON"),
            ],
        )

    def test_pulse(self) -> None:
        """
        Milliseconds on C{pulse} pulse the relay: on now, off when the pulse
        ends, both published.
        """
        self.receive("pump/pulse", b" 500 ")
        self.assertTrue(self.bridged.drivers[0].on)
        self.bridged.clock.advance(0.499)
        self.assertTrue(self.bridged.drivers[0].on)
        self.bridged.clock.advance(0.001)
        self.assertFalse(self.bridged.drivers[0].on)
        self.assertEqual(
            self.since(),
            [("eofrelay/pi1/pump/state", b"ON"), ("eofrelay/pi1/pump/state", b"OFF")],
        )

    def test_badPayloads(self) -> None:
        """
        A payload that means nothing is logged with its topic, and the
        relay's state is published again; nothing is switched.
        """
        for topic, payload in (
            ("pump/set", b"1"),
            ("pump/set", b"on pump"),
            ("pump/set", b"\xff"),
            ("pump/set", b""),
            ("pump/pulse", b"0"),
            ("pump/pulse", b"86400001"),
            ("pump/pulse", b"-5"),
            ("pump/pulse", b"1.5"),
            ("pump/pulse", b"500<EOF>on"),
            ("pump/pulse", b"x" * 1000),
        ):
            self.receive(topic, payload)
        self.assertFalse(self.bridged.drivers[0].on)
        self.assertEqual(self.since(), [("eofrelay/pi1/pump/state", b"OFF")] * 10)
        lines = self.bridged.lines("ignored")
        self.assertEqual(len(lines), 10)
        self.assertEqual(
            lines[0],
            "MQTT: ignored b'1' on eofrelay/pi1/pump/set: expected ON, OFF or TOGGLE",
        )
        self.assertIn("on eofrelay/pi1/pump/pulse: expected milliseconds", lines[4])
        self.assertLess(len(lines[-1]), 200)

    def test_pulseLimits(self) -> None:
        """
        1 and 86400000 milliseconds are pulses, leading zeros allowed.
        """
        self.receive("pump/pulse", b"1")
        self.bridged.clock.advance(0.001)
        self.receive("pump/pulse", b"086400000")
        self.assertTrue(self.bridged.drivers[0].on)
        self.bridged.clock.advance(86400)
        self.assertFalse(self.bridged.drivers[0].on)

    def test_retainedIgnored(self) -> None:
        """
        A command delivered with the retain flag (a broker's replay of a
        retained message at subscription) is ignored, and logged.
        """
        self.receive("pump/set", b"ON", retained=True)
        self.receive("pump/pulse", b"100", retained=True)
        self.assertFalse(self.bridged.drivers[0].on)
        self.assertEqual(self.since(), [])
        self.assertEqual(len(self.bridged.lines("ignored a retained message")), 2)

    def test_hardwareFailure(self) -> None:
        """
        A command that fails is logged with its topic, and the relay's
        unchanged state is published again.
        """
        self.bridged.drivers[0].failWith = OSError("GPIO gone")
        self.receive("pump/set", b"ON")
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.assertEqual(self.since(), [("eofrelay/pi1/pump/state", b"OFF")])
        self.assertIn(
            "MQTT: the command on eofrelay/pi1/pump/set failed: "
            "error: hardware failure",
            self.bridged.lines(),
        )

    def test_asynchronousRelay(self) -> None:
        """
        A relay that answers later: its state is published once it
        switched; a failure later is logged and the state published again.
        """
        clock = Clock()
        driver = MemoryRelay("pump", asynchronous=True)
        bank = RelayBank([driver], clock=clock)
        connections: list[FakeConnection] = []

        def newConnection(receiver: IMQTTReceiver) -> FakeConnection:
            connections.append(FakeConnection(receiver))
            return connections[-1]

        bridge = MQTTBridge(
            CommandInterpreter(bank), Topics("b", "n"), newConnection, "1", clock
        )
        bridge.startService()
        connections[0].accept()
        before = len(connections[0].published)
        bridge.messageReceived("b/pump/set", b"ON", False)
        self.assertEqual(connections[0].messages()[before:], [])
        switch, _ = driver.pending[0]
        switch.callback(None)
        self.assertEqual(connections[0].messages()[before:], [("b/pump/state", b"ON")])
        bridge.messageReceived("b/pump/set", b"OFF", False)
        switch, _ = driver.pending[-1]
        switch.errback(OSError("no answer"))
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.assertEqual(
            connections[0].messages()[before:],
            [("b/pump/state", b"ON"), ("b/pump/state", b"ON")],
        )

    def test_unknownTopic(self) -> None:
        """
        A message on a topic the bridge did not subscribe to is ignored.
        """
        self.receive("other/set", b"ON")
        self.bridged.bridge.messageReceived("elsewhere", b"ON", False)
        self.assertEqual(self.since(), [])

    def test_stopping(self) -> None:
        """
        Once the service that holds the bridge stops, commands from MQTT are
        ignored: they must not switch a relay after the exit policy.
        """
        parent = MultiService()
        self.bridged.bridge.setServiceParent(parent)
        parent.running = False
        self.bridged.bridge.running = True
        self.receive("pump/set", b"ON")
        self.assertFalse(self.bridged.drivers[0].on)
        self.assertEqual(len(self.bridged.lines("the service is stopping")), 1)


class FloodTests(SynchronousTestCase):
    """
    Changes faster than the broker acknowledges them.
    """

    def test_coalesced(self) -> None:
        """
        At most one publish waits for the broker on each relay's state
        topic; the changes beyond are coalesced per relay (its latest state
        wins), and the last state of every relay is published.
        """
        bridged = Bridged(self)
        connection = bridged.connected()
        connection.autoAcknowledge = False
        before = len(connection.published)
        protocol, transport = connect(bridged.factory)
        for _ in range(1000):
            protocol.dataReceived(b"toggle pump<EOF>toggle lamp<EOF>")
        protocol.dataReceived(b"on pump<EOF>")
        window = 2  # one for each relay's state topic
        self.assertEqual(len(connection.published) - before, window)
        for _ in range(10):
            connection.acknowledgeAll()
        published = connection.messages()[before:]
        self.assertLess(len(published), window + 10)
        last = {topic: payload for topic, payload in published}
        self.assertEqual(last["eofrelay/pi1/pump/state"], b"ON")
        self.assertEqual(last["eofrelay/pi1/lamp/state"], b"OFF")
        self.assertEqual(transport.value().count(b"success<EOF>"), 2001)

    def acknowledgedByHand(self) -> tuple[Bridged, FakeConnection, RelayProtocol]:
        """
        A bridge connected to a broker that acknowledges only when told,
        and a TCP client of its bank.
        """
        bridged = Bridged(self)
        connection = bridged.connected()
        connection.autoAcknowledge = False
        protocol, _ = connect(bridged.factory)
        return bridged, connection, protocol

    def test_relaysDoNotWait(self) -> None:
        """
        A relay's change is published while another relay's publish waits
        for the broker: a pulse of one relay is not hidden behind a change
        of another.
        """
        bridged, connection, protocol = self.acknowledgedByHand()
        before = len(connection.published)
        protocol.dataReceived(b"on lamp<EOF>pulse pump 10<EOF>")
        bridged.clock.advance(0.01)
        connection.acknowledgeAll()
        self.assertEqual(
            connection.messages()[before:],
            [
                ("eofrelay/pi1/lamp/state", b"ON"),
                ("eofrelay/pi1/pump/state", b"ON"),
                ("eofrelay/pi1/pump/state", b"OFF"),
            ],
        )

    def test_latestWins(self) -> None:
        """
        The changes of a relay made while its last publish waits for the
        broker are published as its state when the broker acknowledges.
        """
        _, connection, protocol = self.acknowledgedByHand()
        before = len(connection.published)
        protocol.dataReceived(b"on pump<EOF>")
        protocol.dataReceived(b"off pump<EOF>on pump<EOF>off pump<EOF>on pump<EOF>")
        for _ in range(3):
            connection.acknowledgeAll()
        self.assertEqual(
            connection.messages()[before:],
            [
                ("eofrelay/pi1/pump/state", b"ON"),
                ("eofrelay/pi1/pump/state", b"ON"),
            ],
        )

    def test_lostWhileFlooded(self) -> None:
        """
        A connection lost with publishes unacknowledged leaves nothing
        behind: the next connection publishes every state afresh.
        """
        bridged = Bridged(self)
        connection = bridged.connected()
        connection.autoAcknowledge = False
        protocol, _ = connect(bridged.factory)
        for _ in range(100):
            protocol.dataReceived(b"toggle pump<EOF>")
        connection.lose()
        bridged.clock.advance(1)
        second = bridged.connection
        self.assertIsNot(second, connection)
        second.accept()
        self.assertEqual(
            second.messages()[-3:],
            [
                ("eofrelay/pi1/pump/state", b"OFF"),
                ("eofrelay/pi1/lamp/state", b"OFF"),
                ("eofrelay/pi1/fan/state", b"OFF"),
            ],
        )


class ReconnectTests(SynchronousTestCase):
    """
    Outages: the broker down at start, the connection lost.
    """

    def test_backoff(self) -> None:
        """
        L{Backoff} starts at 1 second, doubles, stays at 60 and starts again
        when reset.
        """
        backoff = Backoff()
        self.assertEqual(
            [backoff.next() for _ in range(9)], [1, 2, 4, 8, 16, 32, 60, 60, 60]
        )
        backoff.reset()
        self.assertEqual(backoff.next(), 1)

    def test_downAtStart(self) -> None:
        """
        A broker that cannot be reached at start is tried again after 1, 2,
        4, ... seconds, at most 60; the outage is logged once, the recovery
        once, and everything is published on connecting.
        """
        bridged = Bridged(self)
        bridged.bridge.startService()
        times = []
        for _ in range(9):
            times.append(bridged.clock.seconds())
            bridged.connection.refuse()
            bridged.clock.advance(
                bridged.clock.getDelayedCalls()[0].getTime() - bridged.clock.seconds()
            )
        self.assertEqual(
            [later - earlier for earlier, later in pairwise(times)],
            [1, 2, 4, 8, 16, 32, 60, 60],
        )
        protocol, transport = connect(bridged.factory)
        protocol.dataReceived(b"on pump<EOF>")
        self.assertEqual(transport.value(), b"success<EOF>")
        bridged.connection.accept()
        self.assertIn(("eofrelay/pi1/pump/state", b"ON"), bridged.connection.messages())
        self.assertEqual(
            bridged.lines(),
            [
                "MQTT: cannot connect to broker.test:1883: Connection refused; "
                "trying again after 1 s, then ever less often, every 60 s at most",
                "MQTT: connected to broker.test:1883 again, after 243 s without it",
            ],
        )
        self.assertEqual(len(bridged.connections), 10)

    def test_lost(self) -> None:
        """
        A connection lost after it lasted is tried again after 1 second,
        then with the backoff; logged once each way; what changed meanwhile
        is published on reconnecting.
        """
        bridged = Bridged(self)
        first = bridged.connected()
        bridged.clock.advance(3600)
        first.lose("keep alive timeout")
        protocol, _ = connect(bridged.factory)
        protocol.dataReceived(b"on lamp<EOF>")
        bridged.clock.advance(0.999)
        self.assertEqual(len(bridged.connections), 1)
        bridged.clock.advance(0.001)
        bridged.connection.refuse()
        bridged.clock.advance(2)
        bridged.connection.accept()
        self.assertEqual(
            bridged.connection.messages()[-2:],
            [("eofrelay/pi1/lamp/state", b"ON"), ("eofrelay/pi1/fan/state", b"OFF")],
        )
        self.assertEqual(
            bridged.lines()[1:],
            [
                "MQTT: lost the connection to broker.test:1883: keep alive timeout; "
                "reconnecting",
                "MQTT: connected to broker.test:1883 again, after 3 s without it",
            ],
        )

    def test_flapping(self) -> None:
        """
        A connection lost soon after it was made does not start the backoff
        again: a broker that accepts and drops at once is not hammered.
        """
        bridged = Bridged(self)
        bridged.connected()
        delays = []
        for _ in range(5):
            bridged.connection.lose()
            before = bridged.clock.seconds()
            bridged.clock.advance(bridged.clock.getDelayedCalls()[0].getTime() - before)
            delays.append(bridged.clock.seconds() - before)
            bridged.connection.accept()
        self.assertEqual(delays, [1, 2, 4, 8, 16])

    def test_waitsForTheAttemptToEnd(self) -> None:
        """
        The next attempt starts only once the last one is over.
        """
        bridged = Bridged(self)
        bridged.bridge.startService()
        bridged.connection.accepted.errback(ConnectFailed("timed out"))
        bridged.clock.advance(100)
        self.assertEqual(len(bridged.connections), 1)
        bridged.connection.end()
        bridged.clock.advance(1)
        self.assertEqual(len(bridged.connections), 2)


class StopTests(SynchronousTestCase):
    """
    Stopping the bridge.
    """

    def test_goodbye(self) -> None:
        """
        Stopping publishes the pending states and C{offline}, waits for the
        broker to acknowledge it, then says goodbye.
        """
        bridged = Bridged(self)
        connection = bridged.connected()
        connection.autoAcknowledge = False
        protocol, _ = connect(bridged.factory)
        for _ in range(40):
            protocol.dataReceived(b"toggle pump<EOF>toggle lamp<EOF>")
        protocol.dataReceived(b"on pump<EOF>")
        stopped = bridged.bridge.stopService()
        messages = connection.messages()
        self.assertEqual(
            messages[-3:],
            [
                ("eofrelay/pi1/pump/state", b"ON"),
                ("eofrelay/pi1/lamp/state", b"OFF"),
                ("eofrelay/pi1/availability", b"offline"),
            ],
        )
        self.assertNoResult(stopped)
        self.assertFalse(connection.disconnected)
        connection.acknowledgeAll()
        self.successResultOf(stopped)
        self.assertTrue(connection.disconnected)
        self.assertEqual(
            bridged.lines()[-1], "MQTT: disconnected from broker.test:1883"
        )

    def test_brokerSilent(self) -> None:
        """
        A broker that does not acknowledge C{offline} within
        L{MQTTBridge.STOP_TIMEOUT} seconds: the connection is closed without
        a goodbye, and the stop goes on.
        """
        bridged = Bridged(self)
        connection = bridged.connected()
        connection.autoAcknowledge = False
        stopped = bridged.bridge.stopService()
        bridged.clock.advance(MQTTBridge.STOP_TIMEOUT)
        self.successResultOf(stopped)
        self.assertTrue(connection.aborted)
        self.assertIn(
            "MQTT: could not say offline to broker.test:1883 before stopping: "
            "no answer within 5 s",
            bridged.lines(),
        )

    def test_whileConnecting(self) -> None:
        """
        Stopping while an attempt is under way gives it up, and waits until
        it is over.
        """
        bridged = Bridged(self)
        bridged.bridge.startService()
        connection = bridged.connection
        stopped = bridged.bridge.stopService()
        self.assertTrue(connection.aborted)
        self.successResultOf(stopped)
        connection.accept()
        self.assertEqual(connection.published, [])

    def test_whileWaiting(self) -> None:
        """
        Stopping between two attempts cancels the next one.
        """
        bridged = Bridged(self)
        bridged.bridge.startService()
        bridged.connection.refuse()
        self.successResultOf(bridged.bridge.stopService())
        self.assertEqual(bridged.clock.getDelayedCalls(), [])

    def test_lostWhileStopping(self) -> None:
        """
        A connection lost while stopping is not tried again, nor logged as an
        outage.
        """
        bridged = Bridged(self)
        connection = bridged.connected()
        connection.autoAcknowledge = False
        stopped = bridged.bridge.stopService()
        connection.lose()
        self.successResultOf(stopped)
        self.assertEqual(bridged.clock.getDelayedCalls(), [])
        self.assertEqual(bridged.lines("lost"), [])
