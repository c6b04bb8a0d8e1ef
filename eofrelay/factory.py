# -*- test-case-name: tests.test_factory -*-
"""
The factory that holds the shared state of all configured relays.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

from twisted.internet.protocol import ServerFactory

from eofrelay.interfaces import IRelay
from eofrelay.names import checkRelayName
from eofrelay.protocol import RelayProtocol
from eofrelay.state import RelayState


class RelayFactory(ServerFactory):
    """
    Builds a L{RelayProtocol} for each connection and holds what they all
    share: the configured relays and their states.

    @ivar relays: The relays, in configured order; the first one is the
        default relay.
    @ivar maxLine: The longest message accepted, in bytes.
    @ivar closeAfterReply: Whether connections are closed after their first
        reply.
    """

    protocol = RelayProtocol  # type: ignore[assignment]

    def __init__(
        self,
        relays: Iterable[IRelay],
        maxLine: int = 1024,
        closeAfterReply: bool = False,
    ) -> None:
        """
        @param relays: The relays' drivers, in order, each an L{IRelay}
            provider (or an already shared L{RelayState}), all off now.
        @raise ValueError: for no relays, a bad name or a name given twice.
        """
        self.relays: list[RelayState] = [
            relay if isinstance(relay, RelayState) else RelayState(relay)
            for relay in relays
        ]
        if not self.relays:
            raise ValueError("at least one relay is needed")
        self._byName: dict[str, RelayState] = {}
        for relay in self.relays:
            key = checkRelayName(relay.name).lower()
            if key in self._byName:
                raise ValueError(f"relay {relay.name!r} is configured twice")
            self._byName[key] = relay
        self.maxLine = maxLine
        self.closeAfterReply = closeAfterReply

    def relay(self, name: Optional[str] = None) -> RelayState:
        """
        Find a relay by name, case-insensitively.

        @param name: The name, or C{None} for the default (first) relay.
        @raise KeyError: if no relay has that name.
        """
        if name is None:
            return self.relays[0]
        return self._byName[name.lower()]
