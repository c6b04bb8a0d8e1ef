# -*- test-case-name: tests.test_gpio,tests.test_relay -*-
"""
A relay wired to one GPIO pin.
"""

from __future__ import annotations

from typing import Optional

from zope.interface import implementer

from eofrelay.interfaces import IPins, IRelay


@implementer(IRelay)
class PinRelay:
    """
    A relay driven by one GPIO output pin of an L{IPins} backend.

    @ivar name: The relay's name.
    @ivar pin: Its BCM pin number.
    @ivar activeLow: Whether the relay is on when the pin is low.
    """

    def __init__(
        self,
        name: str,
        pins: IPins,
        pin: int,
        activeLow: bool = False,
        on: bool = False,
        setUp: bool = True,
    ) -> None:
        """
        Set the pin up as an output that already drives C{on}.

        @param setUp: Whether to set the pin up now; if not, L{setUpPin}
            does, and nothing drives it before.
        """
        self.name = name
        self.pin = pin
        self.activeLow = activeLow
        self._pins = pins
        self._on = on
        if setUp:
            self.setUpPin()

    def setUpPin(self) -> None:
        """
        Set the pin up as an output that already drives the relay's state.
        """
        self._pins.setup(self.pin, self.activeLow, self._on)

    def setUpPinKept(self) -> Optional[bool]:
        """
        Set the pin up as an output that keeps the level it already has
        (C{--power-on keep}); that level is the relay's state from now on,
        or off if the pin was not an output yet (it then drives off).

        @return: The state read, or C{None} if the pin was not an output.
        """
        read = self._pins.setupKept(self.pin, self.activeLow)
        self._on = bool(read)
        return read

    def switch(self, on: bool) -> None:
        """
        Drive the pin.
        """
        self._pins.write(self.pin, on)
        self._on = on

    def state(self) -> bool:
        """
        The level last driven.
        """
        return self._on
