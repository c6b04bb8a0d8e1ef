"""
Tests for the dead time of interlocks (C{--interlock-delay}).
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
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


class InterlockDelayTests(SynchronousTestCase):
    """
    Switching a relay on after an interlock switched its partner off waits
    the delay first.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.up = MemoryRelay("up")
        self.down = MemoryRelay("down")
        self.lamp = MemoryRelay("lamp")
        self.bank = RelayBank(
            [self.up, self.down, self.lamp],
            interlocks=[["up", "down"]],
            clock=self.clock,
            interlockDelay=0.5,
        )
        self.factory = RelayFactory(self.bank, idleTimeout=0)
        self.protocol, self.transport = connect(self.factory)
        self.other, self.otherTransport = connect(self.factory, port=40001)

    def test_deadTime(self) -> None:
        """
        The partner goes off at once; the relay goes on, and its reply comes,
        only after the delay.
        """
        self.protocol.dataReceived(b"on up<EOF>")
        self.assertEqual(replies(self.transport), [b"success"])
        self.protocol.dataReceived(b"on down<EOF>")
        self.assertEqual((self.up.history, self.down.history), ([True, False], []))
        self.assertEqual(replies(self.transport), [])
        self.clock.advance(0.499)
        self.assertEqual(self.down.history, [])
        self.clock.advance(0.001)
        self.assertEqual(self.down.history, [True])
        self.assertEqual(replies(self.transport), [b"success"])

    def test_noPartnerOn(self) -> None:
        """
        With no partner on, there is nothing to wait for.
        """
        self.protocol.dataReceived(b"on down<EOF>")
        self.assertEqual(self.down.history, [True])
        self.assertEqual(replies(self.transport), [b"success"])

    def test_otherRelaysNotHeldUp(self) -> None:
        """
        A relay outside the group is switched at once during the wait.
        """
        self.protocol.dataReceived(b"on up<EOF>on down<EOF>")
        self.other.dataReceived(b"on lamp<EOF>status lamp<EOF>")
        self.assertEqual(self.lamp.history, [True])
        self.assertEqual(replies(self.otherTransport), [b"success", b"on"])

    def test_laterChangeInOrder(self) -> None:
        """
        A command for the same relay during the wait is applied after it,
        in order; so is one for its partner.
        """
        self.protocol.dataReceived(b"on up<EOF>on down<EOF>")
        self.other.dataReceived(b"off down<EOF>status up<EOF>")
        self.assertEqual(replies(self.otherTransport), [])
        self.clock.advance(0.5)
        self.assertEqual(self.down.history, [True, False])
        self.assertEqual(replies(self.otherTransport), [b"success", b"off"])

    def test_pulseAfterDelay(self) -> None:
        """
        A pulse of the other relay starts timing once it is on, after the
        delay.
        """
        self.protocol.dataReceived(b"on up<EOF>pulse down 200<EOF>")
        self.clock.advance(0.5)
        self.assertEqual(self.down.history, [True])
        self.clock.advance(0.2)
        self.assertEqual(self.down.history, [True, False])

    def test_range(self) -> None:
        """
        A delay below 0 or above 60 seconds is refused.
        """
        for delay in (-0.1, 60.001):
            self.assertRaises(
                ValueError,
                RelayBank,
                [MemoryRelay("a"), MemoryRelay("b")],
                interlocks=[["a", "b"]],
                clock=Clock(),
                interlockDelay=delay,
            )


class InterlockDelayOptionTests(SynchronousTestCase):
    """
    C{--interlock-delay MS}.
    """

    def test_option(self) -> None:
        """
        The delay, in milliseconds, reaches the interlocked relays.
        """
        options = Options()
        options.parseOptions(
            [
                "--gpio", "memory", "--relay", "up:5", "--relay", "down:6",
                "--relay", "lamp:7", "--interlock", "up,down",
                "--interlock-delay", "250",
            ]
        )  # fmt: skip
        service = makeService(options)
        bank = service.factory.bank
        self.assertEqual(bank.relay("up").interlockDelay, 0.25)
        self.assertEqual(bank.relay("lamp").interlockDelay, 0)
        service.pins.release()  # type: ignore[union-attr]

    def test_refused(self) -> None:
        """
        A value that is not an integer from 0 to 60000 is an option error.
        """
        for value in ("-1", "60001", "0.5", "x"):
            options = Options()
            self.assertRaises(
                UsageError,
                options.parseOptions,
                ["--gpio", "memory", "--interlock-delay", value],
            )
