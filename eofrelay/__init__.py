"""
eofrelay: switch relays wired to a Raspberry Pi's GPIO pins when a client
on the network sends C{on<EOF>} or C{off<EOF>}.

The public API for applications that embed eofrelay is listed in
C{__all__}.
"""

from eofrelay.client import ConnectionLost, RelayClient, RelayError, connect
from eofrelay.factory import RelayFactory
from eofrelay.gpio import GPIOUnavailable, openPins
from eofrelay.gpio.memory import MemoryPins
from eofrelay.interfaces import IPins, IRelay
from eofrelay.pinrelay import PinRelay
from eofrelay.protocol import RelayProtocol
from eofrelay.service import RelayService
from eofrelay.state import HardwareFailure, RelayState
from eofrelay.statefile import StateFile

__version__ = "0.1.0"

__all__ = [
    "ConnectionLost",
    "GPIOUnavailable",
    "HardwareFailure",
    "IPins",
    "IRelay",
    "MemoryPins",
    "PinRelay",
    "RelayClient",
    "RelayError",
    "RelayFactory",
    "RelayProtocol",
    "RelayService",
    "RelayState",
    "StateFile",
    "__version__",
    "connect",
    "openPins",
]
