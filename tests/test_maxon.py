"""
Tests for the max-on limit of a relay (L{RelayState.limitOn}, C{--max-on}).
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.bank import RelayBank
from eofrelay.tap import Options, makeService
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay, connect


def replies(transport: StringTransport) -> list[bytes]:
    data: bytes = transport.value()
    transport.clear()
    return data.split(b"<EOF>")[:-1]


class MaxOnTests(SynchronousTestCase):
    """
    A relay with a max-on limit goes off at most that long after it went
    on, however it went on.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.a = MemoryRelay("a")
        self.b = MemoryRelay("b")
        self.bank = RelayBank(
            [self.a, self.b], interlocks=[["a", "b"]], clock=self.clock, maxOn={"A": 30}
        )
        self.factory = RelayFactory(self.bank, idleTimeout=0)
        self.protocol, self.transport = connect(self.factory)
        self.watcher, self.watching = connect(self.factory, port=40001)
        self.watcher.dataReceived(b"watch<EOF>")
        replies(self.watching)

    def test_on(self) -> None:
        """
        C{on} is limited: the relay goes off SECONDS later, logged with the
        reason, an event like any change; repeating C{on} does not extend
        the limit.
        """
        with capturedLogs() as events:
            self.protocol.dataReceived(b"on<EOF>")
            self.clock.advance(20)
            self.protocol.dataReceived(b"on<EOF>")
            self.clock.advance(9.999)
            self.assertEqual(self.a.history, [True, True])
            self.clock.advance(0.001)
        self.assertEqual(self.a.history, [True, True, False])
        self.assertEqual(replies(self.watching), [b"event: a on", b"event: a off"])
        self.assertIn(
            "relay a switched off (was on) by max-on: max-on 30s",
            [formatEvent(event) for event in events],
        )
        self.assertFalse(self.bank.relay("a").limited)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_offCancels(self) -> None:
        """
        Switching the relay off ends the limit; the next on starts it anew.
        """
        self.protocol.dataReceived(b"on<EOF>")
        self.clock.advance(10)
        self.protocol.dataReceived(b"off<EOF>")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.protocol.dataReceived(b"toggle<EOF>")
        self.clock.advance(29)
        self.assertEqual(self.a.history, [True, False, True])
        self.clock.advance(1)
        self.assertEqual(self.a.history, [True, False, True, False])

    def test_pulseCutShort(self) -> None:
        """
        A pulse longer than the limit is cut short at the limit; a shorter
        one ends as it would.
        """
        self.protocol.dataReceived(b"pulse a 60000<EOF>")
        self.clock.advance(30)
        self.assertEqual(self.a.history, [True, False])
        self.assertFalse(self.bank.relay("a").pulsing)
        self.protocol.dataReceived(b"pulse a 500<EOF>")
        self.clock.advance(0.5)
        self.assertEqual(self.a.history, [True, False, True, False])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_interlockPartnerOff(self) -> None:
        """
        A relay switched off by its interlock partner ends its limit.
        """
        self.protocol.dataReceived(b"on a<EOF>on b<EOF>")
        self.assertEqual(self.a.history, [True, False])
        self.assertFalse(self.bank.relay("a").limited)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_onAtStart(self) -> None:
        """
        A relay already on when the limit is set (restored at start) goes
        off SECONDS from then.
        """
        relay = MemoryRelay("pump")
        relay.on = True
        clock = Clock()
        RelayBank([relay], clock=clock, maxOn={"pump": 5})
        clock.advance(5)
        self.assertEqual(relay.history, [False])

    def test_stateFileRecordsOff(self) -> None:
        """
        A relay on under its limit counts as commanded off, the state its
        limit ends in, as one in the middle of a pulse does.
        """
        self.protocol.dataReceived(b"on<EOF>")
        self.assertEqual(self.bank.commandedStates(), {"a": False, "b": False})
        self.protocol.dataReceived(b"on b<EOF>")
        self.assertEqual(self.bank.commandedStates(), {"a": False, "b": True})

    def test_failureLoud(self) -> None:
        """
        A switch-off at the limit that fails is logged as critical; the
        relay is reported on.
        """
        self.protocol.dataReceived(b"on<EOF>")
        self.a.failWith = OSError("stuck")
        with capturedLogs() as events:
            self.clock.advance(30)
        self.assertIn(
            "relay a could NOT be switched off at the end of its max-on limit "
            "and is still on",
            [formatEvent(event) for event in events],
        )
        self.assertTrue(self.bank.relay("a").isOn)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)

    def test_badLimits(self) -> None:
        """
        A limit for an unknown relay, or out of 0.1 to 86400 seconds, is
        refused.
        """
        for maxOn in ({"c": 1}, {"a": 0.05}, {"a": 86401}):
            self.assertRaises(
                ValueError, RelayBank, [MemoryRelay("a")], clock=Clock(), maxOn=maxOn
            )


class MaxOnOptionTests(SynchronousTestCase):
    """
    C{--max-on NAME:SECONDS}.
    """

    def parse(self, *arguments: str) -> Options:
        options = Options()
        options.parseOptions(["--gpio", "memory", *arguments])
        return options

    def test_option(self) -> None:
        """
        The limits reach the bank of the service.
        """
        options = self.parse(
            "--relay", "pump:17", "--relay", "valve:18", "--max-on", "pump:0.5"
        )
        self.assertEqual(options["max-on"], {"pump": 0.5})
        service = makeService(options)
        self.assertEqual(service.factory.bank.relay("pump").maxOn, 0.5)
        self.assertIsNone(service.factory.bank.relay("valve").maxOn)
        service.pins.release()  # type: ignore[union-attr]

    def test_refused(self) -> None:
        """
        An unknown relay name, a value that is not a number of seconds in
        range, or no colon, is an option error.
        """
        for spec, reason in (
            ("pump:5", "no relay named 'pump'"),
            ("relay:0", "expected a number of seconds from 0.1 to 86400"),
            ("relay:x", "expected a number of seconds"),
            ("relay", "expected NAME:SECONDS"),
        ):
            with self.assertRaises(UsageError) as raised:
                self.parse("--max-on", spec)
            self.assertIn(reason, str(raised.exception))
