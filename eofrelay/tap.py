# -*- test-case-name: tests.test_tap -*-
"""
C{twistd eofrelay}: its options, and the service built from them (the
module the plugin names, as C{twisted.web.tap} is for C{twistd web}).
"""

from eofrelay.wiring.build import makeService
from eofrelay.wiring.options import Options

__all__ = ["Options", "makeService"]
