"""
eofrelay built in a few lines by another Twisted application.

Run it with:  twistd -ny docs/examples/eofrelay.tac
Then:         printf 'on up<EOF>relays<EOF>' | nc -q1 127.0.0.1 1100

It serves two simulated relays, "up" and "down", interlocked (never on
together), on the endpoint in $EOFRELAY_LISTEN (default
tcp:1100:interface=127.0.0.1).  Replace MemoryPins() with openPins("auto")
to drive real GPIO.
"""

import os

from twisted.application.service import Application
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString

from eofrelay import MemoryPins, PinRelay, RelayBank, RelayFactory, RelayService

pins = MemoryPins()
factory = RelayFactory(RelayBank([PinRelay("up", pins, 17), PinRelay("down", pins, 27, activeLow=True)], interlocks=[["up", "down"]]))
endpoint = serverFromString(
    reactor, os.environ.get("EOFRELAY_LISTEN", "tcp:1100:interface=127.0.0.1")
)

application = Application("eofrelay")
RelayService(factory, [endpoint], pins).setServiceParent(application)
