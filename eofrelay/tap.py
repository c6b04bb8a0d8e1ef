# -*- test-case-name: tests.test_tap -*-
"""
C{twistd eofrelay}: its options, and the service built from them (the
module the plugin names, as C{twisted.web.tap} is for C{twistd web}).
"""

from eofrelay.wiring.build import (
    buildRelays,
    makeService,
    powerOnStates,
    raiseFileLimit,
)
from eofrelay.wiring.options import Options, RelaySpec, parseRelaySpec

__all__ = [
    "Options",
    "RelaySpec",
    "buildRelays",
    "makeService",
    "parseRelaySpec",
    "powerOnStates",
    "raiseFileLimit",
]
