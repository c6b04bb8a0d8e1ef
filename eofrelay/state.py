"""
Deprecated since eofrelay 0.2: see L{eofrelay.core.relay}.
"""

from eofrelay._deprecated import moved

_PLACES = {
    "RelayState": "eofrelay.core.relay",
    "HardwareFailure": "eofrelay.core.relay",
    "MAX_PULSE_MS": "eofrelay.core.pulse",
    "stateName": "eofrelay.core.switchlog",
    "ChangeListener": "eofrelay.core.relay",
}


def __getattr__(name: str) -> object:
    return moved(__name__, name, _PLACES)
