# -*- test-case-name: tests.test_gpio -*-
"""
Simulated GPIO pins, for development, tests and machines without GPIO.
"""

from __future__ import annotations

from zope.interface import implementer

from eofrelay.gpio import GPIOUnavailable
from eofrelay.interfaces import IPins


@implementer(IPins)
class MemoryPins:
    """
    GPIO pins that only exist in memory and record what is done to them.

    @ivar levels: The logical level of each pin set up, by BCM number.
    @ivar activeLow: Each pin's active-low setting, by BCM number.
    @ivar history: The C{(pin, on)} levels driven, setup included, in
        order: the last L{HISTORY} of them at least, and never more than
        twice that, so that a simulation left running for months does not
        grow without bound.
    @ivar released: Whether L{release} has been called.
    """

    description = "simulated (in memory)"
    HISTORY = 10_000

    def __init__(self) -> None:
        self.levels: dict[int, bool] = {}
        self.activeLow: dict[int, bool] = {}
        self.history: list[tuple[int, bool]] = []
        self.released = False

    def setup(self, pin: int, activeLow: bool, on: bool) -> None:
        """
        Claim C{pin} as an output driving C{on}.

        @raise GPIOUnavailable: if the pin is already set up, as the
            libgpiod backend does for a line in use.
        """
        if pin in self.levels:
            raise GPIOUnavailable(f"GPIO {pin} is already in use")
        self.activeLow[pin] = activeLow
        self.levels[pin] = on
        self.history.append((pin, on))

    def write(self, pin: int, on: bool) -> None:
        """
        Drive C{on} on C{pin}.
        """
        if pin not in self.levels:
            raise ValueError(f"GPIO {pin} is not set up")
        self.levels[pin] = on
        history = self.history
        history.append((pin, on))
        if len(history) > 2 * self.HISTORY:
            del history[: -self.HISTORY]

    def release(self) -> None:
        """
        Forget every pin.
        """
        self.levels.clear()
        self.activeLow.clear()
        self.released = True
