# -*- test-case-name: tests.test_relay,tests.test_gpio -*-
"""
The interfaces that separate the protocol, the relays and the hardware.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from zope.interface import Attribute, Interface


class IRelay(Interface):
    """
    One relay that can be switched on and off.

    The protocol dispatches every command through this interface.  eofrelay
    provides it over GPIO pins (L{eofrelay.pinrelay.PinRelay}); an
    application that embeds eofrelay can provide it for any other device,
    for example a relay board on the network that answers asynchronously.
    """

    name = Attribute(
        "The relay's name as configured: a letter followed by up to 31 "
        "letters, digits, C{_} or C{-}; clients match it case-insensitively."
    )

    def switch(on: bool) -> object:
        """
        Drive the relay on or off.

        @param on: C{True} to switch the relay on, C{False} to switch it off.

        @return: C{None} when the relay has been switched, or a
            L{Deferred} that fires when it has.  Raising, or a Deferred
            that fails, means the relay could not be switched and its state
            is unchanged as far as eofrelay reports it.
        """

    def state() -> object:
        """
        Report whether the relay is on.

        @return: C{True} if the relay is on, C{False} if it is off, or a
            L{Deferred} firing with one of those.
        """


class IPins(Interface):
    """
    The GPIO pins of one hardware backend: outputs that drive relays, and
    inputs that watch push buttons.

    Levels are logical: C{True} means "relay on" (or "button pressed").
    Each backend turns that into the electrical level, taking the pin's
    active-low setting into account, so no code above the backend inverts
    anything.  Backends are the only code that touches hardware.
    """

    description = Attribute(
        "A short human-readable name of the backend, e.g. C{'RPi.GPIO'}."
    )

    def setup(pin: int, activeLow: bool, on: bool) -> None:
        """
        Claim C{pin} (BCM numbering) as an output that already drives the
        logical level C{on} when it becomes an output.

        @param activeLow: C{True} for boards whose relay switches on when
            the pin is driven low.
        """

    def setupKept(pin: int, activeLow: bool) -> Optional[bool]:
        """
        Claim C{pin} as an output without changing its level
        (C{--power-on keep}): if it is an output already (an earlier run
        left it driving a relay, say), read the logical level it drives
        and go on driving that level; if it is not, set it up as an output
        that already drives off.  Nothing is written to an output before
        its level is read, and what is written after is that level.

        @return: The logical level read, or C{None} if the pin was not an
            output (it now drives off).
        """

    def write(pin: int, on: bool) -> None:
        """
        Drive the logical level C{on} on a pin set up with L{setup} or
        L{setupKept}.
        """

    def setupInput(
        pin: int, activeLow: bool, pullUp: bool, changed: Callable[[bool], None]
    ) -> None:
        """
        Claim C{pin} as an input with its internal pull-up (C{pullUp}) or
        pull-down resistor enabled, and watch both of its edges, without
        polling: after each edge, call C{changed} with the pin's logical
        level, in the reactor thread.

        @param activeLow: C{True} for an input that is active (C{True})
            when low, as a button wired to ground is when pressed.
        """

    def releaseInputs() -> None:
        """
        Stop watching the inputs set up through this object, and give them
        back; outputs stay as they are.  Calling it again does nothing.
        """

    def release() -> None:
        """
        Give back every pin set up through this object, outputs and inputs,
        and only those.  Calling it again does nothing.
        """
