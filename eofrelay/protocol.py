"""
Deprecated since eofrelay 0.2: see L{eofrelay.tcp.protocol}.
"""

from eofrelay._deprecated import moved

_PLACES = {
    "RelayProtocol": "eofrelay.tcp.protocol",
    "describePeer": "eofrelay.wire.addresses",
}


def __getattr__(name: str) -> object:
    return moved(__name__, name, _PLACES)
