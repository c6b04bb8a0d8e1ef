"""
Tests for the twistd plugin: it is found, and C{twistd -n eofrelay} runs
and stops cleanly as a real process.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
from pathlib import Path

from twisted.application.service import IServiceMaker
from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ProcessTerminated
from twisted.internet.protocol import ProcessProtocol, Protocol
from twisted.internet.task import deferLater
from twisted.plugin import getPlugins
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from eofrelay.wiring.emfile import OUT_OF_FILES
from tests.sockets import occupiedPort

ROOT = Path(__file__).resolve().parent.parent
TWISTD = "import sys; from twisted.scripts.twistd import run; sys.exit(run())"
#: Like systemd: the listening socket is fd 3, announced by LISTEN_FDS,
#: LISTEN_PID (the process's own) and LISTEN_FDNAMES, then twistd runs.
SOCKET_ACTIVATED = (
    "import os, sys; "
    "os.environ.update(LISTEN_FDS='1', LISTEN_FDNAMES='eofrelay', "
    "LISTEN_PID=str(os.getpid())); "
    "from twisted.scripts.twistd import run; sys.exit(run())"
)


class PluginTests(SynchronousTestCase):
    """
    Tests for C{twisted/plugins/eofrelay_plugin.py}.
    """

    def test_found(self) -> None:
        """
        twistd finds a service maker named C{eofrelay} whose options and
        service come from L{eofrelay.tap}.
        """
        makers = [m for m in getPlugins(IServiceMaker) if m.tapname == "eofrelay"]
        self.assertEqual(len(makers), 1)
        from eofrelay import tap

        self.assertIs(makers[0].options, tap.Options)
        self.assertEqual(makers[0].makeService, tap.makeService)

    def test_pluginImportsNothingHeavy(self) -> None:
        """
        The plugin module imports only twisted.application.service.
        """
        source = (ROOT / "twisted" / "plugins" / "eofrelay_plugin.py").read_text()
        imports = [
            line for line in source.splitlines() if re.match(r"\s*(import|from) ", line)
        ]
        self.assertEqual(
            imports, ["from twisted.application.service import ServiceMaker"]
        )
        self.assertFalse((ROOT / "twisted" / "plugins" / "__init__.py").exists())
        self.assertFalse((ROOT / "twisted" / "__init__.py").exists())


class Twistd(ProcessProtocol):
    """
    A C{twistd} child process whose output is collected; C{port} fires with
    the port number it listens on, C{ended} with its exit reason.
    """

    def __init__(self) -> None:
        self.output = b""
        self.port: Deferred[int] = Deferred()
        self.ended: Deferred[Exception] = Deferred()

    def outReceived(self, data: bytes) -> None:
        self.output += data
        match = re.search(rb"RelayFactory starting on (\d+)", self.output)
        # The pins are set up once every port listens: the service serves
        # from the line that says so.
        if match and b"eofrelay serving relays" in self.output:
            if not self.port.called:
                self.port.callback(int(match.group(1)))

    errReceived = outReceived

    def processEnded(self, reason: Failure) -> None:
        if not self.port.called:
            self.port.errback(reason)
            self.port.addErrback(lambda failure: None)
        self.ended.callback(reason.value)  # type: ignore[arg-type]


class Reader(Protocol):
    """
    Collects replies until C{count} have arrived.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.data = b""
        self.done: Deferred[bytes] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        if self.data.count(b"<EOF>") >= self.count and not self.done.called:
            self.done.callback(self.data)


class TwistdTests(TestCase):
    """
    C{twistd -n eofrelay} as a real process.
    """

    timeout = 60

    def spawn(
        self, *arguments: str, script: str = TWISTD, inherit: int | None = None
    ) -> Twistd:
        process = Twistd()
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        childFDs: dict[int, int | str] = {0: "w", 1: "r", 2: "r"}
        if inherit is not None:
            childFDs[3] = inherit
        transport = reactor.spawnProcess(
            process,
            sys.executable,
            [sys.executable, "-c", script, *arguments],
            env=env,
            path=str(ROOT),
            childFDs=childFDs,
        )

        def kill() -> Deferred[Exception] | None:
            if process.ended.called:
                return None
            transport.signalProcess("KILL")
            return process.ended

        self.addCleanup(kill)
        return process

    def spawnService(self, *options: str) -> Twistd:
        """
        C{twistd -n eofrelay} with simulated GPIO on a free loopback port,
        and C{options}.
        """
        return self.spawn(
            "-n",
            "--pidfile=",
            "eofrelay",
            "--gpio",
            "memory",
            *options,
            "--listen",
            "tcp:0:interface=127.0.0.1",
        )

    @inlineCallbacks
    def test_serveAndStop(self):
        """
        twistd serves the protocol; on SIGTERM it drives the relays off,
        logs it, shuts down cleanly and ends by the same signal, as twistd
        does (systemd counts that as a clean stop).
        """
        process = self.spawnService()
        port = yield process.port
        reader = Reader(2)
        yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), reader)
        reader.transport.write(b"on<EOF>status<EOF>")  # type: ignore[union-attr]
        self.assertEqual((yield reader.done), b"success<EOF>on<EOF>")
        reader.transport.loseConnection()  # type: ignore[union-attr]
        os.kill(self._pid(process), signal.SIGTERM)
        reason = yield process.ended
        self.assertIsInstance(reason, ProcessTerminated, process.output.decode())
        self.assertEqual(reason.signal, signal.SIGTERM)
        self.assertIn(b"Server Shut Down.", process.output)
        self.assertIn(b"relay relay switched off (was on) by shutdown", process.output)
        self.assertNotIn(b"Traceback", process.output)

    @inlineCallbacks
    def test_hangUpStops(self):
        """
        SIGHUP (the terminal of C{twistd -n} went away) stops the service as
        SIGTERM does: the exit policy ends a pulse and drives the relays
        off, it is logged, and twistd ends by the same signal.
        """
        process = self.spawnService("--relay", "a:17", "--relay", "b:18")
        port = yield process.port
        replies = yield self.talk(port, b"on a<EOF>pulse b 60000<EOF>", 2)
        self.assertEqual(replies, b"success<EOF>success<EOF>")
        os.kill(self._pid(process), signal.SIGHUP)
        reason = yield process.ended
        output = process.output.decode()
        self.assertIsInstance(reason, ProcessTerminated, output)
        self.assertEqual(reason.signal, signal.SIGHUP, output)
        self.assertIn("Received SIGHUP, shutting down", output)
        self.assertIn("relay a switched off (was on) by shutdown", output)
        self.assertIn("relay b switched off (was on) by shutdown", output)
        self.assertIn("Server Shut Down.", output)
        self.assertNotIn("Traceback", output)

    @inlineCallbacks
    def talk(self, port: int, message: bytes, count: int):
        reader = Reader(count)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
        yield connectProtocol(endpoint, reader)
        reader.transport.write(message)  # type: ignore[union-attr]
        replies = yield reader.done
        reader.transport.loseConnection()  # type: ignore[union-attr]
        return replies

    @inlineCallbacks
    def test_restartRestores(self):
        """
        After SIGTERM (relays driven off at exit, not recorded), a restart
        with C{--power-on restore} brings back the states that were in
        force; a pulse in flight at shutdown comes back off.
        """
        stateFile = os.path.abspath(self.mktemp())
        arguments = (
            "-n", "--pidfile=", "eofrelay", "--gpio", "memory",
            "--listen", "tcp:0:interface=127.0.0.1",
            "--relay", "a:5", "--relay", "b:6", "--relay", "c:7:active-low",
            "--state-file", stateFile, "--power-on", "restore",
        )  # fmt: skip
        first = self.spawn(*arguments)
        port = yield first.port
        replies = yield self.talk(port, b"on a<EOF>on c<EOF>pulse b 60000<EOF>", 3)
        self.assertEqual(replies, b"success<EOF>" * 3)
        os.kill(self._pid(first), signal.SIGTERM)
        yield first.ended
        self.assertIn(b"relay c switched off (was on) by shutdown", first.output)
        self.assertIn(b"relay b switched off (was on) by shutdown", first.output)

        second = self.spawn(*arguments)
        port = yield second.port
        replies = yield self.talk(port, b"relays<EOF>", 1)
        self.assertEqual(replies, b"a=on b=off c=on<EOF>")
        os.kill(self._pid(second), signal.SIGTERM)
        yield second.ended

    @inlineCallbacks
    def test_socketActivation(self):
        """
        With C{--listen systemd:domain=INET:index=0}, eofrelay serves on the
        listening socket it inherits the way systemd passes it (fd 3,
        C{LISTEN_FDS}, C{LISTEN_PID}, C{LISTEN_FDNAMES}).
        """
        listening = socket.socket()
        self.addCleanup(listening.close)
        listening.bind(("127.0.0.1", 0))
        listening.listen(16)
        port = listening.getsockname()[1]
        process = self.spawn(
            "-n", "--pidfile=", "eofrelay", "--gpio", "memory",
            "--listen", "systemd:domain=INET:index=0",
            script=SOCKET_ACTIVATED,
            inherit=listening.fileno(),
        )  # fmt: skip
        yield process.port
        listening.close()
        replies = yield self.talk(port, b"on<EOF>status<EOF>", 2)
        self.assertEqual(replies, b"success<EOF>on<EOF>")
        os.kill(self._pid(process), signal.SIGTERM)
        yield process.ended

    @inlineCallbacks
    def test_socketActivationWrongIndex(self):
        """
        A C{systemd:} description whose socket was not passed says which
        were, in the real process too (where Twisted has taken C{LISTEN_FDS}
        out of the environment by then).
        """
        listening = socket.socket()
        self.addCleanup(listening.close)
        listening.bind(("127.0.0.1", 0))
        listening.listen(16)
        process = self.spawn(
            "-n", "--pidfile=", "eofrelay", "--gpio", "memory",
            "--listen", "systemd:domain=INET:index=1",
            script=SOCKET_ACTIVATED,
            inherit=listening.fileno(),
        )  # fmt: skip
        reason = yield process.ended
        self.assertIsInstance(reason, ProcessTerminated)
        output = process.output.decode()
        self.assertIn(
            "systemd passed 1 socket(s), named eofrelay, none of them this one",
            output,
        )
        self.assertNotIn("Traceback", output)

    @inlineCallbacks
    def test_outOfFilesCounted(self):
        """
        Connections that Twisted drops because the process is out of file
        descriptors are counted in C{eofrelay_connections_refused_total}.
        """
        from twisted.internet.threads import deferToThread

        from tests.test_metrics import scrape

        limited = (
            "import resource, sys; "
            "resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48)); "
            "from twisted.scripts.twistd import run; sys.exit(run())"
        )
        process = self.spawn(
            "-n", "--pidfile=", "eofrelay", "--gpio", "memory",
            "--listen", "tcp:0:interface=127.0.0.1",
            "--metrics", "tcp:0:interface=127.0.0.1",
            script=limited,
        )  # fmt: skip
        port = yield process.port
        for _ in range(200):
            match = re.search(rb"Site starting on (\d+)", process.output)
            if match is not None:
                break
            yield deferLater(reactor, 0.05, lambda: None)
        assert match is not None, process.output
        metricsPort = int(match.group(1))

        def flood() -> None:
            clients = []
            try:
                for _ in range(60):
                    clients.append(socket.create_connection(("127.0.0.1", port), 10))
                # Each is answered or closed once the server took it.
                for client in clients:
                    try:
                        client.sendall(b"ping<EOF>")
                        client.recv(64)
                    except ConnectionError:
                        pass
            finally:
                for client in clients:
                    client.close()

        yield deferToThread(flood)
        # The closes reach the server in a few turns; scrape until they have.
        samples: dict[object, float] = {}
        for _ in range(100):
            try:
                _, samples = yield deferToThread(scrape, metricsPort)
                break
            except OSError:
                yield deferLater(reactor, 0.05, lambda: None)
        os.kill(self._pid(process), signal.SIGTERM)
        yield process.ended
        key = ("eofrelay_connections_refused_total", (("reason", OUT_OF_FILES),))
        self.assertGreater(samples.get(key, 0), 0, process.output.decode())
        self.assertIn(b"EMFILE recovery: Closed socket", process.output)

    def _pid(self, process: Twistd) -> int:
        return int(process.transport.pid)  # type: ignore[union-attr]

    @inlineCallbacks
    def test_gpioUnavailable(self):
        """
        C{--gpio rpi} where RPi.GPIO cannot run exits with status 1 and one
        readable line, not a traceback.
        """
        process = self.spawn(
            "-n", "--pidfile=", "eofrelay", "--gpio", "rpi", "--port", "0"
        )
        reason = yield process.ended
        self.assertIsInstance(reason, ProcessTerminated)
        self.assertEqual(reason.exitCode, 1)
        lines = process.output.decode().strip().splitlines()
        self.assertEqual(len(lines), 1, process.output)
        self.assertTrue(lines[0].startswith("eofrelay: RPi.GPIO "), lines)

    @inlineCallbacks
    def test_portInUse(self):
        """
        A C{--listen} or C{--metrics} port in use ends twistd with status 1
        and one line that names the address and says it is in use, with no
        traceback on the terminal or in the log, and no pid file left.
        """
        port = occupiedPort(self)
        where = f"tcp:{port}:interface=127.0.0.1"
        for options in (
            ("--listen", where),
            ("--listen", "tcp:0:interface=127.0.0.1", "--metrics", where),
        ):
            pidFile = os.path.abspath(self.mktemp())
            process = self.spawn(
                "-n", f"--pidfile={pidFile}", "eofrelay", "--gpio", "memory", *options
            )
            reason = yield process.ended
            output = process.output.decode()
            self.assertIsInstance(reason, ProcessTerminated, output)
            self.assertEqual(reason.exitCode, 1, output)
            [line] = [line for line in output.splitlines() if "cannot listen" in line]
            self.assertIn(
                f"eofrelay: cannot listen on tcp:{port} on 127.0.0.1: address "
                "already in use: is another eofrelay, or another program, "
                "listening there",
                line,
            )
            self.assertNotIn("Traceback", output)
            self.assertFalse(os.path.exists(pidFile))

    @inlineCallbacks
    def test_portInUseLogFile(self):
        """
        With C{--logfile}, the line is in the log, without a traceback, and
        nothing is written to the terminal.
        """
        port = occupiedPort(self)
        logFile = os.path.abspath(self.mktemp())
        process = self.spawn(
            "-n", "--pidfile=", f"--logfile={logFile}", "eofrelay",
            "--gpio", "memory", "--listen", f"tcp:{port}:interface=127.0.0.1",
        )  # fmt: skip
        reason = yield process.ended
        self.assertIsInstance(reason, ProcessTerminated)
        self.assertEqual(reason.exitCode, 1)
        self.assertEqual(process.output, b"")
        with open(logFile) as file:
            log = file.read()
        self.assertIn(f"cannot listen on tcp:{port} on 127.0.0.1: address", log)
        self.assertNotIn("Traceback", log)

    @inlineCallbacks
    def test_optionErrorFirst(self):
        """
        An option error prints two lines, the error first and then where
        every option is described, not twistd's usage text; twistd exits
        with status 1.
        """
        process = self.spawn("-n", "--pidfile=", "eofrelay", "--port", "x")
        reason = yield process.ended
        self.assertIsInstance(reason, ProcessTerminated)
        self.assertEqual(reason.exitCode, 1)
        self.assertEqual(
            process.output.decode().splitlines(),
            [
                "twistd eofrelay: --port 'x': expected an integer from 0 to 65535",
                "Run 'twistd eofrelay --help' for the options.",
            ],
        )

    @inlineCallbacks
    def test_help(self):
        """
        C{twistd eofrelay --help} lists every option.
        """
        process = self.spawn("eofrelay", "--help")
        yield process.ended
        for option in (
            b"--port",
            b"--listen",
            b"--relay",
            b"--gpio",
            b"--max-line",
            b"--close-after-reply",
        ):
            self.assertIn(option, process.output)
