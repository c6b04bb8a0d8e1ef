# -*- test-case-name: tests.test_relay,tests.test_gpio -*-
"""
The interfaces that separate the protocol, the relays and the hardware.
"""

from __future__ import annotations

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
    The GPIO output pins of one hardware backend.

    Levels are logical: C{True} means "relay on".  Each backend turns that
    into the electrical level, taking the pin's active-low setting into
    account, so no code above the backend inverts anything.  Backends are
    the only code that touches hardware.
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

    def write(pin: int, on: bool) -> None:
        """
        Drive the logical level C{on} on a pin set up with L{setup}.
        """

    def release() -> None:
        """
        Give back every pin set up through this object, and only those.
        Calling it again does nothing.
        """
