"""
A real mosquitto broker for tests, and an MQTT client that records what
it receives.

The broker is the Debian package's C{mosquitto}, started by each test on
a free loopback port with a configuration file the test writes, and
stopped at the test's end.  Where it is not installed the tests that need
it are skipped, saying how to install it, except under C{CI=true}, where
they fail: CI must run them.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Optional

from twisted.internet import reactor, task
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IProcessTransport
from twisted.internet.protocol import ProcessProtocol
from twisted.python import threadable
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, TestCase
from zope.interface import implementer

from eofrelay.mqtt.client import PahoConnection, PahoConnector
from eofrelay.mqtt.connection import IMQTTConnection, IMQTTReceiver
from eofrelay.mqtt.settings import MQTTSettings, parseBrokerURL

#: Seconds a test waits for anything at most.
PATIENCE = 20.0

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
)


def requireMosquitto() -> str:
    """
    The path of C{mosquitto}.

    @raise SkipTest: if it is not installed, outside CI.
    @raise AssertionError: if it is not installed, under C{CI=true}.
    """
    if MOSQUITTO is not None:
        return MOSQUITTO
    message = (
        "mosquitto is not installed; these tests run a real broker: "
        "apt-get install mosquitto (.ci/run does)"
    )
    if os.environ.get("CI") == "true":
        raise AssertionError(message)
    raise SkipTest(message)


def freePort() -> int:
    """
    A TCP port on 127.0.0.1 that nothing listens on now.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _BrokerProcess(ProcessProtocol):
    """
    One run of mosquitto: C{ready} fires once it listens, C{ended} when it
    exits.
    """

    def __init__(self) -> None:
        self.output = b""
        self.ready: Deferred[None] = Deferred()
        self.ended: Deferred[None] = Deferred()

    def errReceived(self, data: bytes) -> None:
        self.output += data
        if not self.ready.called and b" running" in self.output:
            self.ready.callback(None)

    outReceived = errReceived

    def processEnded(self, reason: Failure) -> None:
        if not self.ready.called:
            self.ready.errback(
                AssertionError(f"mosquitto did not start: {self.output.decode()}")
            )
        self.ended.callback(None)


class Mosquitto:
    """
    A mosquitto broker on a free port of 127.0.0.1, for one test: it can be
    stopped, killed and started again on the same port, and is stopped at
    the test's end.

    @ivar port: Its port.
    @ivar url: C{mqtt://127.0.0.1:PORT}.
    """

    def __init__(self, test: TestCase, extra: str = "", tls: bool = False) -> None:
        """
        @param extra: More lines for the listener's configuration.
        """
        self._binary = requireMosquitto()
        self.port = freePort()
        self.url = f"mqtt{'s' if tls else ''}://127.0.0.1:{self.port}"
        directory = Path(test.mktemp()).absolute()
        directory.mkdir(parents=True)
        self.directory = directory
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "log_dest stderr\n"
            "log_type error\n"
            "log_type warning\n"
            "log_type notice\n"
            "log_type information\n"
            # As root, mosquitto would run as the user mosquitto, who may
            # not read the test's files.
            + ("user root\n" if os.geteuid() == 0 else "")
            + extra
        )
        self._process: Optional[_BrokerProcess] = None
        self._transport: Optional[IProcessTransport] = None
        test.addCleanup(self.stop)

    def start(self) -> Deferred[None]:
        """
        Start the broker.

        @return: A Deferred firing once it listens.
        """
        process = self._process = _BrokerProcess()
        self._transport = reactor.spawnProcess(
            process,
            self._binary,
            [self._binary, "-c", str(self.config)],
            env={"PATH": os.environ.get("PATH", "")},
            path=str(self.directory),
        )
        process.ready.addTimeout(PATIENCE, reactor)
        return process.ready

    @property
    def output(self) -> str:
        """
        What the broker logged so far.
        """
        return "" if self._process is None else self._process.output.decode()

    def _signal(self, name: str) -> Deferred[None]:
        process, self._process = self._process, None
        if process is None or process.ended.called:
            return succeed(None)
        transport = self._transport
        assert transport is not None
        transport.signalProcess(name)
        ended: Deferred[None] = Deferred()
        process.ended.chainDeferred(ended)
        # A SIGTERM that comes just after mosquitto said "running" can be
        # missed (its loop may not look at the flag until it next wakes):
        # say it again each second, at most PATIENCE / 2 times.
        again = task.LoopingCall(self._again, transport, name, process)
        again.clock = reactor
        again.start(1.0, now=False).addErrback(lambda failure: None)

        def stopAgain(result: object) -> object:
            if again.running:
                again.stop()
            return result

        process.ended.addBoth(stopAgain)

        def stuck(failure: Failure) -> Deferred[None]:
            transport.signalProcess("KILL")

            def report(ignored: object) -> None:
                raise AssertionError(
                    f"mosquitto did not end on SIG{name}: {process.output.decode()}"
                )

            return process.ended.addCallback(report)

        ended.addTimeout(PATIENCE / 2, reactor)
        ended.addErrback(stuck)
        return ended

    @staticmethod
    def _again(
        transport: IProcessTransport, name: str, process: _BrokerProcess
    ) -> None:
        if not process.ended.called:
            transport.signalProcess(name)

    def stop(self) -> Deferred[None]:
        """
        Stop the broker cleanly (SIGTERM).

        @return: A Deferred firing once it has exited.
        """
        return self._signal("TERM")

    def kill(self) -> Deferred[None]:
        """
        Kill the broker (SIGKILL): its connections end without a goodbye.

        @return: A Deferred firing once it is gone.
        """
        return self._signal("KILL")


@implementer(IMQTTReceiver)
class Recorder:
    """
    Records the messages that one MQTT connection receives, and lets a
    test wait, without sleeping, until they satisfy a condition.

    @ivar messages: C{(topic, payload, retained)}, in arrival order.
    """

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lost: list[str] = []
        self.threads: list[bool] = []
        self._waiting: list[tuple[Callable[[], bool], Deferred[None]]] = []

    def messageReceived(self, topic: str, payload: bytes, retained: bool) -> None:
        self.messages.append((topic, payload, retained))
        self.threads.append(threadable.isInIOThread())
        self._check()

    def connectionLost(self, reason: str) -> None:
        self.lost.append(reason)
        self._check()

    def payloads(self, topic: str) -> list[bytes]:
        """
        The payloads received on C{topic}, in order.
        """
        return [payload for t, payload, _ in self.messages if t == topic]

    def last(self, topic: str) -> Optional[bytes]:
        """
        The last payload received on C{topic}, if any.
        """
        payloads = self.payloads(topic)
        return payloads[-1] if payloads else None

    def waitFor(self, condition: Callable[[], bool], what: str = "") -> Deferred[None]:
        """
        A Deferred firing once C{condition()} is true, checked now and at
        each message; it fails after L{PATIENCE} seconds, saying C{what}
        was waited for and what arrived.
        """
        if condition():
            return succeed(None)
        waiting: Deferred[None] = Deferred()
        self._waiting.append((condition, waiting))

        def timedOut(failure: Failure) -> Failure:
            self._waiting[:] = [
                pair for pair in self._waiting if pair[1] is not waiting
            ]
            raise AssertionError(f"waited in vain for {what}; got {self.messages}")

        waiting.addTimeout(PATIENCE, reactor)
        waiting.addErrback(timedOut)
        return waiting

    def waitForPayload(self, topic: str, payload: bytes) -> Deferred[None]:
        """
        A Deferred firing once the last payload on C{topic} is C{payload}.
        """
        return self.waitFor(
            lambda: self.last(topic) == payload, f"{payload!r} on {topic}"
        )

    def _check(self) -> None:
        for pair in list(self._waiting):
            condition, waiting = pair
            if condition():
                self._waiting.remove(pair)
                waiting.callback(None)


def client(
    test: TestCase,
    url: str,
    node: str,
    subscribe: tuple[str, ...] = (),
    password: Optional[str] = None,
    caFile: Optional[str] = None,
) -> tuple[PahoConnection, Recorder]:
    """
    Start an MQTT client of the broker at C{url} that records what it
    receives on C{subscribe} (once the broker accepted it, see its
    C{accepted}); it is disconnected at the test's end.

    @param node: Makes its client id, C{eofrelay-NODE}.
    """
    recorder = Recorder()
    settings = MQTTSettings(
        parseBrokerURL(url), node, "test", password=password, caFile=caFile
    )
    connection = PahoConnector(reactor, settings, f"test/{node}/will", b"gone")(
        recorder
    )

    def subscribed(accepted: IMQTTConnection) -> object:
        if subscribe:
            return connection.subscribe(list(subscribe)).addCallback(lambda _: accepted)
        return accepted

    connection.accepted.addCallback(subscribed)
    connection.accepted.addTimeout(PATIENCE, reactor)
    test.addCleanup(connection.disconnect)
    return connection, recorder
