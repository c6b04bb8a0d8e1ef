"""
Deprecated since eofrelay 0.2: see L{eofrelay.wiring.service}.
"""

from eofrelay._deprecated import moved

_PLACES = {
    "RelayService": "eofrelay.wiring.service",
}


def __getattr__(name: str) -> object:
    return moved(__name__, name, _PLACES)
