"""
Deprecated since eofrelay 0.2: see L{eofrelay.commands.access}.
"""

from eofrelay._deprecated import moved

_PLACES = {
    "parseNetwork": "eofrelay.commands.access",
    "readTokenFile": "eofrelay.wire.tokens",
    "TokenFileError": "eofrelay.wire.tokens",
    "isAllowed": "eofrelay.commands.access",
    "isToken": "eofrelay.wire.tokens",
    "peerHost": "eofrelay.commands.access",
    "tokenMatches": "eofrelay.commands.access",
    "readableByEveryone": "eofrelay.wire.tokens",
    "FailedAuthentications": "eofrelay.commands.access",
    "Network": "eofrelay.commands.access",
}


def __getattr__(name: str) -> object:
    return moved(__name__, name, _PLACES)
