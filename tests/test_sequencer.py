"""
Tests for L{eofrelay.core.sequencer} and L{eofrelay.core.results}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.results import then
from eofrelay.core.sequencer import Sequencer


class SequencerTests(SynchronousTestCase):
    """
    Operations run one at a time, in submission order.
    """

    def test_runNowWhenIdle(self) -> None:
        """
        With nothing queued, L{Sequencer.runNow} calls the operation with
        its arguments at once and returns its plain result; an exception
        propagates, and the sequencer is idle again either way.
        """
        sequencer = Sequencer()
        self.assertEqual(sequencer.runNow(lambda a, b: a + b, 2, 3), 5)
        self.assertTrue(sequencer.idle)

        def fails() -> None:
            raise ValueError("no")

        self.assertRaises(ValueError, sequencer.runNow, fails)
        self.assertTrue(sequencer.idle)

    def test_runNowOr(self) -> None:
        """
        L{Sequencer.runNowOr} runs its first operation at once when nothing
        is queued or in progress, and queues its second otherwise, with the
        same arguments.
        """
        sequencer = Sequencer()
        calls: list[tuple[str, int]] = []

        def now(value: int) -> int:
            calls.append(("now", value))
            return value

        def queued(value: int) -> int:
            calls.append(("queued", value))
            return value

        self.assertEqual(sequencer.runNowOr(now, queued, 1), 1)
        waited: Any = Deferred()
        sequencer.runNow(lambda: waited)
        result = sequencer.runNowOr(now, queued, 2)
        self.assertEqual(calls, [("now", 1)])
        waited.callback(0)
        assert isinstance(result, Deferred)
        self.assertEqual(self.successResultOf(result), 2)
        self.assertEqual(calls, [("now", 1), ("queued", 2)])
        self.assertTrue(sequencer.idle)

    def test_waitsForDeferred(self) -> None:
        """
        Operations submitted while one waits for its Deferred run after it,
        in order, with their arguments; each gets its own result, and a
        failing one fails only its own Deferred.
        """
        sequencer = Sequencer()
        ran: list[object] = []
        first: Any = Deferred()

        def record(value: object) -> object:
            ran.append(value)
            return value

        def fails() -> None:
            raise ValueError("no")

        waiting: Any = sequencer.runNow(lambda: first)
        second = sequencer.runNow(record, "second")
        failing = sequencer.run(fails)
        third = sequencer.run(record, "third")
        assert isinstance(waiting, Deferred) and isinstance(second, Deferred)
        self.assertEqual(ran, [])
        self.assertFalse(sequencer.idle)
        first.callback("first")
        self.assertEqual(ran, ["second", "third"])
        self.assertEqual(self.successResultOf(waiting), "first")
        self.assertEqual(self.successResultOf(second), "second")
        self.failureResultOf(failing, ValueError)
        self.assertEqual(self.successResultOf(third), "third")
        self.assertTrue(sequencer.idle)

    def test_reentrant(self) -> None:
        """
        An operation submitted by a running operation runs after it.
        """
        sequencer = Sequencer()
        ran: list[str] = []
        inner: list[object] = []

        def outer() -> str:
            inner.append(sequencer.runNow(ran.append, "inner"))
            ran.append("outer")
            return "outer"

        self.assertEqual(sequencer.runNow(outer), "outer")
        self.assertEqual(ran, ["outer", "inner"])
        self.assertIsNone(self.successResultOf(inner[0]))  # type: ignore[arg-type]

    def test_then(self) -> None:
        """
        L{then} applies a function now to a plain result, later to a
        Deferred's.
        """
        self.assertEqual(then(2, lambda x: x * 10), 20)
        later: Any = Deferred()
        result = then(later, lambda x: x * 10)
        later.callback(3)
        self.assertEqual(self.successResultOf(result), 30)
