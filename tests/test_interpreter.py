"""
Tests for L{eofrelay.commands.interpreter}, L{eofrelay.commands.parsing}
and L{eofrelay.commands.access.Authenticator}: commands executed without any
transport.
"""

from __future__ import annotations

from typing import Optional

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from eofrelay.commands.interpreter import VERBS, CommandInterpreter, Reply
from eofrelay.commands.parsing import Command, CommandError, parseMessage
from eofrelay.commands.session import ISession
from eofrelay.core.bank import RelayBank
from eofrelay.tcp.protocol import RelayProtocol
from eofrelay.testing import MemoryRelay
from eofrelay.wire import replies


@implementer(ISession)
class RecordingSession:
    """
    A session that records what the command layer asks of it.
    """

    def __init__(self, peer: str = "test", host: Optional[str] = "10.0.0.1") -> None:
        self.peer = peer
        self.host = host
        self.authenticated = True
        self.watching = False
        self.closed = False

    def watch(self) -> None:
        self.watching = True

    def close(self) -> None:
        self.closed = True


class InterpreterTests(SynchronousTestCase):
    """
    One message in, one reply out, with the protocol's error texts.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.a, self.b = MemoryRelay("a"), MemoryRelay("b")
        self.bank = RelayBank([self.a, self.b], clock=self.clock)
        self.commands = CommandInterpreter(self.bank)
        self.session = RecordingSession()

    def execute(self, message: bytes) -> Reply:
        return self.commands.execute(self.session, message)

    def reply(self, message: bytes) -> bytes:
        """
        The reply to C{message}, which must be known by now.
        """
        reply = self.execute(message)
        if isinstance(reply, Deferred):
            return self.successResultOf(reply)
        return reply

    def test_sessions(self) -> None:
        """
        The test's session and the TCP protocol both provide L{ISession}.
        """
        self.assertTrue(verifyObject(ISession, self.session))
        self.assertTrue(ISession.implementedBy(RelayProtocol))

    def test_replies(self) -> None:
        """
        Every verb gets its reply, and changes the bank as it says.
        """
        self.assertEqual(self.reply(b"on"), replies.SUCCESS)
        self.assertEqual(self.reply(b"toggle b"), replies.SUCCESS)
        self.assertEqual(self.reply(b"status B"), replies.ON)
        self.assertEqual(self.reply(b"relays"), b"a=on b=on")
        self.assertEqual(self.reply(b"off all"), replies.SUCCESS)
        self.assertEqual(self.reply(b"relays"), b"a=off b=off")
        self.assertEqual(self.reply(b"pulse a 10"), replies.SUCCESS)
        self.clock.advance(0.01)
        self.assertEqual(self.a.history, [True, False, True, False])
        self.assertEqual(self.reply(b"ping"), replies.PONG)
        self.assertEqual(
            self.reply(b"help"), b"commands: " + " ".join(VERBS).encode("ascii")
        )

    def test_errors(self) -> None:
        """
        Messages that cannot be executed get the error of the protocol
        reference.
        """
        for message, reply in (
            (b"dance", replies.UNKNOWN_COMMAND),
            (b" \t", replies.EMPTY_COMMAND),
            (b"on \xff", replies.BAD_ENCODING),
            (b"on c", replies.UNKNOWN_RELAY),
            (b"on a b", replies.BAD_ARGUMENT),
            (b"toggle all", replies.BAD_ARGUMENT),
            (b"pulse a 0", replies.BAD_ARGUMENT),
            (b"pulse 86400001", replies.BAD_ARGUMENT),
            (b"ping now", replies.BAD_ARGUMENT),
        ):
            self.assertEqual(self.execute(message), reply, message)
        self.assertEqual(self.a.history + self.b.history, [])

    def test_sessionEffects(self) -> None:
        """
        C{watch} and C{quit} ask the session to watch and to close.
        """
        self.assertEqual(self.execute(b"watch"), replies.SUCCESS)
        self.assertTrue(self.session.watching)
        self.assertFalse(self.session.closed)
        self.assertEqual(self.execute(b"quit"), replies.BYE)
        self.assertTrue(self.session.closed)

    def test_asynchronous(self) -> None:
        """
        A relay that answers later gets a Deferred reply, counted when it
        fires; one that fails gets C{error: hardware failure}, never a
        failed Deferred.
        """
        self.a.asynchronous = True
        reply = self.execute(b"on")
        assert isinstance(reply, Deferred)
        self.assertNoResult(reply)
        self.a.pending[0][0].callback(None)
        self.assertEqual(self.successResultOf(reply), replies.SUCCESS)
        failing = self.execute(b"off")
        assert isinstance(failing, Deferred)
        self.a.pending[0][0].errback(OSError("gone"))
        self.assertEqual(self.successResultOf(failing), replies.HARDWARE_FAILURE)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.assertEqual(self.commands.commandCounts["on", "ok"], 1)
        self.assertEqual(self.commands.commandCounts["off", "hardware failure"], 1)

    def test_counts(self) -> None:
        """
        Replies are counted by verb and result; messages without a known
        verb count as C{invalid}.
        """
        for message in (b"on", b"on", b"on nope", b"dance", b""):
            self.execute(message)
        self.assertEqual(
            dict(self.commands.commandCounts),
            {
                ("on", "ok"): 2,
                ("on", "unknown relay"): 1,
                ("invalid", "unknown command"): 1,
                ("invalid", "empty command"): 1,
            },
        )


class AuthenticationTests(SynchronousTestCase):
    """
    With a token, only C{auth}, C{ping}, C{help} and C{quit} are accepted
    until C{auth} succeeds.
    """

    def setUp(self) -> None:
        self.relay = MemoryRelay("a")
        self.commands = CommandInterpreter(
            RelayBank([self.relay], clock=Clock()), token=b"sesame"
        )
        self.session = RecordingSession()
        self.session.authenticated = False

    def execute(self, message: bytes) -> Reply:
        return self.commands.execute(self.session, message)

    def test_gated(self) -> None:
        """
        Before C{auth}, other verbs get C{error: authentication required}
        whatever their arguments; messages with no verb the server knows
        get their own error.
        """
        self.assertEqual(self.execute(b"on"), replies.AUTHENTICATION_REQUIRED)
        self.assertEqual(self.execute(b"on nope"), replies.AUTHENTICATION_REQUIRED)
        self.assertEqual(self.execute(b"dance"), replies.UNKNOWN_COMMAND)
        self.assertEqual(self.execute(b"ping"), replies.PONG)
        self.assertEqual(self.execute(b"auth sesame"), replies.SUCCESS)
        self.assertTrue(self.session.authenticated)
        self.assertEqual(self.execute(b"on"), replies.SUCCESS)
        self.assertEqual(self.relay.history, [True])

    def test_wrongToken(self) -> None:
        """
        A wrong token closes the session.
        """
        self.assertEqual(self.execute(b"auth nope"), replies.AUTHENTICATION_FAILED)
        self.assertTrue(self.session.closed)
        self.assertFalse(self.session.authenticated)

    def test_badToken(self) -> None:
        """
        A token that C{auth} could not carry is refused when the
        interpreter is made.
        """
        bank = RelayBank([MemoryRelay()], clock=Clock())
        for token in (b"two words", b"", b"a<EOF>", "text"):
            self.assertRaises(ValueError, CommandInterpreter, bank, token)


class ParsingTests(SynchronousTestCase):
    """
    Tests for L{parseMessage}.
    """

    def test_words(self) -> None:
        """
        The verb is lower-cased, the arguments kept as sent, whitespace
        around and between words ignored.
        """
        self.assertEqual(
            parseMessage(b" PULSE\tPump  500\r\n"), Command("pulse", ("Pump", "500"))
        )

    def test_errors(self) -> None:
        """
        Nothing but whitespace, and anything not ASCII, are errors.
        """
        for message, reply in (
            (b" \r\n", replies.EMPTY_COMMAND),
            (b"on \xe9", replies.BAD_ENCODING),
        ):
            with self.assertRaises(CommandError) as raised:
                parseMessage(message)
            self.assertEqual(raised.exception.reply, reply)
