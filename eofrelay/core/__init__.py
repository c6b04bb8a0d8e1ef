"""
The relay core: the configured relays and their states, the order of their
changes, pulses, interlocks, change listeners, the state file and the
switch log.  It knows no network and no hardware library: the front ends
(L{eofrelay.tcp}) drive it, and the relays' drivers (L{eofrelay.gpio}, or
an application's own L{IRelay <eofrelay.interfaces.IRelay>} providers)
are driven by it.
"""

from eofrelay.core.bank import RelayBank
from eofrelay.core.relay import HardwareFailure, RelayState
from eofrelay.core.statefile import StateFile

__all__ = ["HardwareFailure", "RelayBank", "RelayState", "StateFile"]
