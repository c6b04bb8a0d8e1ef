"""
Tests for L{eofrelay.client} against a real eofrelay server on 127.0.0.1.
"""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.defer import gatherResults, inlineCallbacks
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from eofrelay.client import (
    ERRORS,
    AuthenticationFailed,
    AuthenticationRequired,
    BadArgument,
    ConnectionLost,
    HardwareError,
    TooManyConnections,
    UnknownRelay,
    connect,
    errorFor,
)
from eofrelay.core.bank import RelayBank
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay
from eofrelay.wire import replies as commands
from tests.sockets import closed, listen, sendsAtOnce


class ClientTests(TestCase):
    """
    The client API against a listening L{RelayFactory}.
    """

    timeout = 30

    def setUp(self) -> None:
        self.clock = Clock()
        self.a = MemoryRelay("a")
        self.b = MemoryRelay("b")
        self.factory = RelayFactory(RelayBank([self.a, self.b], clock=self.clock))
        self.port = listen(self, self.factory)

    @inlineCallbacks
    def connected(self, token: str | None = None):  # type: ignore[no-untyped-def]
        client = yield connect(reactor, f"tcp:127.0.0.1:{self.port}", token)
        self.addCleanup(client.disconnect)
        return client

    @inlineCallbacks
    def test_commands(self):  # type: ignore[no-untyped-def]
        """
        Every command returns its parsed result.
        """
        client = yield self.connected()
        self.assertIsNone((yield client.ping()))
        self.assertIsNone((yield client.on("b")))
        self.assertEqual((yield client.status("b")), True)
        self.assertEqual((yield client.status()), False)
        yield client.toggle()
        self.assertEqual((yield client.relays()), {"a": True, "b": True})
        yield client.off("all")
        yield client.pulse(500, "a")
        self.assertEqual((yield client.relays()), {"a": True, "b": False})
        self.clock.advance(0.5)
        self.assertEqual((yield client.status("a")), False)
        yield client.quit()
        yield client.protocol.closed

    @inlineCallbacks
    def test_errors(self):  # type: ignore[no-untyped-def]
        """
        Error replies fail the Deferred with their exception class.
        """
        client = yield self.connected()
        yield self.assertFailure(client.on("nope"), UnknownRelay)
        yield self.assertFailure(client.pulse(0), BadArgument)
        self.a.failWith = OSError("stuck")
        yield self.assertFailure(client.on(), HardwareError)
        self.flushLoggedErrors(OSError)
        for reply, exception in ERRORS.items():
            self.assertIsInstance(errorFor(reply), exception)
            self.assertTrue(reply.startswith(b"error: "))
        errorReplies = {
            value
            for value in vars(commands).values()
            if isinstance(value, bytes) and value.startswith(b"error: ")
        }
        self.assertEqual(set(ERRORS), errorReplies)

    @inlineCallbacks
    def test_pipelining(self):  # type: ignore[no-untyped-def]
        """
        Commands issued without waiting each get their own reply.
        """
        client = yield self.connected()
        results = yield gatherResults(
            [client.on("a"), client.status("a"), client.off("a"), client.status("a")]
        )
        self.assertEqual(results, [None, True, None, False])

    @inlineCallbacks
    def test_oneMessage(self):  # type: ignore[no-untyped-def]
        """
        A message holding the delimiter, which would be two messages and
        throw every later reply out of step, or not in ASCII, is refused
        before anything is sent.
        """
        client = yield self.connected()
        for message in ("on a<EOF>off a", "on p\u00fcmp"):
            failed = yield self.assertFailure(client.protocol.send(message), ValueError)
            self.assertNotIn(message, str(failed))
        yield self.assertFailure(client.on("a<EOF>"), ValueError)
        self.assertEqual(len(client.protocol._waiting), 0)
        self.assertIsNone((yield client.ping()))
        self.assertEqual(self.a.history, [])

    @inlineCallbacks
    def test_oneWordArguments(self):  # type: ignore[no-untyped-def]
        """
        A relay name or token that is not one word of printable ASCII
        fails with C{ValueError} before anything is sent, and so does one
        that is not a string: an empty name would switch the default
        relay, and one with spaces would be two arguments.
        """
        client = yield self.connected()
        for name in ("", "  ", "a b", "a\tb", b"a", 3):
            for method in (client.on, client.off, client.toggle, client.status):
                yield self.assertFailure(method(name), ValueError)  # type: ignore[arg-type]
            yield self.assertFailure(client.pulse(10, name), ValueError)  # type: ignore[arg-type]
            yield self.assertFailure(client.auth(name), ValueError)  # type: ignore[arg-type]
        self.assertEqual(len(client.protocol._waiting), 0)
        self.assertIsNone((yield client.ping()))
        self.assertEqual(self.a.history, [])

    @inlineCallbacks
    def test_badTokenClosed(self):  # type: ignore[no-untyped-def]
        """
        A token that cannot be sent fails C{connect}, which closes the
        connection it made.
        """
        self.factory.commands.token = b"sesame"
        yield self.assertFailure(
            connect(reactor, f"tcp:127.0.0.1:{self.port}", "ses<EOF>ame"), ValueError
        )
        yield closed(self.factory)

    @inlineCallbacks
    def test_sendsAtOnce(self):  # type: ignore[no-untyped-def]
        """
        Both ends of a TCP connection turn Nagle's algorithm off, so that a
        message written while the one before is unacknowledged (a second
        command, a second event) is not held back for the peer's delayed
        acknowledgement.
        """
        client = yield self.connected()
        yield client.ping()
        [server] = self.factory.connections
        self.assertTrue(sendsAtOnce(client.protocol.transport))
        self.assertTrue(sendsAtOnce(server.transport))

    @inlineCallbacks
    def test_watch(self):  # type: ignore[no-untyped-def]
        """
        C{watch} delivers events to the callback, changes by others too.
        """
        watcher = yield self.connected()
        events: list[tuple[str, bool]] = []
        yield watcher.watch(lambda name, on: events.append((name, on)))
        other = yield self.connected()
        yield other.on("b")
        yield other.off("b")
        yield watcher.ping()
        self.assertEqual(events, [("b", True), ("b", False)])

    @inlineCallbacks
    def test_auth(self):  # type: ignore[no-untyped-def]
        """
        With a token, C{connect} authenticates first; without, commands are
        refused; a wrong token fails.
        """
        self.factory.commands.token = b"sesame"
        client = yield self.connected("sesame")
        yield client.on()
        anonymous = yield self.connected()
        yield self.assertFailure(anonymous.on(), AuthenticationRequired)
        yield self.assertFailure(self.connected("wrong"), AuthenticationFailed)

    @inlineCallbacks
    def test_connectionLost(self):  # type: ignore[no-untyped-def]
        """
        A lost connection fails every pending Deferred.
        """
        slow = MemoryRelay("slow", asynchronous=True)
        factory = RelayFactory(RelayBank([slow], clock=Clock()))
        port = listen(self, factory)
        client = yield connect(reactor, f"tcp:127.0.0.1:{port}")
        first, second = client.on(), client.ping()
        for connection in list(factory.connections):
            connection.transport.abortConnection()  # type: ignore[union-attr]
        yield self.assertFailure(first, ConnectionLost)
        yield self.assertFailure(second, ConnectionLost)
        yield self.assertFailure(client.ping(), ConnectionLost)

    @inlineCallbacks
    def test_tooManyConnections(self):  # type: ignore[no-untyped-def]
        """
        A connection the server cannot serve fails its commands with
        L{TooManyConnections}, the reason the server gave before closing,
        also commands sent after the connection closed.
        """
        self.factory.maxConnections = 1
        yield self.connected()
        extra = yield self.connected()
        yield extra.protocol.closed
        yield self.assertFailure(extra.ping(), TooManyConnections)

    def test_relaysNotASCII(self) -> None:
        """
        A C{relays} reply that is not ASCII fails with L{UnexpectedReply},
        as any reply of the wrong kind does.
        """
        from twisted.internet.testing import StringTransport

        from eofrelay.client import RelayClient, RelayClientProtocol, UnexpectedReply

        protocol = RelayClientProtocol()
        protocol.makeConnection(StringTransport())
        client = RelayClient(protocol)
        states = client.relays()
        protocol.dataReceived(b"a=on \xff=off<EOF>")
        self.failureResultOf(states, UnexpectedReply)

    def test_testingConnectRefused(self) -> None:
        """
        L{eofrelay.testing.connect} says so when the factory refuses the
        peer, instead of failing an assertion.
        """
        from ipaddress import ip_network

        from eofrelay import testing

        factory = RelayFactory(
            RelayBank([MemoryRelay("a")], clock=Clock()),
            allow=[ip_network("10.0.0.0/8")],
        )
        error = self.assertRaises(ValueError, testing.connect, factory)
        self.assertIn("refused", str(error))
