"""
Tests for L{eofrelay.wiring.command}: the C{eofrelay} command and C{python
-m eofrelay}, in process and as a real process.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import sys
from types import SimpleNamespace

from twisted.application.service import Service
from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.testing import MemoryReactor
from twisted.logger import LogBeginner, Logger, LogLevel, LogPublisher
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase

from eofrelay import __version__
from eofrelay.wiring import command
from eofrelay.wiring.command import CommandOptions, foregroundObserver, main
from tests.test_plugin import ROOT, TWISTD, Reader, Twistd

#: Like systemd: the listening socket is fd 3, announced by LISTEN_FDS,
#: LISTEN_PID (the process's own) and LISTEN_FDNAMES, then eofrelay runs.
SOCKET_ACTIVATED = (
    "import os; "
    "os.environ.update(LISTEN_FDS='1', LISTEN_FDNAMES='eofrelay', "
    "LISTEN_PID=str(os.getpid())); "
    "from eofrelay.wiring.command import main; main()"
)

#: A line of twistd's log: its time stamp, then [namespace#level].
LOG_LINE = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[[\w.-]+#info\] "


class CommandOptionsTests(SynchronousTestCase):
    """
    Tests for L{CommandOptions}.
    """

    def test_sameOptions(self) -> None:
        """
        The command takes every option of C{twistd eofrelay}, and
        C{--log-level}.
        """
        from eofrelay.tap import Options

        self.assertEqual(
            set(CommandOptions().longOpt), set(Options().longOpt) | {"log-level="}
        )

    def test_logLevel(self) -> None:
        """
        C{--log-level} names a level of C{twisted.logger}; C{info} by
        default.
        """
        options = CommandOptions()
        options.parseOptions(["--gpio", "memory"])
        self.assertIs(options["log-level"], LogLevel.info)
        options = CommandOptions()
        options.parseOptions(["--gpio", "memory", "--log-level", "debug"])
        self.assertIs(options["log-level"], LogLevel.debug)
        with self.assertRaises(UsageError) as raised:
            CommandOptions().parseOptions(["--log-level", "loud"])
        self.assertEqual(
            str(raised.exception),
            "--log-level 'loud': choose one of debug, info, warn, error, critical",
        )

    def test_logLevelNotInConfig(self) -> None:
        """
        A config file gives the service's options only, so that one file
        serves C{eofrelay} and C{twistd eofrelay} alike.
        """
        path = self.mktemp()
        with open(path, "w") as file:
            file.write('log-level = "debug"\n')
        with self.assertRaises(UsageError) as raised:
            CommandOptions().parseOptions(["--config", path])
        self.assertIn("unknown key 'log-level'", str(raised.exception))

    def test_version(self) -> None:
        """
        C{--version} prints eofrelay's version, Twisted's and Python's, and
        exits with status 0.
        """
        output = io.StringIO()
        self.patch(sys, "stdout", output)
        with self.assertRaises(SystemExit) as raised:
            CommandOptions().parseOptions(["--version"])
        self.assertEqual(raised.exception.code, 0)
        self.assertRegex(
            output.getvalue(),
            rf"^eofrelay {re.escape(__version__)} \(Twisted \S+, Python \S+\)\n$",
        )


class MainTests(SynchronousTestCase):
    """
    Tests for L{main} that start no service.
    """

    def refused(self, *arguments: str) -> list[str]:
        errors = io.StringIO()
        self.patch(sys, "stderr", errors)
        with self.assertRaises(SystemExit) as raised:
            main(list(arguments))
        self.assertEqual(raised.exception.code, 2)
        return errors.getvalue().splitlines()

    def test_optionError(self) -> None:
        """
        An option refused prints its error in one line, then a hint to
        C{--help}, on standard error, and exits with status 2.
        """
        self.assertEqual(
            self.refused("--relay", "all:3"),
            [
                "eofrelay: --relay 'all:3': bad relay name 'all': 'all' is reserved",
                "Run 'eofrelay --help' for the options.",
            ],
        )
        self.assertEqual(
            self.refused("--bogus")[0], "eofrelay: option --bogus not recognized"
        )
        self.assertEqual(
            self.refused("1100")[0],
            "eofrelay: unexpected argument '1100': every setting is an option, "
            "such as --port 1100",
        )

    def test_configError(self) -> None:
        """
        An unusable config file is refused like an option.
        """
        missing = os.path.abspath(self.mktemp())
        self.assertEqual(
            self.refused("--config", missing),
            [
                f"eofrelay: config file {missing}: cannot read it: "
                "No such file or directory",
                "Run 'eofrelay --help' for the options.",
            ],
        )


class RecordingService(Service):
    """
    A service that records what was done to it.
    """

    def __init__(self) -> None:
        self.calls: list[str] = []

    def privilegedStartService(self) -> None:
        self.calls.append("privilegedStartService")

    def startService(self) -> None:
        self.calls.append("startService")

    def stopService(self) -> None:
        self.calls.append("stopService")


class ForegroundTests(SynchronousTestCase):
    """
    Tests for L{foregroundObserver} and L{command.runInForeground}.
    """

    def test_twistdFormat(self) -> None:
        """
        The log is written in twistd's format, without the lines below the
        level chosen.
        """
        output = io.StringIO()
        publisher = LogPublisher(foregroundObserver(output, LogLevel.info))
        log = Logger(namespace="eofrelay.test", observer=publisher)
        log.debug("not shown")
        log.info("relay {relay} switched {state}", relay="pump", state="on")
        self.assertRegex(
            output.getvalue(),
            r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} "
            r"\[eofrelay\.test#info\] relay pump switched on\n$",
        )
        output = io.StringIO()
        publisher = LogPublisher(foregroundObserver(output, LogLevel.debug))
        Logger(namespace="eofrelay.test", observer=publisher).debug("shown")
        self.assertIn("[eofrelay.test#debug] shown", output.getvalue())

    def test_startsAsTwistd(self) -> None:
        """
        The service is started as twistd starts it, before the reactor
        runs, and stopped before the reactor shuts down; the log goes to
        the file given, from the start to C{Server Shut Down.}.
        """
        memory = MemoryReactor()
        service = RecordingService()
        output = io.StringIO()
        publisher = LogPublisher()
        stdio = SimpleNamespace(stdout=io.StringIO(), stderr=io.StringIO())
        warnings = SimpleNamespace(showwarning=lambda *arguments: None)
        beginner = LogBeginner(publisher, io.StringIO(), stdio, warnings)
        # Not the global publisher: this test's lines go only to output.
        self.patch(command, "_log", Logger(namespace="test", observer=publisher))
        command.runInForeground(memory, service, LogLevel.info, output, beginner)
        self.assertEqual(service.calls, ["privilegedStartService", "startService"])
        self.assertTrue(memory.hasRun)
        [(stop, args, kwargs)] = memory.triggers["before"]["shutdown"]
        self.assertEqual((stop, args, kwargs), (service.stopService, (), {}))
        lines = output.getvalue().splitlines()
        self.assertIn(f"eofrelay {__version__} (Twisted", lines[0])
        self.assertIn(
            "starting up; reactor: twisted.internet.testing.MemoryReactor", lines[0]
        )
        self.assertTrue(lines[-1].endswith("[test#info] Server Shut Down."), lines)

    def test_noSignal(self) -> None:
        """
        When no signal stopped the reactor, the process is not ended by one.
        """
        command.endBySignal(None)


class Command(Twistd):
    """
    An C{eofrelay} child process, its standard error kept apart too.
    """

    def __init__(self) -> None:
        super().__init__()
        self.errors = b""

    def errReceived(self, data: bytes) -> None:
        self.errors += data
        self.outReceived(data)


class CommandProcessTests(TestCase):
    """
    C{python -m eofrelay} as a real process.
    """

    timeout = 60

    def spawn(
        self,
        *arguments: str,
        script: list[str] | None = None,
        inherit: int | None = None,
    ) -> Command:
        process = Command()
        program = script or ["-m", "eofrelay"]
        childFDs: dict[int, int | str] = {0: "w", 1: "r", 2: "r"}
        if inherit is not None:
            childFDs[3] = inherit
        transport = reactor.spawnProcess(
            process,
            sys.executable,
            [sys.executable, *program, *arguments],
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            path=str(ROOT),
            childFDs=childFDs,
        )

        def kill() -> None:
            if not process.ended.called:
                transport.signalProcess("KILL")

        self.addCleanup(kill)
        return process

    def spawnService(self, *options: str) -> Command:
        """
        C{eofrelay} with simulated GPIO on a free loopback port, and
        C{options}.
        """
        return self.spawn(
            "--gpio", "memory", *options, "--listen", "tcp:0:interface=127.0.0.1"
        )

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
    def stopsOn(self, number: int):
        """
        Serve, switch a relay on and start a pulse, send signal C{number}:
        the exit policy is applied and logged, and the process ends by that
        signal, without a traceback.
        """
        process = self.spawnService("--relay", "a:17", "--relay", "b:18")
        port = yield process.port
        replies = yield self.talk(port, b"on a<EOF>pulse b 60000<EOF>", 2)
        self.assertEqual(replies, b"success<EOF>success<EOF>")
        os.kill(int(process.transport.pid), number)  # type: ignore[union-attr]
        reason = yield process.ended
        output = process.output.decode()
        self.assertIsInstance(reason, ProcessTerminated, output)
        self.assertEqual(reason.signal, number, output)
        self.assertIn("relay a switched off (was on) by shutdown", output)
        self.assertIn("relay b switched off (was on) by shutdown", output)
        self.assertIn("Server Shut Down.", output)
        self.assertNotIn("Traceback", output)
        return process

    @inlineCallbacks
    def test_serveAndStopOnSIGTERM(self):
        """
        C{python -m eofrelay} serves the protocol, logs to standard output
        in twistd's format, and stops cleanly on SIGTERM.
        """
        process = yield self.stopsOn(signal.SIGTERM)
        self.assertRegex(
            process.output,
            LOG_LINE + rb"eofrelay \S+ \(Twisted \S+, Python \S+\) starting up",
        )
        self.assertRegex(process.output, LOG_LINE + rb"eofrelay serving relays: a, b\n")
        self.assertIn(b"Received SIGTERM, shutting down.", process.output)
        self.assertEqual(process.errors, b"")

    def test_stopOnSIGINT(self):
        """
        Ctrl-C (SIGINT) stops it cleanly.
        """
        return self.stopsOn(signal.SIGINT)

    @inlineCallbacks
    def test_stopOnSIGHUP(self):
        """
        SIGHUP (its terminal went away) stops it cleanly, as under twistd.
        """
        process = yield self.stopsOn(signal.SIGHUP)
        self.assertIn(b"Received SIGHUP, shutting down", process.output)

    @inlineCallbacks
    def test_optionError(self):
        """
        An option refused: two lines on standard error, nothing on standard
        output, exit status 2.
        """
        process = self.spawn("--relay", "all:3")
        reason = yield process.ended
        self.assertIsInstance(reason, ProcessTerminated)
        self.assertEqual(reason.exitCode, 2)
        self.assertEqual(
            process.errors.decode().splitlines(),
            [
                "eofrelay: --relay 'all:3': bad relay name 'all': 'all' is reserved",
                "Run 'eofrelay --help' for the options.",
            ],
        )
        self.assertEqual(process.output, process.errors)

    @inlineCallbacks
    def test_gpioUnavailable(self):
        """
        C{--gpio rpi} where RPi.GPIO cannot run exits with status 1 and one
        line, as C{twistd eofrelay} does.
        """
        process = self.spawn("--gpio", "rpi", "--port", "0")
        reason = yield process.ended
        self.assertIsInstance(reason, ProcessTerminated)
        self.assertEqual(reason.exitCode, 1)
        lines = process.output.decode().strip().splitlines()
        self.assertEqual(len(lines), 1, process.output)
        self.assertTrue(lines[0].startswith("eofrelay: RPi.GPIO "), lines)

    @inlineCallbacks
    def test_helpAndVersion(self):
        """
        C{--help} lists the options of C{twistd eofrelay}, C{--config} and
        C{--log-level}; C{--version} prints the version; both exit 0.
        """
        process = self.spawn("--help")
        reason = yield process.ended
        self.assertIsInstance(reason, ProcessDone)
        self.assertTrue(process.output.startswith(b"Usage: eofrelay [options]\n"))
        for option in (b"--config", b"--log-level", b"--relay", b"--close-after-reply"):
            self.assertIn(option, process.output)
        process = self.spawn("--version")
        reason = yield process.ended
        self.assertIsInstance(reason, ProcessDone)
        self.assertTrue(process.output.startswith(f"eofrelay {__version__} ".encode()))

    @inlineCallbacks
    def test_helpIntoClosedPipe(self):
        """
        C{--help} into a pipe already closed (C{eofrelay --help | head -1}
        once C{head} is done) ends without a traceback.
        """
        readEnd, writeEnd = os.pipe()
        os.close(readEnd)
        process = Command()
        reactor.spawnProcess(
            process,
            sys.executable,
            [sys.executable, "-m", "eofrelay", "--help"],
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            path=str(ROOT),
            childFDs={0: "w", 1: writeEnd, 2: "r"},
        )
        os.close(writeEnd)
        reason = yield process.ended
        self.assertIsInstance(reason, ProcessTerminated)
        self.assertNotIn(b"Traceback", process.output)

    @inlineCallbacks
    def test_config(self):
        """
        C{eofrelay --config FILE} and C{twistd -n eofrelay --config FILE}
        serve the relays of the file.
        """
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as file:
            file.write(
                'gpio = "memory"\n'
                'listen = ["tcp:0:interface=127.0.0.1"]\n'
                'relay = ["pump:17", "valve:27:active-low"]\n'
                'interlock = [["pump", "valve"]]\n'
            )
        for program in (
            ["-m", "eofrelay"],
            ["-c", TWISTD, "-n", "--pidfile=", "eofrelay"],
        ):
            process = self.spawn("--config", path, script=program)
            port = yield process.port
            replies = yield self.talk(port, b"on valve<EOF>on pump<EOF>relays<EOF>", 3)
            self.assertEqual(
                replies, b"success<EOF>success<EOF>pump=on valve=off<EOF>", program
            )
            os.kill(int(process.transport.pid), signal.SIGTERM)  # type: ignore[union-attr]
            reason = yield process.ended
            self.assertEqual(reason.signal, signal.SIGTERM, process.output)

    @inlineCallbacks
    def test_socketActivation(self):
        """
        With C{--listen systemd:domain=INET:index=0}, C{eofrelay} serves on
        the listening socket it inherits the way systemd passes it: it is
        the process systemd starts, as C{twistd -n} is.
        """
        listening = socket.socket()
        self.addCleanup(listening.close)
        listening.bind(("127.0.0.1", 0))
        listening.listen(16)
        port = listening.getsockname()[1]
        process = self.spawn(
            "--gpio", "memory", "--listen", "systemd:domain=INET:index=0",
            script=["-c", SOCKET_ACTIVATED],
            inherit=listening.fileno(),
        )  # fmt: skip
        yield process.port
        listening.close()
        replies = yield self.talk(port, b"on<EOF>status<EOF>", 2)
        self.assertEqual(replies, b"success<EOF>on<EOF>")
        os.kill(int(process.transport.pid), signal.SIGTERM)  # type: ignore[union-attr]
        reason = yield process.ended
        self.assertEqual(reason.signal, signal.SIGTERM, process.output)
