"""
Deprecated since eofrelay 0.2: see L{eofrelay.core.statefile}.
"""

from eofrelay._deprecated import moved

_PLACES = {
    "StateFile": "eofrelay.core.statefile",
    "restoredStates": "eofrelay.core.statefile",
    "encodeStates": "eofrelay.core.statefile",
    "decodeStates": "eofrelay.core.statefile",
    "writeAtomically": "eofrelay.core.statefile",
}


def __getattr__(name: str) -> object:
    return moved(__name__, name, _PLACES)
