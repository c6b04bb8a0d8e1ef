# -*- test-case-name: tests.test_gpio -*-
"""
GPIO backends: the only code that touches hardware.

Each backend is one module providing L{eofrelay.interfaces.IPins};
L{openPins} picks one by name.
"""

from __future__ import annotations

from typing import Final

from twisted.logger import Logger

from eofrelay.interfaces import IPins

#: The names accepted by L{openPins} and C{--gpio}.
BACKENDS: Final = ("auto", "rpi", "memory")

_log = Logger(namespace="eofrelay.gpio")


class GPIOUnavailable(Exception):
    """
    The requested GPIO backend cannot run here; the message says why in
    one line.
    """


def openPins(backend: str) -> IPins:
    """
    Open the GPIO backend called C{backend}.

    C{"auto"} uses RPi.GPIO where it works and otherwise the simulated
    in-memory backend, with a warning in the log saying why.

    @param backend: One of L{BACKENDS}.
    @raise GPIOUnavailable: if the backend named cannot run here.
    """
    from eofrelay.gpio.memory import MemoryPins
    from eofrelay.gpio.rpi import RPiGPIOPins

    if backend == "memory":
        pins: IPins = MemoryPins()
    elif backend == "rpi":
        pins = RPiGPIOPins()
    elif backend == "auto":
        try:
            pins = RPiGPIOPins()
        except GPIOUnavailable as reason:
            _log.warn(
                "SIMULATED GPIO: no relay will really switch. "
                "Real GPIO is unavailable ({reason}); "
                "--gpio memory silences this warning.",
                reason=str(reason),
            )
            return MemoryPins()
    else:
        raise GPIOUnavailable(
            f"unknown GPIO backend {backend!r}; choose one of " + ", ".join(BACKENDS)
        )
    _log.info("GPIO backend: {backend}", backend=pins.description)
    return pins
