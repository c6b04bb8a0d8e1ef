"""
Tests for L{eofrelay.client} against a real eofrelay server on 127.0.0.1,
and for what its methods make of replies.
"""

from __future__ import annotations

from typing import TypeVar

from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults, inlineCallbacks
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase, TestCase

from eofrelay.client import (
    ERRORS,
    AuthenticationFailed,
    AuthenticationRequired,
    BadArgument,
    ConnectionLost,
    HardwareError,
    RelayClient,
    RelayClientProtocol,
    TooManyConnections,
    UnexpectedReply,
    UnknownCommand,
    UnknownRelay,
    connect,
    errorFor,
)
from eofrelay.core.bank import RelayBank
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay
from eofrelay.wire import replies as commands
from tests.sockets import closed, listen, sendsAtOnce

_T = TypeVar("_T")


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
    def connected(self, token: str | None = None):
        client = yield connect(reactor, f"tcp:127.0.0.1:{self.port}", token)
        self.addCleanup(client.disconnect)
        return client

    @inlineCallbacks
    def test_commands(self):
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
    def test_errors(self):
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
    def test_pipelining(self):
        """
        Commands issued without waiting each get their own reply.
        """
        client = yield self.connected()
        results = yield gatherResults(
            [client.on("a"), client.status("a"), client.off("a"), client.status("a")]
        )
        self.assertEqual(results, [None, True, None, False])

    @inlineCallbacks
    def test_oneMessage(self):
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
    def test_oneWordArguments(self):
        """
        A relay name or token that is not one word of printable ASCII
        fails with C{ValueError} before anything is sent, and so does one
        that is not a string: an empty name would switch the default
        relay, and one with spaces would be two arguments.
        """
        client = yield self.connected()
        for name in ("", "  ", "a b", "a\tb", b"a", 3):
            for method in (client.on, client.off, client.toggle, client.status):
                yield self.assertFailure(method(name), ValueError)
            yield self.assertFailure(client.pulse(10, name), ValueError)
            yield self.assertFailure(client.auth(name), ValueError)
        self.assertEqual(len(client.protocol._waiting), 0)
        self.assertIsNone((yield client.ping()))
        self.assertEqual(self.a.history, [])

    @inlineCallbacks
    def test_badTokenClosed(self):
        """
        A token that cannot be sent fails C{connect}, which closes the
        connection it made.
        """
        self.factory.commands.authenticator.token = b"sesame"
        yield self.assertFailure(
            connect(reactor, f"tcp:127.0.0.1:{self.port}", "ses<EOF>ame"), ValueError
        )
        yield closed(self.factory)

    @inlineCallbacks
    def test_sendsAtOnce(self):
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
    def test_watch(self):
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
    def test_auth(self):
        """
        With a token, C{connect} authenticates first; without, commands are
        refused; a wrong token fails.
        """
        self.factory.commands.authenticator.token = b"sesame"
        client = yield self.connected("sesame")
        yield client.on()
        anonymous = yield self.connected()
        yield self.assertFailure(anonymous.on(), AuthenticationRequired)
        yield self.assertFailure(self.connected("wrong"), AuthenticationFailed)

    @inlineCallbacks
    def test_connectionLost(self):
        """
        A lost connection fails every pending Deferred.
        """
        slow = MemoryRelay("slow", asynchronous=True)
        factory = RelayFactory(RelayBank([slow], clock=Clock()))
        port = listen(self, factory)
        client = yield connect(reactor, f"tcp:127.0.0.1:{port}")
        first, second = client.on(), client.ping()
        for connection in list(factory.connections):
            connection.transport.abortConnection()
        yield self.assertFailure(first, ConnectionLost)
        yield self.assertFailure(second, ConnectionLost)
        yield self.assertFailure(client.ping(), ConnectionLost)

    @inlineCallbacks
    def test_tooManyConnections(self):
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

    @inlineCallbacks
    def test_help(self):
        """
        C{help} fires with the verbs the server lists, in its order.
        """
        client = yield self.connected()
        self.assertEqual(
            (yield client.help()),
            [
                "on",
                "off",
                "toggle",
                "pulse",
                "blink",
                "status",
                "relays",
                "watch",
                "auth",
                "ping",
                "help",
                "quit",
            ],
        )

    @inlineCallbacks
    def test_pulseWord(self):
        """
        C{pulse} takes its milliseconds as a word too, sent as it is, for
        the server to check.
        """
        client = yield self.connected()
        yield client.pulse("0500", "b")
        self.assertEqual((yield client.status("b")), True)
        yield self.assertFailure(client.pulse("soon", "b"), BadArgument)
        yield self.assertFailure(client.pulse("5 00", "b"), ValueError)

    @inlineCallbacks
    def test_blink(self):
        """
        C{blink} blinks the relay named, or the default relay; its numbers
        may be words, for the server to check.
        """
        client = yield self.connected()
        yield client.blink(2, 100, 50, "b")
        self.assertEqual((yield client.status("b")), True)
        yield client.blink("3", "0100")
        self.assertEqual((yield client.status()), True)
        yield self.assertFailure(client.blink(0, 100, relay="b"), BadArgument)

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


class ReplyTests(SynchronousTestCase):
    """
    What each method makes of its reply, over a L{StringTransport}.
    """

    def setUp(self) -> None:
        self.transport = StringTransport()
        self.protocol = RelayClientProtocol()
        self.protocol.makeConnection(self.transport)
        self.client = RelayClient(self.protocol)

    def replied(self, sent: Deferred[_T], reply: bytes) -> Deferred[_T]:
        self.protocol.dataReceived(reply + b"<EOF>")
        return sent

    def test_relays(self) -> None:
        """
        C{relays} takes a reply of C{NAME=on}/C{NAME=off} words, one space
        apart, with names a server can have, each once, and nothing else:
        its result gives the reply back exactly.
        """
        for reply, states in [
            (b"a=on", {"a": True}),
            (b"my-pump_1=off x=on", {"my-pump_1": False, "x": True}),
            (b"A" * 32 + b"=on", {"A" * 32: True}),
            (b"a=on A=off", {"a": True, "A": False}),
        ]:
            result = self.successResultOf(self.replied(self.client.relays(), reply))
            self.assertEqual(result, states)
        for reply in (
            b"",
            b"unrecognized command",
            b"a=on ",
            b" a=on",
            b"a=on  b=off",
            b"=on",
            b"a==on",
            b"a=On",
            b"1=on",
            b"A" * 33 + b"=on",
            b"a\tb=on",
            b"a=on a=off",
            b"a=on \xff=off",
        ):
            failure = self.failureResultOf(
                self.replied(self.client.relays(), reply), UnexpectedReply
            )
            self.assertEqual(failure.value.reply, reply.decode("ascii", "replace"))

    def test_help(self) -> None:
        """
        C{help} takes a reply that starts with C{commands: }, and gives
        the words after it, each space separating two; any other reply
        fails with L{UnexpectedReply}, which holds it.
        """
        for reply, verbs in [
            (b"commands: on off ping", ["on", "off", "ping"]),
            (b"commands: ping", ["ping"]),
            (b"commands: ", []),
        ]:
            result = self.successResultOf(self.replied(self.client.help(), reply))
            self.assertEqual(result, verbs)
        for reply in (b"unrecognized command", b"commands:", b"Commands: on", b""):
            failure = self.failureResultOf(
                self.replied(self.client.help(), reply), UnexpectedReply
            )
            self.assertEqual(failure.value.reply, reply.decode("ascii"))
        failure = self.failureResultOf(
            self.replied(self.client.help(), b"error: unknown command"),
            UnknownCommand,
        )
        self.assertEqual(failure.value.reply, "error: unknown command")
        self.assertEqual(self.transport.value(), b"help<EOF>" * 8)
