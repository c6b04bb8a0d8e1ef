# -*- test-case-name: tests.test_gpio -*-
"""
Simulated GPIO pins, for development, tests and machines without GPIO.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Optional

from zope.interface import implementer

from eofrelay.gpio import GPIOUnavailable
from eofrelay.interfaces import IPins

#: The pins whose history entries are made once: a simulation switched
#: hundreds of thousands of times a second allocates no tuple per switch.
_PINS = 64
_ENTRIES = tuple(((pin, False), (pin, True)) for pin in range(_PINS))


@implementer(IPins)
class MemoryPins:
    """
    GPIO pins that only exist in memory and record what is done to them.

    Inputs are simulated too: L{press} presses the button on an input pin,
    L{driveInput} sets its level, and whoever watches the pin is told at
    once, as a real backend would tell it after an edge.

    @ivar levels: The logical level of each output set up, by BCM number.
    @ivar activeLow: Each output's active-low setting, by BCM number.
    @ivar outputs: The pins that are outputs, each with its electrical
        level (C{True}: high): those set up here, and those that were
        outputs before (left so by an earlier run), which L{setupKept}
        reads.  C{MemoryPins(earlier.outputs)} is what a restart with
        C{--on-exit keep} finds.
    @ivar inputs: The logical level of each input set up, by BCM number.
    @ivar pulls: Each input's resistor, C{"up"} or C{"down"}.
    @ivar history: The C{(pin, on)} levels driven, setup included (but
        not the set-up of an output whose level L{setupKept} kept), in
        order: the last L{HISTORY} of them at least, and never more than
        twice that, so that a simulation left running for months does not
        grow without bound.
    @ivar released: Whether L{release} has been called.
    """

    description = "simulated (in memory)"
    HISTORY = 10_000

    def __init__(self, outputs: Optional[Mapping[int, bool]] = None) -> None:
        """
        @param outputs: The pins that are outputs already, each with its
            electrical level (C{True}: high); none by default, as on a
            machine that has just booted.
        """
        self.levels: dict[int, bool] = {}
        self.activeLow: dict[int, bool] = {}
        self.outputs: dict[int, bool] = dict(outputs or {})
        self.inputs: dict[int, bool] = {}
        self.pulls: dict[int, str] = {}
        self.history: list[tuple[int, bool]] = []
        self.released = False
        self._watchers: dict[int, Callable[[bool], None]] = {}

    def _claim(self, pin: int) -> None:
        """
        @raise GPIOUnavailable: if C{pin} is already set up, as the
            libgpiod backend does for a line in use.
        """
        if pin in self.levels or pin in self.inputs:
            raise GPIOUnavailable(f"GPIO {pin} is already in use")

    def setup(self, pin: int, activeLow: bool, on: bool) -> None:
        """
        Claim C{pin} as an output driving C{on}.

        @raise GPIOUnavailable: if the pin is already set up.
        """
        self._claim(pin)
        self.activeLow[pin] = activeLow
        self.levels[pin] = on
        self.outputs[pin] = on != activeLow
        self.history.append((pin, on))

    def setupKept(self, pin: int, activeLow: bool) -> Optional[bool]:
        """
        Claim C{pin} as an output that keeps the level it has, if it is in
        L{outputs}; otherwise as an output driving off.

        @return: The logical level read, or C{None} for a pin that was not
            an output.
        @raise GPIOUnavailable: if the pin is already set up.
        """
        self._claim(pin)
        high = self.outputs.get(pin)
        if high is None:
            self.setup(pin, activeLow, False)
            return None
        self.activeLow[pin] = activeLow
        self.levels[pin] = high != activeLow
        return self.levels[pin]

    def write(self, pin: int, on: bool) -> None:
        """
        Drive C{on} on C{pin}.
        """
        try:
            activeLow = self.activeLow[pin]
        except KeyError:
            raise ValueError(f"GPIO {pin} is not set up") from None
        self.levels[pin] = on
        self.outputs[pin] = on != activeLow
        history = self.history
        history.append(_ENTRIES[pin][on] if 0 <= pin < _PINS else (pin, on))
        if len(history) > 2 * self.HISTORY:
            del history[: -self.HISTORY]

    def setupInput(
        self,
        pin: int,
        activeLow: bool,
        pullUp: bool,
        changed: Callable[[bool], None],
    ) -> None:
        """
        Claim C{pin} as an input, inactive (its button released), and call
        C{changed} whenever L{driveInput} or L{press} changes its level.

        @raise GPIOUnavailable: if the pin is already set up.
        """
        self._claim(pin)
        self.inputs[pin] = False
        self.pulls[pin] = "up" if pullUp else "down"
        self._watchers[pin] = changed

    def driveInput(self, pin: int, level: bool) -> None:
        """
        Set the logical level of input C{pin} (C{True}: its button pressed),
        as the outside world would: its watcher is told if it changed, as
        after an edge.

        @raise ValueError: if C{pin} is not an input.
        """
        if pin not in self.inputs:
            raise ValueError(f"GPIO {pin} is not an input")
        if self.inputs[pin] == level:
            return
        self.inputs[pin] = level
        self._watchers[pin](level)

    def press(self, pin: int) -> None:
        """
        Press the button on input C{pin} and let it go: two edges, at once.

        @raise ValueError: if C{pin} is not an input.
        """
        self.driveInput(pin, True)
        self.driveInput(pin, False)

    def releaseInputs(self) -> None:
        """
        Forget every input.
        """
        self.inputs.clear()
        self.pulls.clear()
        self._watchers.clear()

    def release(self) -> None:
        """
        Forget every pin; the outputs set up here are outputs no more.
        """
        self.releaseInputs()
        for pin in self.levels:
            self.outputs.pop(pin, None)
        self.levels.clear()
        self.activeLow.clear()
        self.released = True
