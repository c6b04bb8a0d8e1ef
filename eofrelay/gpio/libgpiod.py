# -*- test-case-name: tests.test_gpio -*-
"""
GPIO through the kernel's GPIO character device and libgpiod v2 (the
C{gpiod} package): every Raspberry Pi including the Pi 5, and other boards.
"""

from __future__ import annotations

import errno
import glob
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any, Optional, cast

from twisted.internet.interfaces import IReactorFDSet, IReadDescriptor
from twisted.logger import Logger
from twisted.python.failure import Failure
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


@implementer(IReadDescriptor)
class EdgeReader:
    """
    The file descriptor of one input line's edge-event request, as the
    reactor watches it: each time it is readable, the events waiting are
    read, and the watcher is told the logical level each edge left.

    @ivar pin: The line's offset.
    """

    log = Logger(namespace="eofrelay.gpio")

    def __init__(
        self, request: Any, pin: int, rising: Any, changed: Callable[[bool], None]
    ) -> None:
        """
        @param request: The line request (C{gpiod.LineRequest}).
        @param rising: The event type of a rising edge.
        @param changed: Called with C{True} after a rising edge (logically:
            the kernel applies the line's active-low setting), C{False}
            after a falling one.
        """
        self.pin = pin
        self._request = request
        self._rising = rising
        self._changed = changed

    def fileno(self) -> int:
        """
        The request's file descriptor.
        """
        fd: int = self._request.fd
        return fd

    def doRead(self) -> None:
        """
        Read the edge events waiting (the reactor says there is one at
        least, so this does not block) and hand each on.
        """
        for event in self._request.read_edge_events():
            self._changed(event.event_type == self._rising)

    def connectionLost(self, reason: Failure) -> None:
        """
        Reading failed: the line is no longer watched, loudly.
        """
        self.log.failure(
            "GPIO {pin}: cannot read its edges any more; its button no longer works",
            failure=reason,
            pin=self.pin,
        )

    def logPrefix(self) -> str:
        return f"GPIO {self.pin}"


@implementer(IPins)
class GpiodPins:
    """
    Lines of one GPIO chip, requested through libgpiod v2.

    Each output line is requested once, as an output whose initial value
    is already right; active-low is the line's own setting (the kernel
    inverts, not Python); the consumer name is C{eofrelay}, so C{gpioinfo}
    shows who holds the line.  Each input line is requested with edge
    detection, and the reactor watches its request's file descriptor
    (L{EdgeReader}): nothing polls.  L{release} gives back only these
    lines.

    @ivar chip: The chip's device path.
    """

    def __init__(
        self,
        chip: Optional[str] = None,
        gpiod: Optional[Any] = None,
        reactor: Optional[IReactorFDSet] = None,
    ) -> None:
        """
        @param chip: The chip's path; found by its label when not given.
        @param gpiod: The C{gpiod} module, or a stand-in for tests.
        @param reactor: The reactor that watches the inputs; the global one
            by default.
        @raise GPIOUnavailable: if libgpiod or the chip cannot be used.
        """
        self._reactor = reactor
        self._inputs: dict[int, tuple[Any, EdgeReader]] = {}
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

    def _request(self, pin: int, settings: Any) -> Any:
        """
        Request C{pin} with C{settings}.

        @raise GPIOUnavailable: if the line cannot be requested.
        """
        try:
            return self._gpiod.request_lines(
                self.chip, consumer=CONSUMER, config={pin: settings}
            )
        except OSError as error:
            raise GPIOUnavailable(_explain(error, self.chip, pin)) from None
        except ValueError:
            # gpiod checks the offset against the chip's lines itself.
            raise GPIOUnavailable(f"GPIO {pin} does not exist on {self.chip}") from None

    def setupKept(self, pin: int, activeLow: bool) -> Optional[bool]:
        """
        Request C{pin} keeping the level it has, if it is an output already
        (as the kernel's line info says): requested as it is (neither its
        direction nor its value changed), read, then made an output
        driving the value read.  A line that is not an output is requested
        as an output driving off.

        @return: The logical level read, or C{None} for a line that was not
            an output.
        @raise GPIOUnavailable: if the line cannot be requested, with one
            readable line saying why.
        """
        gpiod = self._gpiod
        direction = gpiod.line.Direction
        try:
            with gpiod.Chip(self.chip) as chip:
                info = chip.get_line_info(pin)
        except OSError as error:
            raise GPIOUnavailable(_explain(error, self.chip, pin)) from None
        except ValueError:
            raise GPIOUnavailable(f"GPIO {pin} does not exist on {self.chip}") from None
        if info.direction != direction.OUTPUT:
            self.setup(pin, activeLow, False)
            return None
        request = self._request(
            pin, gpiod.LineSettings(direction=direction.AS_IS, active_low=activeLow)
        )
        try:
            value = request.get_value(pin)
            request.reconfigure_lines(
                {
                    pin: gpiod.LineSettings(
                        direction=direction.OUTPUT,
                        active_low=activeLow,
                        output_value=value,
                    )
                }
            )
        except OSError as error:
            request.release()
            raise GPIOUnavailable(_explain(error, self.chip, pin)) from None
        self._requests[pin] = request
        return bool(value == gpiod.line.Value.ACTIVE)

    def write(self, pin: int, on: bool) -> None:
        """
        Drive C{on} on C{pin}.
        """
        self._requests[pin].set_value(pin, self._value(on))

    def setupInput(
        self,
        pin: int,
        activeLow: bool,
        pullUp: bool,
        changed: Callable[[bool], None],
    ) -> None:
        """
        Request C{pin} as an input with its pull-up or pull-down and the
        detection of both edges, and have the reactor watch its events.

        @raise GPIOUnavailable: if the line cannot be requested, with one
            readable line saying why.
        """
        gpiod = self._gpiod
        line = gpiod.line
        request = self._request(
            pin,
            gpiod.LineSettings(
                direction=line.Direction.INPUT,
                edge_detection=line.Edge.BOTH,
                bias=line.Bias.PULL_UP if pullUp else line.Bias.PULL_DOWN,
                active_low=activeLow,
            ),
        )
        reader = EdgeReader(request, pin, gpiod.EdgeEvent.Type.RISING_EDGE, changed)
        if self._reactor is None:
            from twisted.internet import reactor

            self._reactor = cast(IReactorFDSet, reactor)
        self._inputs[pin] = (request, reader)
        self._reactor.addReader(reader)

    def releaseInputs(self) -> None:
        """
        Stop watching the input lines requested here, and release them.
        """
        inputs, self._inputs = self._inputs, {}
        for request, reader in inputs.values():
            assert self._reactor is not None
            self._reactor.removeReader(reader)
            request.release()

    def release(self) -> None:
        """
        Release every line requested here.
        """
        self.releaseInputs()
        requests, self._requests = self._requests, {}
        for request in requests.values():
            request.release()
