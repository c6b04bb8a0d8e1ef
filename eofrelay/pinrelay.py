"""
Deprecated since eofrelay 0.2: see L{eofrelay.gpio.pinrelay}.
"""

from eofrelay._deprecated import moved

_PLACES = {
    "PinRelay": "eofrelay.gpio.pinrelay",
}


def __getattr__(name: str) -> object:
    return moved(__name__, name, _PLACES)
