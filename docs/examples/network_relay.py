"""
A custom IRelay: a relay board on the network that answers later.

eofrelay drives any object that provides IRelay.  This one stands for a
board switched over the network: switch() returns a Deferred that fires
when the board has answered (here, after a simulated round trip).  eofrelay
keeps replies in order, queues commands for the relay behind each other,
and turns a failed or hung Deferred into "error: hardware failure".

Run it with:  python docs/examples/network_relay.py [ENDPOINT]
"""

from __future__ import annotations

import sys

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater, react
from zope.interface import implementer

from eofrelay import IRelay, RelayBank, RelayFactory


@implementer(IRelay)
class NetworkRelay:
    """
    One channel of a (simulated) network relay board.
    """

    def __init__(self, name: str, clock: IReactorTime, roundTrip: float = 0.05) -> None:
        self.name = name
        self.clock = clock
        self.roundTrip = roundTrip
        self.on = False

    def switch(self, on: bool) -> Deferred[None]:
        """
        Ask the board to switch; the Deferred fires when it has.
        """

        def answered() -> None:
            self.on = on

        return deferLater(self.clock, self.roundTrip, answered)

    def state(self) -> bool:
        """
        The state the board last confirmed.
        """
        return self.on


def makeFactory(clock: IReactorTime) -> RelayFactory:
    """
    A factory for two channels of the board.
    """
    return RelayFactory(
        RelayBank(
            [NetworkRelay("fan", clock), NetworkRelay("heater", clock)], clock=clock
        )
    )


async def main(
    reactor: object, description: str = "tcp:1100:interface=127.0.0.1"
) -> None:
    from twisted.internet.endpoints import serverFromString

    port = await serverFromString(reactor, description).listen(makeFactory(reactor))  # type: ignore[arg-type]
    print(f"serving on {port.getHost()}")
    await Deferred()  # serve until interrupted


if __name__ == "__main__":
    react(lambda reactor: Deferred.fromCoroutine(main(reactor, *sys.argv[1:])))
