"""
Tests for C{eofrelay-cli}, run as a real process against servers on
127.0.0.1: eofrelay, a server that never answers, and a
one-command-per-connection server written the way the article's
SocketServer example is.
"""

from __future__ import annotations

import os
import socket
import socketserver
import sys
import threading
from pathlib import Path

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import ProcessProtocol, Protocol, ServerFactory
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from eofrelay.cli import Options
from eofrelay.core.bank import RelayBank
from eofrelay.tcp.factory import RelayFactory
from eofrelay.tcp.protocol import RelayProtocol
from eofrelay.testing import MemoryRelay
from tests.sockets import listen

ROOT = Path(__file__).resolve().parent.parent


class Collect(ProcessProtocol):
    """
    Collects a process's output; C{ended} fires with (status, out, err).
    """

    def __init__(self) -> None:
        self.out = b""
        self.err = b""
        self.ended: Deferred[tuple[int, str, str]] = Deferred()
        self._waiting: list[tuple[bytes, Deferred[None]]] = []

    def outReceived(self, data: bytes) -> None:
        self.out += data
        waiting, self._waiting = self._waiting, []
        for text, seen in waiting:
            if text in self.out:
                seen.callback(None)
            else:
                self._waiting.append((text, seen))

    def printed(self, text: bytes) -> Deferred[None]:
        """
        A Deferred that fires once the output contains C{text}.
        """
        seen: Deferred[None] = Deferred()
        self._waiting.append((text, seen))
        self.outReceived(b"")
        return seen

    def errReceived(self, data: bytes) -> None:
        self.err += data

    def processEnded(self, reason: Failure) -> None:
        status = reason.value.exitCode  # type: ignore[union-attr]
        self.ended.callback((status, self.out.decode(), self.err.decode()))


def runCLI(
    *arguments: str, module: str = "eofrelay.cli"
) -> Deferred[tuple[int, str, str]]:
    process = Collect()
    reactor.spawnProcess(
        process,
        sys.executable,
        [sys.executable, "-m", module, *arguments],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        path=str(ROOT),
    )
    return process.ended


class ArticleHandler(socketserver.BaseRequestHandler):
    """
    The article's C{EnhancedTCPHandler}, in Python 3.
    """

    def handle(self) -> None:
        received = self.request.recv(1024).strip()
        if received in (b"on<EOF>", b"off<EOF>"):
            self.request.sendall(b"success<EOF>")
        else:
            self.request.sendall(b"error: unknown command<EOF>")


class Silent(Protocol):
    """
    Accepts and never answers.
    """


class Unrecognized(Protocol):
    """
    Answers C{unrecognized command} to everything, as the article's other
    server does.
    """

    def dataReceived(self, data: bytes) -> None:
        for _ in range(data.count(b"<EOF>")):
            self.transport.write(b"unrecognized command<EOF>")  # type: ignore[union-attr]


class _Watchers(set[RelayProtocol]):
    """
    A factory's set of watchers that tells when the first is added.
    """

    def __init__(self) -> None:
        super().__init__()
        self.added: Deferred[None] = Deferred()

    def add(self, watcher: RelayProtocol) -> None:
        super().add(watcher)
        if not self.added.called:
            self.added.callback(None)


class CLITests(TestCase):
    """
    C{eofrelay-cli} as a process.
    """

    timeout = 60

    def setUp(self) -> None:
        self.relay = MemoryRelay("pump")
        self.factory = RelayFactory(
            RelayBank([self.relay, MemoryRelay("door")], clock=Clock())
        )
        self.port = str(listen(self, self.factory))

    @inlineCallbacks
    def test_success(self):
        """
        A command that succeeds prints its reply and exits 0.
        """
        result = yield runCLI("--host", "127.0.0.1", "--port", self.port, "on", "door")
        self.assertEqual(result, (0, "success\n", ""))
        result = yield runCLI("--connect", f"tcp:127.0.0.1:{self.port}", "relays")
        self.assertEqual(result, (0, "pump=off door=on\n", ""))
        result = yield runCLI("-p", self.port, "--host", "127.0.0.1", "status", "DOOR")
        self.assertEqual(result, (0, "on\n", ""))

    @inlineCallbacks
    def test_ipv6(self):
        """
        C{--host} takes an IPv6 address, and a host name that resolves to
        both families reaches a server listening on IPv4 only.
        """
        from twisted.internet.endpoints import TCP6ServerEndpoint

        listening = yield TCP6ServerEndpoint(reactor, 0, interface="::1").listen(
            self.factory
        )
        self.addCleanup(listening.stopListening)
        port = str(listening.getHost().port)
        result = yield runCLI("--host", "::1", "--port", port, "on", "pump")
        self.assertEqual(result, (0, "success\n", ""))
        result = yield runCLI("--host", "localhost", "--port", self.port, "ping")
        self.assertEqual(result, (0, "pong\n", ""))

    @inlineCallbacks
    def test_pythonDashM(self):
        """
        C{python -m eofrelay.client} is the same tool.
        """
        result = yield runCLI(
            "--host",
            "127.0.0.1",
            "--port",
            self.port,
            "pulse",
            "250",
            module="eofrelay.client",
        )
        self.assertEqual(result, (0, "success\n", ""))

    @inlineCallbacks
    def test_errorReply(self):
        """
        An error reply goes to stderr with exit status 1.
        """
        result = yield runCLI("--host", "127.0.0.1", "--port", self.port, "on", "nope")
        self.assertEqual(result, (1, "", "error: unknown relay\n"))

    @inlineCallbacks
    def test_repliesAsSent(self):
        """
        Every command prints the server's reply as sent; C{pulse}'s C{MS}
        is sent as given, for the server to check.
        """
        where = ("--host", "127.0.0.1", "--port", self.port)
        for arguments, printed in [
            (("toggle",), "success\n"),
            (("off", "all"), "success\n"),
            (("pulse", "door", "250"), "success\n"),
            (("blink", "door", "2", "100", "50"), "success\n"),
            (("status", "door"), "on\n"),
            (("relays",), "pump=off door=on\n"),
            (
                ("help",),
                "commands: on off toggle pulse blink status relays watch auth ping "
                "help quit\n",
            ),
        ]:
            result = yield runCLI(*where, *arguments)
            self.assertEqual(result, (0, printed, ""), arguments)
        result = yield runCLI(*where, "pulse", "pump", "0250")
        self.assertEqual(result, (0, "success\n", ""))
        result = yield runCLI(*where, "pulse", "pump", "soon")
        self.assertEqual(result, (1, "", "error: bad argument\n"))

    @inlineCallbacks
    def test_token(self):
        """
        With C{--token-file}, the CLI authenticates first.
        """
        self.factory.commands.authenticator.token = b"sesame"
        token = os.path.abspath(self.mktemp())
        with open(token, "w") as file:
            file.write("sesame\n")
        result = yield runCLI("--host", "127.0.0.1", "--port", self.port, "on")
        self.assertEqual(result, (1, "", "error: authentication required\n"))
        result = yield runCLI(
            "--host", "127.0.0.1", "--port", self.port, "--token-file", token, "on"
        )
        self.assertEqual(result, (0, "success\n", ""))
        with open(token, "w") as file:
            file.write("wrong\n")
        result = yield runCLI(
            "--host", "127.0.0.1", "--port", self.port, "--token-file", token, "on"
        )
        self.assertEqual(result, (1, "", "error: authentication failed\n"))

    @inlineCallbacks
    def test_watch(self):
        """
        C{watch} prints every event until the server closes the connection,
        then exits 2 with a line on stderr.
        """

        watchers = _Watchers()
        self.factory.watchers = watchers
        ended = runCLI("--host", "127.0.0.1", "--port", self.port, "watch")
        yield watchers.added
        self.factory.bank.relay("pump").switch(True)
        self.factory.bank.relay("door").toggle()
        self.factory.disconnectAll()
        status, out, err = yield ended
        self.assertEqual((status, out), (2, "pump on\ndoor on\n"))
        self.assertIn("closed the connection", err)

    @inlineCallbacks
    def test_watchInterrupted(self):
        """
        C{watch} interrupted by SIGINT (Ctrl-C) or SIGTERM exits 0 and says
        nothing on stderr.
        """
        import signal

        for number in (signal.SIGINT, signal.SIGTERM):
            watchers = _Watchers()
            self.factory.watchers = watchers
            process = Collect()
            reactor.spawnProcess(
                process,
                sys.executable,
                [sys.executable, "-m", "eofrelay.cli", "--host", "127.0.0.1",
                 "--port", self.port, "watch"],
                env=dict(os.environ, PYTHONPATH=str(ROOT)),
                path=str(ROOT),
            )  # fmt: skip
            yield watchers.added
            self.factory.bank.relay("pump").switch(True)
            self.factory.bank.relay("pump").switch(False)
            yield process.printed(b"pump off\n")
            process.transport.signalProcess(number)  # type: ignore[union-attr]
            status, out, err = yield process.ended
            self.assertEqual((status, out, err), (0, "pump on\npump off\n", ""))

    @inlineCallbacks
    def test_refused(self):
        """
        A refused connection gives one line on stderr, in words (not
        Twisted's "Connection was refused by other side: 111"), and exit
        status 2.
        """
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = str(closed.getsockname()[1])
        closed.close()
        status, out, err = yield runCLI("--host", "127.0.0.1", "--port", port, "on")
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn(
            f"cannot connect to 127.0.0.1:{port}: connection refused (is eofrelay "
            "running there, on that port?)",
            err,
        )

    @inlineCallbacks
    def test_timeout(self):
        """
        A server that does not answer in time gives exit status 2.
        """
        port = str(listen(self, ServerFactory.forProtocol(Silent)))  # type: ignore[arg-type]
        status, out, err = yield runCLI(
            "--host", "127.0.0.1", "--port", port, "--timeout", "0.3", "on"
        )
        self.assertEqual((status, out), (2, ""))
        self.assertIn("no reply", err)

    @inlineCallbacks
    def test_watchTimeout(self):
        """
        C{watch} too gives exit status 2 when the server does not answer
        it in time.
        """
        port = str(listen(self, ServerFactory.forProtocol(Silent)))  # type: ignore[arg-type]
        status, out, err = yield runCLI(
            "--host", "127.0.0.1", "--port", port, "--timeout", "0.3", "watch"
        )
        self.assertEqual(
            (status, out, err),
            (2, "", f"eofrelay-cli: no reply from 127.0.0.1:{port} within 0.3 s\n"),
        )

    @inlineCallbacks
    def test_unexpectedReplies(self):
        """
        A reply that is not what the command answers, to any command, is
        printed on standard error with exit status 1.
        """
        port = str(listen(self, ServerFactory.forProtocol(Unrecognized)))  # type: ignore[arg-type]
        for command in ("on", "status", "relays", "help", "ping"):
            result = yield runCLI("--host", "127.0.0.1", "--port", port, command)
            self.assertEqual(result, (1, "", "unrecognized command\n"), command)

    @inlineCallbacks
    def test_connectTimeout(self):
        """
        A server that does not even accept the connection in time gives
        exit status 2 and one line.
        """
        full = socket.socket()
        self.addCleanup(full.close)
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        address = full.getsockname()
        waiting = []
        for _ in range(3):
            # The first fills the accept queue; the SYNs of the others are
            # dropped, and so will be the CLI's.
            client = socket.socket()
            self.addCleanup(client.close)
            client.setblocking(False)
            client.connect_ex(address)
            waiting.append(client)
        status, out, err = yield runCLI(
            "--host", "127.0.0.1", "--port", str(address[1]), "--timeout", "0.3", "ping"
        )
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(
            err, f"eofrelay-cli: no connection to 127.0.0.1:{address[1]} within 0.3 s\n"
        )

    @inlineCallbacks
    def test_badHostName(self):
        """
        A host name that cannot be one gives exit status 2 and one line.
        """
        status, out, err = yield runCLI("--host", "bad host", "--timeout", "2", "ping")
        self.assertEqual((status, out), (2, ""))
        self.assertTrue(err.startswith("eofrelay-cli: cannot connect to bad host:1100"))
        self.assertEqual(err.count("\n"), 1)

    @inlineCallbacks
    def test_articleServer(self):
        """
        C{on} and C{off} work against the article's one-command server.
        """
        server = socketserver.TCPServer(("127.0.0.1", 0), ArticleHandler)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}
        )
        thread.start()

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(10)

        self.addCleanup(stop)
        port = str(server.server_address[1])
        for command in ("on", "off"):
            result = yield runCLI("--host", "127.0.0.1", "--port", port, command)
            self.assertEqual(result, (0, "success\n", ""))
        result = yield runCLI("--host", "127.0.0.1", "--port", port, "status")
        self.assertEqual(result, (1, "", "error: unknown command\n"))


class OptionsTests(SynchronousTestCase):
    """
    The CLI's argument checking.
    """

    def test_refused(self) -> None:
        """
        Unknown commands and wrong argument counts are refused.
        """
        from twisted.python.usage import UsageError

        for arguments in (
            ["fly"],
            ["on", "a", "b"],
            ["pulse"],
            ["relays", "x"],
            [],
            ["--port", "70000", "ping"],
            ["--port", "0", "ping"],
            ["on", "p\u00fcmp"],
            ["on", "pump<EOF>off"],
            ["on", ""],
            ["on", "pump off"],
            ["on", "pump\t"],
            ["pulse", "", "100"],
            ["pulse", "pump", "5<EOF>"],
            ["blink", "3"],
            ["blink", "pump", "3"],
            ["blink", "1", "2", "3", "4"],
            ["--timeout", "-1", "ping"],
            ["--timeout", "0", "ping"],
            ["--timeout", "nan", "ping"],
            ["--timeout", "inf", "ping"],
            ["--connect", "tcp:127.0.0.1", "ping"],
            ["--connect", "bogus:1", "ping"],
        ):
            self.assertRaises(UsageError, Options().parseOptions, arguments)

    def test_trustRootsWithKey(self) -> None:
        """
        A C{trustRoots=} directory holding a private key is refused in
        words, not OpenSSL's C{PEM routines} tuple.
        """
        import os

        from twisted.python.usage import UsageError

        from tests.test_tls import selfSignedCertificate, writeSecret

        certificate, key = selfSignedCertificate("localhost")
        directory = self.mktemp()
        os.mkdir(directory)
        with open(os.path.join(directory, "cert.pem"), "wb") as file:
            file.write(certificate)
        writeSecret(os.path.join(directory, "key.pem"), key)
        with self.assertRaises(UsageError) as raised:
            Options().parseOptions(
                ["-c", f"tls:localhost:1100:trustRoots={directory}", "ping"]
            )
        message = str(raised.exception)
        self.assertIn("cannot load the CA certificates", message)
        self.assertNotIn("PEM routines", message)

    def test_errorFirst(self) -> None:
        """
        An argument refused is said first, in one line, then where the
        options are described; not the usage line before it.
        """
        import io
        import sys

        from eofrelay.cli import run

        errors = io.StringIO()
        self.patch(sys, "stderr", errors)
        with self.assertRaises(SystemExit) as raised:
            run(["fly"])
        self.assertEqual(raised.exception.code, 2)
        lines = errors.getvalue().splitlines()
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[0].startswith("eofrelay-cli: "), lines)
        self.assertEqual(lines[1], "Run 'eofrelay-cli --help' for the options.")

    def test_connectRefused(self) -> None:
        """
        A C{--connect} description that describes no endpoint, or a port
        outside 1 to 65535 (which C{tls:} would wrap around), is a usage
        error that says why.
        """
        from twisted.python.usage import UsageError

        for description, reason in [
            ("tcp:127.0.0.1", "incomplete, a host or port missing?"),
            ("tcp:127.0.0.1:1100:colour=red", "unknown option"),
            ("tcp:127.0.0.1:99999", "port 99999 is not 1-65535"),
            ("tcp:127.0.0.1:0", "port 0 is not 1-65535"),
            ("tls:127.0.0.1:99999", "port 99999 is not 1-65535"),
            ("tls:127.0.0.1:-1", "port -1 is not 1-65535"),
        ]:
            error = self.assertRaises(
                UsageError, Options().parseOptions, ["-c", description, "ping"]
            )
            self.assertIn(reason, str(error), description)
        options = Options()
        options.parseOptions(["-c", "tls:127.0.0.1:1100", "ping"])
        self.assertIsNotNone(options["endpoint"])

    def test_tokenFile(self) -> None:
        """
        The token file holds a token the server could accept, whitespace
        around it ignored; anything else is a usage error that does not
        show the token.
        """
        from twisted.python.usage import UsageError

        path = self.mktemp()
        with open(path, "w") as file:
            file.write("  s3cret\n")
        options = Options()
        options.parseOptions(["--token-file", path, "ping"])
        self.assertEqual(options["token"], "s3cret")
        for token in ("s3c<EOF>ret", "s3c ret", "s3cr\u00e9t", ""):
            with open(path, "w", encoding="utf-8") as file:
                file.write(token)
            error = self.assertRaises(
                UsageError, Options().parseOptions, ["--token-file", path, "ping"]
            )
            self.assertTrue(str(error).startswith(f"token file {path}"), error)
            if token:
                self.assertNotIn(token, str(error))
        missing = self.mktemp()
        self.assertRaises(
            UsageError, Options().parseOptions, ["--token-file", missing, "ping"]
        )

    def test_version(self) -> None:
        """
        C{--version} prints eofrelay's version and exits with status 0.
        """
        import io

        from eofrelay import __version__

        output = io.StringIO()
        self.patch(sys, "stdout", output)
        exit = self.assertRaises(SystemExit, Options().parseOptions, ["--version"])
        self.assertEqual(exit.code, 0)
        self.assertEqual(output.getvalue(), f"eofrelay-cli (eofrelay) {__version__}\n")

    def test_connectWithoutTLS(self) -> None:
        """
        C{--connect tls:...} without pyOpenSSL says what to install.
        """
        from twisted.python.usage import UsageError

        from eofrelay import cli

        def noTLS(reactor: object, description: str) -> None:
            raise NameError("name 'optionsForClientTLS' is not defined")

        self.patch(cli, "clientFromString", noTLS)
        saved = sys.modules.get("OpenSSL")
        sys.modules["OpenSSL"] = None  # type: ignore[assignment]

        def restore() -> None:
            if saved is None:
                sys.modules.pop("OpenSSL", None)
            else:
                sys.modules["OpenSSL"] = saved

        self.addCleanup(restore)
        error = self.assertRaises(
            UsageError, Options().parseOptions, ["-c", "tls:pi.lan:1100", "ping"]
        )
        self.assertEqual(
            str(error),
            "--connect 'tls:pi.lan:1100': TLS needs pyOpenSSL: "
            "pip install '.[tls]' in eofrelay's checkout "
            "(or pip install 'eofrelay[tls]' where an index has eofrelay)",
        )

    def test_endpoint(self) -> None:
        """
        C{--host}/C{--port} name the server (IPv6 addresses in brackets in
        messages); C{--connect} replaces them.
        """
        options = Options()
        options.parseOptions(["--host", "pi", "-p", "99", "pulse", "a", "5"])
        self.assertEqual(
            (
                options["connect"],
                options["where"],
                options["port"],
                options["command"],
                options["arguments"],
            ),
            (None, "pi:99", 99, "pulse", ("a", "5")),
        )
        options = Options()
        options.parseOptions(["--host", "::1", "ping"])
        self.assertEqual(options["where"], "[::1]:1100")
        options = Options()
        options.parseOptions(["--host", "[fe80::1]", "ping"])
        self.assertEqual(
            (options["host"], options["where"]), ("fe80::1", "[fe80::1]:1100")
        )
        options = Options()
        options.parseOptions(["-c", "unix:/s", "ping"])
        self.assertEqual((options["connect"], options["where"]), ("unix:/s", "unix:/s"))


class _Reactor(Clock):
    """
    A L{Clock} with the one other method C{watch} calls on its reactor.
    """

    def addSystemEventTrigger(self, *arguments: object) -> None:
        pass


class WatchTimeoutTests(SynchronousTestCase):
    """
    C{watch}'s C{--timeout} covers only the reply to C{watch}, with time
    driven by a L{Clock}.
    """

    def setUp(self) -> None:
        from twisted.internet.testing import StringTransport

        from eofrelay.cli import _watch
        from eofrelay.client import RelayClient, RelayClientProtocol

        self.reactor = _Reactor()
        self.protocol = RelayClientProtocol()
        self.protocol.makeConnection(StringTransport())
        self.watching = Deferred.fromCoroutine(
            _watch(self.reactor, RelayClient(self.protocol), 0.3)
        )

    def test_answeredWatchOutlivesTimeout(self) -> None:
        """
        Once the server has answered C{watch}, events are printed however
        long after C{--timeout} they come.
        """
        import io

        output, errors = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", output)
        self.patch(sys, "stderr", errors)
        self.protocol.dataReceived(b"success<EOF>")
        self.reactor.advance(60)
        self.protocol.dataReceived(b"event: pump on<EOF>")
        self.assertNoResult(self.watching)
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.successResultOf(self.watching), 2)
        self.assertEqual(output.getvalue(), "pump on\n")
        self.assertEqual(
            errors.getvalue(), "eofrelay-cli: the server closed the connection\n"
        )

    def test_unansweredWatch(self) -> None:
        """
        Without a reply within C{--timeout}, C{watch} fails with a timeout.
        """
        from twisted.internet.defer import TimeoutError

        self.reactor.advance(0.3)
        self.failureResultOf(self.watching, TimeoutError)
