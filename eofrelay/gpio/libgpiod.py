# -*- test-case-name: tests.test_gpio -*-
"""
GPIO through the kernel's GPIO character device and libgpiod v2 (the
C{gpiod} package): every Raspberry Pi including the Pi 5, and other boards.
"""

from __future__ import annotations

import errno
import glob
import os
from types import ModuleType
from typing import Any, Optional

from zope.interface import implementer

from eofrelay.gpio import GPIOUnavailable
from eofrelay.interfaces import IPins
from eofrelay.wire.extras import installHint

#: Labels of the chips that carry the Raspberry Pi's 40-pin header: Pi 5,
#: Pi 4, Pi 0-3.
HEADER_LABELS = ("pinctrl-rp1", "pinctrl-bcm2711", "pinctrl-bcm2835")

CONSUMER = "eofrelay"


def importGpiod() -> ModuleType:
    """
    Import the C{gpiod} package (libgpiod v2 bindings).

    @raise GPIOUnavailable: if it is not installed or too old.
    """
    try:
        import gpiod
    except ImportError as error:
        raise GPIOUnavailable(
            f"the gpiod package is not installed ({error}); {installHint('gpiod')}"
        ) from None
    if not hasattr(gpiod, "request_lines"):
        raise GPIOUnavailable("the gpiod package is older than 2.0 (libgpiod v2)")
    module: ModuleType = gpiod
    return module


def chipDevices() -> list[str]:
    """
    The paths of the GPIO character devices, in order.
    """
    return sorted(glob.glob("/dev/gpiochip*"))


def findChip(gpiod: Any, candidates: Optional[list[str]] = None) -> str:
    """
    The GPIO chip that carries the Raspberry Pi's header, found by its
    label, or else C{/dev/gpiochip0}.

    @raise GPIOUnavailable: if there is no GPIO chip at all.
    """
    paths = chipDevices() if candidates is None else candidates
    chips = [path for path in paths if gpiod.is_gpiochip_device(path)]
    if not chips:
        raise GPIOUnavailable("no GPIO character device (/dev/gpiochip*) here")
    for path in chips:
        try:
            with gpiod.Chip(path) as chip:
                if chip.get_info().label in HEADER_LABELS:
                    return path
        except OSError:
            continue
    return "/dev/gpiochip0" if "/dev/gpiochip0" in chips else chips[0]


def _explain(error: OSError, chip: str, pin: int) -> str:
    """
    One readable line for an error requesting C{pin}.
    """
    if isinstance(error, FileNotFoundError):
        return f"GPIO chip {chip} does not exist"
    if isinstance(error, PermissionError):
        return (
            f"no permission to use {chip}: add this user to the 'gpio' group "
            "(sudo adduser $USER gpio) and log in again"
        )
    if error.errno == errno.EBUSY:
        return f"GPIO {pin} on {chip} is busy: another program is using it"
    if error.errno == errno.EINVAL:
        return f"GPIO {pin} does not exist on {chip}"
    return f"cannot use GPIO {pin} on {chip}: {error.strerror or error}"


@implementer(IPins)
class GpiodPins:
    """
    Output lines of one GPIO chip, requested through libgpiod v2.

    Each line is requested once, as an output whose initial value is
    already right; active-low is the line's own setting (the kernel
    inverts, not Python); the consumer name is C{eofrelay}, so C{gpioinfo}
    shows who holds the line.  L{release} gives back only these lines.

    @ivar chip: The chip's device path.
    """

    def __init__(self, chip: Optional[str] = None, gpiod: Optional[Any] = None) -> None:
        """
        @param chip: The chip's path; found by its label when not given.
        @param gpiod: The C{gpiod} module, or a stand-in for tests.
        @raise GPIOUnavailable: if libgpiod or the chip cannot be used.
        """
        self._gpiod = gpiod if gpiod is not None else importGpiod()
        if chip is None:
            chip = findChip(self._gpiod)
        elif not self._gpiod.is_gpiochip_device(chip):
            if not os.path.exists(chip):
                raise GPIOUnavailable(f"GPIO chip {chip} does not exist")
            raise GPIOUnavailable(f"{chip} is not a GPIO chip")
        self.chip = chip
        self.description = f"libgpiod ({chip})"
        self._requests: dict[int, Any] = {}

    def _value(self, on: bool) -> Any:
        value = self._gpiod.line.Value
        return value.ACTIVE if on else value.INACTIVE

    def setup(self, pin: int, activeLow: bool, on: bool) -> None:
        """
        Request C{pin} as an output already driving C{on}.

        @raise GPIOUnavailable: if the line cannot be requested (busy,
            missing, no permission), with one readable line saying why.
        """
        gpiod = self._gpiod
        settings = gpiod.LineSettings(
            direction=gpiod.line.Direction.OUTPUT,
            active_low=activeLow,
            output_value=self._value(on),
        )
        try:
            request = gpiod.request_lines(
                self.chip, consumer=CONSUMER, config={pin: settings}
            )
        except OSError as error:
            raise GPIOUnavailable(_explain(error, self.chip, pin)) from None
        except ValueError:
            # gpiod (2.5 at least) checks the offset against the chip's
            # number of lines itself and raises ValueError, before the
            # kernel could refuse it with EINVAL.
            raise GPIOUnavailable(f"GPIO {pin} does not exist on {self.chip}") from None
        self._requests[pin] = request

    def write(self, pin: int, on: bool) -> None:
        """
        Drive C{on} on C{pin}.
        """
        self._requests[pin].set_value(pin, self._value(on))

    def release(self) -> None:
        """
        Release every line requested here.
        """
        requests, self._requests = self._requests, {}
        for request in requests.values():
            request.release()
