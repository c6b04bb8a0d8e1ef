"""
Tests for L{eofrelay.core.bank} and L{eofrelay.core.checks}: relays driven
without any server.
"""

from __future__ import annotations

from collections.abc import Mapping

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.bank import RelayBank
from eofrelay.core.checks import checkInterlocks, checkRelayNames
from eofrelay.core.relay import HardwareFailure, RelayState
from eofrelay.core.statefile import StateFile
from eofrelay.testing import MemoryRelay


class RecordingStateFile(StateFile):
    """
    A state file that records what it is asked to save, and when.
    """

    def __init__(self, order: list[str]) -> None:
        super().__init__("unused")
        self.order = order
        self.saved: list[dict[str, bool]] = []

    def save(self, states: Mapping[str, bool]) -> None:
        self.order.append("file")
        self.saved.append(dict(states))


class BankTests(SynchronousTestCase):
    """
    A L{RelayBank} is all an application needs to switch relays: no
    factory, no protocol, no transport.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.a, self.b, self.c = MemoryRelay("a"), MemoryRelay("b"), MemoryRelay("c")
        self.bank = RelayBank(
            [self.a, self.b, self.c], interlocks=[["a", "b"]], clock=self.clock
        )

    def test_lookup(self) -> None:
        """
        Relays keep their configured order, are found case-insensitively,
        and the first is the default.
        """
        self.assertEqual([r.name for r in self.bank.relays], ["a", "b", "c"])
        self.assertIs(self.bank.relay(), self.bank.relays[0])
        self.assertIs(self.bank.relay("B"), self.bank.relays[1])
        self.assertRaises(KeyError, self.bank.relay, "nope")

    def test_switchWithoutServer(self) -> None:
        """
        Switching a relay of the bank drives its driver, applies interlocks
        and pulses, and tells the bank's listeners, who made the change
        included.
        """
        changes: list[tuple[str, bool, bool]] = []
        self.bank.addListener(
            lambda relay, old, new: changes.append((relay.name, old, new))
        )
        self.assertIs(self.bank.relay("a").switch(True, "app", "on"), True)
        self.assertIs(self.bank.relay("b").pulse(500, "app", "pulse 500"), True)
        self.clock.advance(0.5)
        self.assertEqual(
            (self.a.history, self.b.history), ([True, False], [True, False])
        )
        self.assertEqual(
            changes,
            [
                ("a", False, True),
                ("a", True, False),
                ("b", False, True),
                ("b", True, False),
            ],
        )

    def test_switchAll(self) -> None:
        """
        L{RelayBank.switchAll} switches every relay off; switching every
        relay on is refused while interlocks are configured.
        """
        self.bank.relay("a").switch(True)
        self.bank.relay("c").switch(True)
        switched = self.bank.switchAll(False, "app", "off all")
        self.assertIs(self.successResultOf(switched), False)
        self.assertEqual([r.isOn for r in self.bank.relays], [False, False, False])
        self.assertRaises(ValueError, self.bank.switchAll, True, "app", "on all")
        free = RelayBank([MemoryRelay("x"), MemoryRelay("y")], clock=self.clock)
        self.assertIs(self.successResultOf(free.switchAll(True, "app", "on all")), True)
        self.assertEqual([r.isOn for r in free.relays], [True, True])

    def test_switchAllFailure(self) -> None:
        """
        When one relay fails, L{RelayBank.switchAll} fails with a
        L{HardwareFailure} once every relay has answered; the others are
        switched.
        """
        self.b.failWith = OSError("gone")
        self.bank.relay("a").switch(True)
        self.failureResultOf(
            self.bank.switchAll(False, "app", "off all"), HardwareFailure
        )
        self.assertEqual(self.a.history, [True, False])
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)

    def test_stateFile(self) -> None:
        """
        Every change, whoever made it, is given to the bank's state file
        before the listeners are told.
        """
        order: list[str] = []
        stateFile = RecordingStateFile(order)
        bank = RelayBank([MemoryRelay("a")], clock=self.clock, stateFile=stateFile)
        bank.addListener(lambda relay, old, new: order.append("listener"))
        bank.relay().switch(True)
        self.assertEqual(stateFile.saved, [{"a": True}])
        self.assertEqual(order, ["file", "listener"])

    def test_uncertainAtStart(self) -> None:
        """
        A driver whose state is not a plain boolean at start is taken to be
        off, and uncertain.
        """
        later = MemoryRelay("later")
        later.state = lambda: Deferred()  # type: ignore[method-assign, return-value, assignment]
        bank = RelayBank([later], clock=self.clock)
        relay: RelayState = bank.relay()
        self.assertEqual((relay.isOn, relay.uncertain), (False, True))


class CheckTests(SynchronousTestCase):
    """
    The checks of names and interlock groups that both L{RelayBank} and
    C{twistd eofrelay}'s options use.
    """

    def test_names(self) -> None:
        """
        Names are lower-cased; none, a bad one, C{all} or one twice (in any
        case) are refused with a message saying why.
        """
        self.assertEqual(checkRelayNames(["Pump", "door"]), ["pump", "door"])
        for names, why in (
            ([], "at least one"),
            (["1x"], "bad relay name"),
            (["ALL"], "reserved"),
            (["a", "A"], "configured twice"),
        ):
            with self.assertRaises(ValueError) as raised:
                checkRelayNames(names)
            self.assertIn(why, str(raised.exception))

    def test_interlocks(self) -> None:
        """
        Groups are lower-cased; an unknown name, a name twice, fewer than
        two names, or a string instead of a list are refused.
        """
        names = ["a", "b", "c"]
        self.assertEqual(checkInterlocks([["A", "b"]], names), [["a", "b"]])
        for group, why in (
            (["a", "x"], "no relay named 'x'"),
            (["a", "A"], "named twice"),
            (["a"], "at least two"),
            ("ab", "not a string"),
        ):
            with self.assertRaises(ValueError) as raised:
                checkInterlocks([group], names)
            self.assertIn(why, str(raised.exception))
