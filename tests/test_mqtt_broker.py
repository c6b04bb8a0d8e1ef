"""
The MQTT bridge end to end, against a real mosquitto (see
L{tests.mosquitto}): the service that C{twistd eofrelay --mqtt} builds, in
this process and as a real C{twistd} process.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from typing import Any, cast

from twisted.application.internet import StreamServerEndpointService
from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.error import ProcessTerminated
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from eofrelay.client import RelayClient, connect
from eofrelay.mqtt.bridge import MQTTBridge
from eofrelay.tap import Options, makeService
from eofrelay.wiring.service import RelayService
from tests.mosquitto import PATIENCE, Mosquitto, client
from tests.test_plugin import ROOT, TWISTD, Twistd

BASE = "eofrelay/pi1"


class LogWatcher:
    """
    Collects the log lines of a test, and lets it wait for one.
    """

    def __init__(self, test: TestCase) -> None:
        self.lines: list[str] = []
        self._waiting: list[tuple[str, Deferred[None]]] = []
        observer = cast(ILogObserver, self._observe)
        globalLogPublisher.addObserver(observer)
        test.addCleanup(globalLogPublisher.removeObserver, observer)

    def _observe(self, event: LogEvent) -> None:
        line = formatEvent(event)
        if not line:
            return
        self.lines.append(line)
        for pair in list(self._waiting):
            if pair[0] in line:
                self._waiting.remove(pair)
                pair[1].callback(None)

    def count(self, text: str) -> int:
        """
        How many lines hold C{text}.
        """
        return sum(1 for line in self.lines if text in line)

    def waitFor(self, text: str, count: int = 1) -> Deferred[None]:
        """
        A Deferred firing once C{count} lines hold C{text}.
        """
        if self.count(text) >= count:
            return succeed(None)
        waiting: Deferred[None] = Deferred()
        self._waiting.append((text, waiting))
        waiting.addTimeout(PATIENCE, reactor)

        def more(ignored: object) -> Deferred[None]:
            return self.waitFor(text, count)

        def timedOut(failure: Failure) -> None:
            raise AssertionError(f"no log line with {text!r}: {self.lines}")

        return waiting.addCallbacks(more, timedOut)


class BridgeTests(TestCase):
    """
    The service of C{twistd eofrelay --mqtt mqtt://127.0.0.1:PORT
    --mqtt-node-id pi1}, relays C{pump} and C{lamp}, in this process.
    """

    timeout = 60

    def setUp(self):
        self.broker = Mosquitto(self)
        self.log = LogWatcher(self)
        return self.broker.start()

    def makeService(self, *extra: str) -> RelayService:
        options = Options()
        options.parseOptions(
            [
                "--gpio", "memory",
                "--listen", "tcp:0:interface=127.0.0.1",
                "--relay", "pump:5", "--relay", "lamp:6",
                "--mqtt", self.broker.url, "--mqtt-node-id", "pi1",
                *extra,
            ]
        )  # fmt: skip
        service = makeService(options)
        self.bridge = next(child for child in service if isinstance(child, MQTTBridge))
        return service

    @inlineCallbacks
    def started(self, *extra: str):
        """
        Start the service and connect a TCP client to it; fires once the
        bridge has published every state (as a subscriber to everything
        sees).
        """
        self.watcher, self.seen = client(self, self.broker.url, "watcher", ("#",))
        yield self.watcher.accepted
        self.service = self.makeService(*extra)
        self.service.startService()
        self.addCleanup(self.stopService)
        listener = next(
            child
            for child in self.service
            if isinstance(child, StreamServerEndpointService)
        )
        # The port listened on, as tests/test_docs.py finds it.
        listening = listener._waitingForPort.result  # type: ignore[union-attr]
        port = listening.getHost().port
        self.tcp: RelayClient = yield connect(reactor, f"tcp:127.0.0.1:{port}")
        self.addCleanup(self.tcp.disconnect)
        yield self.seen.waitForPayload(f"{BASE}/availability", b"online")
        yield self.seen.waitFor(
            lambda: self.seen.last(f"{BASE}/lamp/state") is not None, "the states"
        )

    def stopService(self) -> Any:
        if self.service.running:
            return self.service.stopService()
        return None

    @inlineCallbacks
    def test_lateSubscriber(self):
        """
        A subscriber that comes after the bridge connected gets, retained,
        C{online}, a discovery config per relay and every state.
        """
        yield self.started()
        late, seen = client(self, self.broker.url, "late", ("#",))
        yield late.accepted
        topics = {
            f"{BASE}/availability": b"online",
            f"{BASE}/pump/state": b"OFF",
            f"{BASE}/lamp/state": b"OFF",
        }
        yield seen.waitFor(
            lambda: (
                {t: seen.last(t) for t in topics} == topics
                and seen.last("homeassistant/switch/pi1/pump/config") is not None
                and seen.last("homeassistant/switch/pi1/lamp/config") is not None
            ),
            "everything retained",
        )
        self.assertTrue(all(retained for _, _, retained in seen.messages))

    @inlineCallbacks
    def test_tcpToMQTT(self):
        """
        A change made over TCP is published, as is a pulse's end.
        """
        yield self.started()
        yield self.tcp.on("pump")
        yield self.seen.waitForPayload(f"{BASE}/pump/state", b"ON")
        yield self.tcp.pulse(50, "lamp")
        yield self.seen.waitForPayload(f"{BASE}/lamp/state", b"ON")
        yield self.seen.waitForPayload(f"{BASE}/lamp/state", b"OFF")

    @inlineCallbacks
    def test_mqttToRelay(self):
        """
        C{set} and C{pulse} messages switch the relay, as TCP sees it.
        """
        yield self.started()
        yield self.watcher.publish(f"{BASE}/pump/set", b"on", False)
        yield self.seen.waitForPayload(f"{BASE}/pump/state", b"ON")
        self.assertTrue((yield self.tcp.status("pump")))
        yield self.watcher.publish(f"{BASE}/lamp/pulse", b"100", False)
        yield self.seen.waitForPayload(f"{BASE}/lamp/state", b"ON")
        yield self.seen.waitForPayload(f"{BASE}/lamp/state", b"OFF")
        self.assertFalse((yield self.tcp.status("lamp")))
        self.assertEqual(
            self.log.count(
                "relay pump switched on (was off) by mqtt:eofrelay/pi1/pump/set"
            ),
            1,
        )

    @inlineCallbacks
    def test_badPayload(self):
        """
        A payload that means nothing is logged, and the state published
        again.
        """
        yield self.started()
        before = len(self.seen.payloads(f"{BASE}/pump/state"))
        yield self.watcher.publish(f"{BASE}/pump/set", b"maybe", False)
        yield self.seen.waitFor(
            lambda: len(self.seen.payloads(f"{BASE}/pump/state")) > before,
            "the state again",
        )
        self.assertEqual(self.log.count("ignored b'maybe' on eofrelay/pi1/pump/set"), 1)

    @inlineCallbacks
    def test_retainedSetNotReplayed(self):
        """
        A retained C{set} left on the broker is not executed when the bridge
        subscribes; a command sent afterwards is.
        """
        leftover, _ = client(self, self.broker.url, "leftover")
        yield leftover.accepted
        yield leftover.publish(f"{BASE}/pump/set", b"ON", True)
        yield self.started()
        yield self.watcher.publish(f"{BASE}/pump/set", b"TOGGLE", False)
        # Had the retained ON been executed, TOGGLE would switch it off.
        yield self.seen.waitForPayload(f"{BASE}/pump/state", b"ON")
        self.assertTrue((yield self.tcp.status("pump")))
        self.assertEqual(self.log.count("ignored a retained message on"), 1)

    @inlineCallbacks
    def test_homeAssistantBirth(self):
        """
        C{online} on C{homeassistant/status} publishes the configs and states
        again.
        """
        yield self.started()
        config = "homeassistant/switch/pi1/pump/config"
        yield self.seen.waitFor(lambda: len(self.seen.payloads(config)) == 1)
        yield self.watcher.publish("homeassistant/status", b"online", False)
        yield self.seen.waitFor(lambda: len(self.seen.payloads(config)) == 2)
        yield self.seen.waitFor(
            lambda: len(self.seen.payloads(f"{BASE}/lamp/state")) == 2
        )

    @inlineCallbacks
    def test_brokerRestarted(self):
        """
        The broker stops and starts again: TCP works meanwhile, the bridge
        reconnects and publishes everything again, with what changed; one
        log line for the outage, one for the recovery.
        """
        yield self.started()
        yield self.broker.stop()
        yield self.log.waitFor("MQTT: lost the connection to")
        for _ in range(50):
            yield self.tcp.toggle("pump")
        yield self.tcp.on("lamp")
        yield self.broker.start()
        yield self.log.waitFor("again, after")
        late, seen = client(self, self.broker.url, "late", ("#",))
        yield late.accepted
        yield seen.waitForPayload(f"{BASE}/lamp/state", b"ON")
        yield seen.waitForPayload(f"{BASE}/pump/state", b"OFF")
        yield seen.waitForPayload(f"{BASE}/availability", b"online")
        self.assertEqual(self.log.count("MQTT: lost the connection"), 1)
        self.assertEqual(self.log.count("MQTT: cannot connect"), 0)
        self.assertEqual(self.log.count("again, after"), 1)

    @inlineCallbacks
    def test_brokerKilled(self):
        """
        The broker is killed and stays away for more than one attempt: still
        one line for the outage and one for the recovery.
        """
        yield self.started()
        failures: list[Failure] = []
        twoFailed: Deferred[None] = Deferred()
        connect = self.bridge._connect

        def counted(receiver: Any) -> Any:
            connection = connect(receiver)

            def failed(failure: Failure) -> Failure:
                failures.append(failure)
                if len(failures) == 2:
                    twoFailed.callback(None)
                return failure

            connection.accepted.addErrback(failed)
            return connection

        self.bridge._connect = counted
        yield self.broker.kill()
        yield self.log.waitFor("MQTT: lost the connection to")
        yield twoFailed.addTimeout(PATIENCE, reactor)
        yield self.tcp.on("lamp")
        yield self.broker.start()
        yield self.log.waitFor("again, after")
        self.assertEqual(self.log.count("MQTT: lost the connection"), 1)
        self.assertEqual(self.log.count("MQTT: cannot connect"), 0)
        late, seen = client(self, self.broker.url, "late", ("#",))
        yield late.accepted
        yield seen.waitForPayload(f"{BASE}/lamp/state", b"ON")

    @inlineCallbacks
    def test_lastWill(self):
        """
        When the network drops the connection the broker says C{offline} for
        the bridge (its last will); the bridge reconnects and says
        C{online}.
        """
        yield self.started()
        sock = self.bridge.connection._client.socket()  # type: ignore[union-attr]
        sock.shutdown(socket.SHUT_RDWR)
        yield self.seen.waitForPayload(f"{BASE}/availability", b"offline")
        yield self.seen.waitForPayload(f"{BASE}/availability", b"online")

    @inlineCallbacks
    def test_cleanShutdown(self):
        """
        Stopping the service publishes the states C{--on-exit off} drives,
        then C{offline}.
        """
        yield self.started()
        yield self.tcp.on("pump")
        yield self.seen.waitForPayload(f"{BASE}/pump/state", b"ON")
        yield self.tcp.disconnect()
        yield self.service.stopService()
        yield self.seen.waitForPayload(f"{BASE}/availability", b"offline")
        self.assertEqual(self.seen.last(f"{BASE}/pump/state"), b"OFF")
        pumpOff = self.seen.messages.index((f"{BASE}/pump/state", b"OFF", False))
        offline = self.seen.messages.index((f"{BASE}/availability", b"offline", False))
        self.assertLess(pumpOff, offline)

    @inlineCallbacks
    def test_brokerDownAtStart(self):
        """
        A broker down when the service starts: TCP serves, the outage is
        logged once, and the bridge connects once the broker is up.
        """
        yield self.broker.stop()
        self.service = self.makeService()
        self.service.startService()
        self.addCleanup(self.stopService)
        yield self.log.waitFor("MQTT: cannot connect to")
        yield self.broker.start()
        yield self.log.waitFor("again, after")
        watcher, seen = client(self, self.broker.url, "w", ("#",))
        yield watcher.accepted
        yield seen.waitForPayload(f"{BASE}/availability", b"online")


class TwistdTests(TestCase):
    """
    C{twistd -n eofrelay --mqtt ...} as a real process.
    """

    timeout = 60

    @inlineCallbacks
    def test_twistd(self):
        """
        twistd with C{--mqtt} announces the relays, takes commands from MQTT,
        and on SIGTERM publishes the relays off, then C{offline}; killed, the
        broker publishes C{offline} for it.
        """
        broker = Mosquitto(self)
        yield broker.start()
        watcher, seen = client(self, broker.url, "watcher", ("#",))
        yield watcher.accepted
        process = self.spawn(broker.url)
        yield process.port
        yield seen.waitForPayload(f"{BASE}/availability", b"online")
        yield seen.waitFor(
            lambda: seen.last("homeassistant/switch/pi1/pump/config") is not None
        )
        yield watcher.publish(f"{BASE}/pump/set", b"ON", False)
        yield seen.waitForPayload(f"{BASE}/pump/state", b"ON")
        os.kill(process.transport.pid, signal.SIGTERM)  # type: ignore[union-attr]
        reason = yield process.ended
        self.assertIsInstance(reason, ProcessTerminated, process.output.decode())
        self.assertEqual(seen.last(f"{BASE}/pump/state"), b"OFF")
        self.assertEqual(seen.last(f"{BASE}/availability"), b"offline")
        output = process.output.decode()
        self.assertIn("MQTT: connected to 127.0.0.1:", output)
        self.assertIn("MQTT: disconnected from 127.0.0.1:", output)
        self.assertNotIn("Traceback", output)

        killed = self.spawn(broker.url)
        yield killed.port
        yield seen.waitForPayload(f"{BASE}/availability", b"online")
        os.kill(killed.transport.pid, signal.SIGKILL)  # type: ignore[union-attr]
        yield killed.ended
        yield seen.waitForPayload(f"{BASE}/availability", b"offline")

    def spawn(self, url: str) -> Twistd:
        process = Twistd()
        arguments = [
            "-n", "--pidfile=", "eofrelay", "--gpio", "memory",
            "--listen", "tcp:0:interface=127.0.0.1",
            "--relay", "pump:5", "--relay", "lamp:6",
            "--mqtt", url, "--mqtt-node-id", "pi1",
        ]  # fmt: skip
        transport = reactor.spawnProcess(
            process,
            sys.executable,
            [sys.executable, "-c", TWISTD, *arguments],
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            path=str(ROOT),
        )

        def kill() -> None:
            if not process.ended.called:
                transport.signalProcess("KILL")
                return process.ended  # type: ignore[return-value]

        self.addCleanup(kill)
        return process
