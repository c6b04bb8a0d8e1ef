"""
A hypothesis state machine over the timed behaviours of the relay core:
pulses, blinks, the max-on limit and interlocks, in any order, with the
clock advancing.  Whatever the commands, a limited relay is never on for
longer than its limit, a blink left alone ends in the state it started
from, and once the clock has run on, nothing is left pending.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.bank import RelayBank
from eofrelay.core.relay import RelayState
from eofrelay.testing import MemoryRelay

#: The max-on limit of relay C{a}, in seconds.
LIMIT = 3.0

relays = st.sampled_from(["a", "b", "c"])
milliseconds = st.sampled_from([1, 40, 250, 1000, 2999, 5000])


class TimedRelays(RuleBasedStateMachine):
    """
    Relays C{a} (limited to L{LIMIT} seconds on) and C{b}, interlocked, and
    C{c} alone, driven by commands at random moments.
    """

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.bank = RelayBank(
            [MemoryRelay("a"), MemoryRelay("b"), MemoryRelay("c")],
            interlocks=[["a", "b"]],
            clock=self.clock,
            maxOn={"a": LIMIT},
        )
        #: When each relay last went from off to on.
        self.onSince: dict[str, float] = {}
        #: The blink left alone so far: relay, the state it ends in.
        self.blinks: dict[str, bool] = {}
        self.bank.addListener(self.changed)

    def changed(self, relay: RelayState, old: bool, new: bool) -> None:
        if new:
            self.onSince[relay.name] = self.clock.seconds()
        else:
            self.onSince.pop(relay.name, None)

    def touched(self, name: str) -> None:
        """
        A command changed relay C{name}: any blink of it, or of its
        interlock partner switched on, is no longer left alone.
        """
        self.blinks.pop(name, None)

    @rule(name=relays)
    def on(self, name: str) -> None:
        self.touched(name)
        if name in ("a", "b"):
            self.blinks.pop("b" if name == "a" else "a", None)
        self.bank.relay(name).switch(True, "test", "on")

    @rule(name=relays)
    def off(self, name: str) -> None:
        self.touched(name)
        self.bank.relay(name).switch(False, "test", "off")

    @rule(name=relays)
    def toggle(self, name: str) -> None:
        self.touched(name)
        relay = self.bank.relay(name)
        if not relay.isOn and name in ("a", "b"):
            self.blinks.pop("b" if name == "a" else "a", None)
        relay.toggle("test")

    @rule(name=relays, length=milliseconds)
    def pulse(self, name: str, length: int) -> None:
        self.touched(name)
        if name in ("a", "b"):
            self.blinks.pop("b" if name == "a" else "a", None)
        self.bank.relay(name).pulse(length, "test")

    @rule(name=relays, count=st.integers(1, 3), on=milliseconds, off=milliseconds)
    def blink(self, name: str, count: int, on: int, off: int) -> None:
        relay = self.bank.relay(name)
        before = self.blinks.get(name, relay.commanded)
        if name in ("a", "b"):
            self.blinks.pop("b" if name == "a" else "a", None)
        relay.blink(count, on, off, "test")
        # A blink whose on time outlasts the limit is cut short by it.
        if not (name == "a" and on / 1000 >= LIMIT):
            self.blinks[name] = before
        else:
            self.blinks.pop(name, None)

    @rule(seconds=st.sampled_from([0.001, 0.04, 0.25, 1.0, 2.999, 3.0, 10.0]))
    def advance(self, seconds: float) -> None:
        # As a reactor would: in steps no longer than the shortest time.
        for _ in range(round(seconds / 0.001) if seconds < 0.01 else 0):
            self.clock.advance(0.001)
        if seconds >= 0.01:
            steps = round(seconds / 0.001)
            for _ in range(steps // 40):
                self.clock.advance(0.04)
            self.clock.advance(round(seconds - (steps // 40) * 0.04, 6))
        for name, before in list(self.blinks.items()):
            if not self.bank.relay(name).blinking:
                # Ended by itself: back to where it started.
                self.blinks.pop(name)
                assert self.bank.relay(name).isOn == before, (name, before)

    @invariant()
    def limited(self) -> None:
        since = self.onSince.get("a")
        if since is not None:
            assert self.clock.seconds() - since <= LIMIT + 1e-9

    @invariant()
    def interlocked(self) -> None:
        assert not (self.bank.relay("a").isOn and self.bank.relay("b").isOn)

    def teardown(self) -> None:
        # Long enough for any blink (3 cycles of 5 + 5 s) and pulse to end,
        # in steps: each step of a blink is timed from the one before.
        for _ in range(400):
            if not self.clock.getDelayedCalls():
                break
            self.clock.advance(0.5)
        assert self.clock.getDelayedCalls() == []
        assert not self.bank.relay("a").isOn


class TimedPropertyTests(SynchronousTestCase):
    """
    L{TimedRelays}.
    """

    def test_machine(self) -> None:
        """
        Every run of the machine keeps its invariants.
        """
        from hypothesis.stateful import run_state_machine_as_test

        run_state_machine_as_test(
            TimedRelays,
            settings=settings(
                max_examples=150,
                stateful_step_count=30,
                deadline=None,
                derandomize=True,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
