# -*- test-case-name: tests.test_gpio -*-
"""
GPIO backends: the only code that touches hardware.

Each backend is one module providing L{eofrelay.interfaces.IPins};
L{openPins} picks one by name.
"""

from __future__ import annotations

from typing import Final, Optional

from twisted.logger import Logger

from eofrelay.interfaces import IPins

#: The names accepted by L{openPins} and C{--gpio}.
BACKENDS: Final = ("auto", "gpiod", "rpi", "memory")

_log = Logger(namespace="eofrelay.gpio")


class GPIOUnavailable(Exception):
    """
    The requested GPIO backend cannot run here; the message says why in
    one line.
    """


def openPins(backend: str, chip: Optional[str] = None) -> IPins:
    """
    Open the GPIO backend called C{backend}.

    C{"auto"} tries, in order, libgpiod (where the C{gpiod} package and a
    GPIO character device are present), RPi.GPIO, and finally the
    simulated in-memory backend, with a loud warning; the log says which
    backend runs and why the others do not.

    @param backend: One of L{BACKENDS}.
    @param chip: The GPIO chip for libgpiod; found by its label if C{None}.
    @raise GPIOUnavailable: if the backend named cannot run here.
    """
    from eofrelay.gpio.libgpiod import GpiodPins
    from eofrelay.gpio.memory import MemoryPins
    from eofrelay.gpio.rpi import RPiGPIOPins

    if backend == "memory":
        pins: IPins = MemoryPins()
    elif backend == "rpi":
        pins = RPiGPIOPins()
    elif backend == "gpiod":
        pins = GpiodPins(chip)
    elif backend == "auto":
        reasons = []
        for name, attempt in (
            ("libgpiod", lambda: GpiodPins(chip)),
            ("RPi.GPIO", RPiGPIOPins),
        ):
            try:
                pins = attempt()
            except GPIOUnavailable as reason:
                reasons.append(f"{name}: {reason}")
                continue
            _log.info(
                "GPIO backend: {backend} (chosen by --gpio auto{others})",
                backend=pins.description,
                others="; " + "; ".join(reasons) if reasons else "",
            )
            return pins
        _log.warn(
            "SIMULATED GPIO: no relay will really switch. "
            "Real GPIO is unavailable ({reason}); "
            "--gpio memory silences this warning.",
            reason="; ".join(reasons),
        )
        return MemoryPins()
    else:
        raise GPIOUnavailable(
            f"unknown GPIO backend {backend!r}; choose one of " + ", ".join(BACKENDS)
        )
    _log.info("GPIO backend: {backend}", backend=pins.description)
    return pins
