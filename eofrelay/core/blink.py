# -*- test-case-name: tests.test_blink -*-
"""
A blink in progress on one relay: cycles of on and off, then the state it
had before.
"""

from __future__ import annotations

from typing import Optional

from twisted.internet.interfaces import IDelayedCall

#: The most cycles of one blink.
MAX_BLINK_COUNT = 10_000

#: The longest on or off time of a blink, in milliseconds (one day).
MAX_BLINK_MS = 86_400_000


class Blink:
    """
    What one blink was asked for, and how far it got.

    @ivar count: Its cycles, each on for C{onMs} then off for C{offMs}.
    @ivar onMs: How long the relay is on in each cycle, in milliseconds.
    @ivar offMs: How long it is off in each cycle, in milliseconds.
    @ivar before: The state the relay goes back to at the end.
    @ivar cycle: The cycle in progress, from 1 to C{count}.
    @ivar call: The next step's pending timer, if any.
    """

    def __init__(self, count: int, onMs: int, offMs: int, before: bool) -> None:
        self.count = count
        self.onMs = onMs
        self.offMs = offMs
        self.before = before
        self.cycle = 1
        self.call: Optional[IDelayedCall] = None

    def stop(self) -> None:
        """
        Cancel the next step, if one is pending.
        """
        call, self.call = self.call, None
        if call is not None and call.active():
            call.cancel()


def checkBlink(count: int, onMs: int, offMs: int) -> None:
    """
    @raise ValueError: unless C{count} is from 1 to L{MAX_BLINK_COUNT} and
        each time from 1 to L{MAX_BLINK_MS}.
    """
    for value, highest in (
        (count, MAX_BLINK_COUNT),
        (onMs, MAX_BLINK_MS),
        (offMs, MAX_BLINK_MS),
    ):
        if not (
            isinstance(value, int)
            and not isinstance(value, bool)
            and 1 <= value <= highest
        ):
            raise ValueError(
                f"a blink has 1 to {MAX_BLINK_COUNT} cycles of 1 to "
                f"{MAX_BLINK_MS} milliseconds on and off"
            )
