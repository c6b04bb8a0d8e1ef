"""
eofrelay: switch relays wired to a Raspberry Pi's GPIO pins when a client
on the network sends C{on<EOF>} or C{off<EOF>}.

The public API for applications that embed eofrelay is listed in
C{__all__}; C{docs/architecture.rst} shows where each part lives.  The
names are imported when first used, so that C{import eofrelay.client}
loads neither the server nor a GPIO library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.2.0"

#: Each public name, and the module it lives in.
_PUBLIC = {
    "CommandInterpreter": "eofrelay.commands.interpreter",
    "ConnectionLost": "eofrelay.client",
    "GPIOUnavailable": "eofrelay.gpio",
    "HardwareFailure": "eofrelay.core.relay",
    "IPins": "eofrelay.interfaces",
    "IRelay": "eofrelay.interfaces",
    "MemoryPins": "eofrelay.gpio.memory",
    "PinRelay": "eofrelay.gpio.pinrelay",
    "RelayBank": "eofrelay.core.bank",
    "RelayClient": "eofrelay.client",
    "RelayError": "eofrelay.client",
    "RelayFactory": "eofrelay.tcp.factory",
    "RelayProtocol": "eofrelay.tcp.protocol",
    "RelayService": "eofrelay.wiring.service",
    "RelayState": "eofrelay.core.relay",
    "StateFile": "eofrelay.core.statefile",
    "connect": "eofrelay.client",
    "openPins": "eofrelay.gpio",
    "parseNetwork": "eofrelay.commands.access",
    "readTokenFile": "eofrelay.wire.tokens",
}

__all__ = [
    "CommandInterpreter",
    "ConnectionLost",
    "GPIOUnavailable",
    "HardwareFailure",
    "IPins",
    "IRelay",
    "MemoryPins",
    "PinRelay",
    "RelayBank",
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
    "parseNetwork",
    "readTokenFile",
]


def __getattr__(name: str) -> object:
    """
    Import a public name from its module when it is first asked for.
    """
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'eofrelay' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from eofrelay.client import ConnectionLost, RelayClient, RelayError, connect
    from eofrelay.commands.access import parseNetwork
    from eofrelay.commands.interpreter import CommandInterpreter
    from eofrelay.core.bank import RelayBank
    from eofrelay.core.relay import HardwareFailure, RelayState
    from eofrelay.core.statefile import StateFile
    from eofrelay.gpio import GPIOUnavailable, openPins
    from eofrelay.gpio.memory import MemoryPins
    from eofrelay.gpio.pinrelay import PinRelay
    from eofrelay.interfaces import IPins, IRelay
    from eofrelay.tcp.factory import RelayFactory
    from eofrelay.tcp.protocol import RelayProtocol
    from eofrelay.wire.tokens import readTokenFile
    from eofrelay.wiring.service import RelayService
