"""
Deprecated since eofrelay 0.2: see L{eofrelay.tcp.factory}.
"""

from eofrelay._deprecated import moved

_PLACES = {
    "RelayFactory": "eofrelay.tcp.factory",
    "Refused": "eofrelay.tcp.factory",
    "TooManyConnections": "eofrelay.tcp.factory",
}


def __getattr__(name: str) -> object:
    return moved(__name__, name, _PLACES)
