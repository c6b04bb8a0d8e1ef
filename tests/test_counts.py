"""
Tests for L{eofrelay.commands.counts}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from eofrelay.commands.counts import CommandCounts


class CommandCountsTests(SynchronousTestCase):
    """
    Tests for L{CommandCounts}.
    """

    def test_mapping(self) -> None:
        """
        The counts read as a mapping of C{(verb, result)} to a count,
        holding only what happened, successes counted through their cells
        as by L{CommandCounts.count}.
        """
        counts = CommandCounts()
        counts.count("on", "ok")
        counts.successes("on")[0] += 2
        counts.count("on", "unknown relay")
        counts.successes("off")
        self.assertEqual(counts, {("on", "ok"): 3, ("on", "unknown relay"): 1})
        self.assertEqual(counts["on", "ok"], 3)
        self.assertEqual(len(counts), 2)
        self.assertNotIn(("off", "ok"), counts)
        self.assertRaises(KeyError, lambda: counts["off", "ok"])
        self.assertRaises(KeyError, lambda: counts["off", "bad argument"])
        self.assertIsNone(counts.get("on"))  # type: ignore[call-overload]
        self.assertNotIn("x", counts)
        self.assertEqual(
            repr(counts), "CommandCounts({('on', 'ok'): 3, ('on', 'unknown relay'): 1})"
        )

    def test_oneCellAVerb(self) -> None:
        """
        A verb's successes have one cell, whoever asks for it.
        """
        counts = CommandCounts()
        self.assertIs(counts.successes("on"), counts.successes("on"))
        self.assertIsNot(counts.successes("on"), counts.successes("off"))
