# -*- test-case-name: tests.test_gpio -*-
"""
GPIO through the RPi.GPIO library, on Raspberry Pi models up to the Pi 4.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any, Optional, cast

from twisted.internet.interfaces import IReactorThreads
from zope.interface import implementer

from eofrelay.gpio import GPIOUnavailable
from eofrelay.interfaces import IPins


def importRPiGPIO() -> ModuleType:
    """
    Import C{RPi.GPIO}.

    @raise GPIOUnavailable: if it is not installed or cannot run here
        (off a Raspberry Pi, or on a Pi 5, it raises C{RuntimeError} when
        imported).
    """
    try:
        import RPi.GPIO
    except ImportError as error:
        raise GPIOUnavailable(
            f"RPi.GPIO is not installed ({error}); on a Raspberry Pi, "
            "pip install RPi.GPIO (or use --gpio gpiod); elsewhere, "
            "--gpio memory simulates the relays"
        ) from None
    except RuntimeError as error:
        raise GPIOUnavailable(f"RPi.GPIO cannot run here: {error}") from None
    module: ModuleType = RPi.GPIO
    return module


@implementer(IPins)
class RPiGPIOPins:
    """
    Pins driven and watched through RPi.GPIO, with BCM numbering.

    Each output is set up with its initial level already right (so an
    active-low board does not click while the service starts); levels are
    inverted for active-low pins.  Each input's edges are detected by
    RPi.GPIO's own thread, whose callback hands them to the reactor with
    C{callFromThread}.  L{release} cleans up only the pins set up here,
    leaving any other pin of the process alone.
    """

    description = "RPi.GPIO"

    def __init__(
        self, gpio: Optional[Any] = None, reactor: Optional[IReactorThreads] = None
    ) -> None:
        """
        @param gpio: The C{RPi.GPIO} module, or an object that behaves like
            it (for tests); imported when not given.
        @param reactor: The reactor that edges are handed to; the global
            one by default.
        @raise GPIOUnavailable: if RPi.GPIO cannot be used here.
        """
        if gpio is None:
            gpio = importRPiGPIO()
        self._gpio = gpio
        self._reactor = reactor
        self._activeLow: dict[int, bool] = {}
        self._inputs: dict[int, tuple[bool, Callable[[bool], None]]] = {}
        try:
            gpio.setmode(gpio.BCM)
        except (RuntimeError, ValueError) as error:
            raise GPIOUnavailable(f"RPi.GPIO cannot run here: {error}") from None

    def _level(self, pin: int, on: bool) -> Any:
        """
        The electrical level that means C{on} for C{pin}.
        """
        high = on != self._activeLow[pin]
        return self._gpio.HIGH if high else self._gpio.LOW

    def setup(self, pin: int, activeLow: bool, on: bool) -> None:
        """
        Make C{pin} an output whose first level is already C{on}.

        @raise GPIOUnavailable: if RPi.GPIO refuses, e.g. without access to
            C{/dev/gpiomem}.
        """
        self._activeLow[pin] = activeLow
        try:
            self._gpio.setup(pin, self._gpio.OUT, initial=self._level(pin, on))
        except (RuntimeError, ValueError) as error:
            del self._activeLow[pin]
            raise self._cannot(pin, error) from None

    def setupKept(self, pin: int, activeLow: bool) -> Optional[bool]:
        """
        Make C{pin} an output that keeps the level it has, if its function
        is output already; otherwise an output already driving off.

        RPi.GPIO reads no pin that this process has not set up (C{input}
        raises C{RuntimeError}), so an output is first set up as one
        without C{initial}, which writes no level (the pin goes on driving
        its latch), and then read.

        @return: The logical level read, or C{None} for a pin that was not
            an output.
        @raise GPIOUnavailable: if RPi.GPIO refuses.
        """
        gpio = self._gpio
        try:
            function = gpio.gpio_function(pin)
        except (RuntimeError, ValueError) as error:
            raise self._cannot(pin, error) from None
        if function != gpio.OUT:
            self.setup(pin, activeLow, False)
            return None
        self._activeLow[pin] = activeLow
        try:
            with warnings.catch_warnings():
                # "This channel is already in use": an output this process
                # did not set up, which is what keeping it means.
                warnings.simplefilter("ignore", RuntimeWarning)
                gpio.setup(pin, gpio.OUT)
            level = gpio.input(pin)
        except (RuntimeError, ValueError) as error:
            del self._activeLow[pin]
            raise self._cannot(pin, error) from None
        return bool(level == gpio.HIGH) != activeLow

    @staticmethod
    def _cannot(pin: int, error: Exception) -> GPIOUnavailable:
        """
        The error for a pin that RPi.GPIO refuses to set up.
        """
        return GPIOUnavailable(
            f"RPi.GPIO cannot set up GPIO {pin}: {error} (is this user in "
            "the 'gpio' group?)"
        )

    def write(self, pin: int, on: bool) -> None:
        """
        Drive C{on} on C{pin}.
        """
        self._gpio.output(pin, self._level(pin, on))

    def setupInput(
        self,
        pin: int,
        activeLow: bool,
        pullUp: bool,
        changed: Callable[[bool], None],
    ) -> None:
        """
        Make C{pin} an input with its pull-up or pull-down, and detect both
        of its edges.

        @raise GPIOUnavailable: if RPi.GPIO refuses.
        """
        if self._reactor is None:
            from twisted.internet import reactor

            self._reactor = cast(IReactorThreads, reactor)
        gpio = self._gpio
        try:
            gpio.setup(
                pin, gpio.IN, pull_up_down=gpio.PUD_UP if pullUp else gpio.PUD_DOWN
            )
        except (RuntimeError, ValueError) as error:
            raise self._cannot(pin, error) from None
        self._inputs[pin] = (activeLow, changed)
        try:
            gpio.add_event_detect(pin, gpio.BOTH, callback=self._edge)
        except (RuntimeError, ValueError) as error:
            del self._inputs[pin]
            gpio.cleanup([pin])
            raise GPIOUnavailable(
                f"RPi.GPIO cannot detect edges on GPIO {pin}: {error} "
                "(RPi.GPIO 0.7 fails so on recent kernels; --gpio gpiod works "
                "there)"
            ) from None

    def _edge(self, pin: int) -> None:
        """
        An edge on C{pin}, in RPi.GPIO's thread: read the level it left,
        and hand that to the reactor.
        """
        level = self._gpio.input(pin)
        assert self._reactor is not None
        self._reactor.callFromThread(self._changed, pin, level)

    def _changed(self, pin: int, level: Any) -> None:
        """
        An edge on C{pin}, in the reactor thread: tell its watcher the
        logical level, unless the input was released meanwhile.
        """
        watched = self._inputs.get(pin)
        if watched is None:
            return
        activeLow, changed = watched
        changed((level == self._gpio.HIGH) != activeLow)

    def releaseInputs(self) -> None:
        """
        Stop detecting edges and clean up the inputs set up here.
        """
        if self._inputs:
            for pin in self._inputs:
                self._gpio.remove_event_detect(pin)
            self._gpio.cleanup(list(self._inputs))
            self._inputs.clear()

    def release(self) -> None:
        """
        Clean up the pins set up here (they become inputs), only those.
        """
        self.releaseInputs()
        if self._activeLow:
            self._gpio.cleanup(list(self._activeLow))
            self._activeLow.clear()
