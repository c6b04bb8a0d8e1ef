# -*- test-case-name: tests.test_service -*-
"""
The eofrelay service: a L{RelayFactory} listening on endpoints, and what
happens to the relays when it stops.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.logger import Logger

from eofrelay.factory import RelayFactory
from eofrelay.interfaces import IPins


class RelayService(MultiService):
    """
    Serves a L{RelayFactory} on one or more endpoints.

    When the service stops it first stops listening, then drives every
    relay off and finally releases the GPIO pins, so that nothing is left
    switched on and no pin stays claimed.

    @ivar factory: The factory served.
    @ivar pins: The GPIO backend whose pins are released at stop, if any.
    """

    log = Logger()

    def __init__(
        self,
        factory: RelayFactory,
        endpoints: Iterable[IStreamServerEndpoint],
        pins: Optional[IPins] = None,
    ) -> None:
        super().__init__()
        self.factory = factory
        self.pins = pins
        for endpoint in endpoints:
            listener = StreamServerEndpointService(endpoint, factory)
            # Fail at start-up, not later in the log, if the port is taken.
            listener._raiseSynchronously = True
            listener.setServiceParent(self)

    def startService(self) -> None:
        """
        Log the relays served, then start listening.
        """
        self.log.info(
            "eofrelay serving relays: {relays}",
            relays=", ".join(relay.name for relay in self.factory.relays),
        )
        super().startService()

    def stopService(self) -> Deferred[None]:
        """
        Stop listening, drive every relay off, release the pins.
        """
        stopped: Deferred[None] = super().stopService()  # type: ignore[assignment]
        stopped.addCallback(lambda _: self._switchOff())
        stopped.addBoth(self._release)
        return stopped

    def _switchOff(self) -> Deferred[list[tuple[bool, bool]]]:
        """
        Drive every relay off, whatever its state.
        """
        return DeferredList(
            [
                relay.switch(False, "shutdown", "off at exit")
                for relay in self.factory.relays
            ],
            consumeErrors=True,
        )

    def _release(self, result: object) -> None:
        """
        Release the GPIO pins, whatever happened before.
        """
        if self.pins is not None:
            self.pins.release()
