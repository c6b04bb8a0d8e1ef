"""
eofrelay: switch relays wired to a Raspberry Pi's GPIO pins when a client
on the network sends C{on<EOF>} or C{off<EOF>}.

The public API for applications that embed eofrelay is listed in
C{__all__}.
"""

from eofrelay.factory import RelayFactory
from eofrelay.gpio import GPIOUnavailable, openPins
from eofrelay.interfaces import IPins, IRelay
from eofrelay.pinrelay import PinRelay
from eofrelay.protocol import RelayProtocol
from eofrelay.service import RelayService
from eofrelay.state import HardwareFailure, RelayState

__version__ = "0.1.0"

__all__ = [
    "GPIOUnavailable",
    "HardwareFailure",
    "IPins",
    "IRelay",
    "PinRelay",
    "RelayFactory",
    "RelayProtocol",
    "RelayService",
    "RelayState",
    "__version__",
    "openPins",
]
