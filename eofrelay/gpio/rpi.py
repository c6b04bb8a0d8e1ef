# -*- test-case-name: tests.test_gpio -*-
"""
GPIO through the RPi.GPIO library, on Raspberry Pi models up to the Pi 4.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Optional

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
    Output pins driven through RPi.GPIO, with BCM numbering.

    Each pin is set up with its initial level already right (so an
    active-low board does not click while the service starts); levels are
    inverted for active-low pins; L{release} cleans up only the pins set up
    here, leaving any other pin of the process alone.
    """

    description = "RPi.GPIO"

    def __init__(self, gpio: Optional[Any] = None) -> None:
        """
        @param gpio: The C{RPi.GPIO} module, or an object that behaves like
            it (for tests); imported when not given.
        @raise GPIOUnavailable: if RPi.GPIO cannot be used here.
        """
        if gpio is None:
            gpio = importRPiGPIO()
        self._gpio = gpio
        self._activeLow: dict[int, bool] = {}
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
            raise GPIOUnavailable(
                f"RPi.GPIO cannot set up GPIO {pin}: {error} (is this user in "
                "the 'gpio' group?)"
            ) from None

    def write(self, pin: int, on: bool) -> None:
        """
        Drive C{on} on C{pin}.
        """
        self._gpio.output(pin, self._level(pin, on))

    def release(self) -> None:
        """
        Clean up the pins set up here (they become inputs), only those.
        """
        if self._activeLow:
            self._gpio.cleanup(list(self._activeLow))
            self._activeLow.clear()
