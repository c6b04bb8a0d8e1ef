"""
C{twistd} on Twisted's asyncio reactor running on a uvloop event loop, for
L{benchmarks.reactors}; the arguments are twistd's.

Run from the repository root, with uvloop installed::

    python -m benchmarks.twistd_uvloop -n eofrelay --port 1100
"""

from __future__ import annotations

import uvloop
from twisted.internet import asyncioreactor


def main() -> None:
    """
    Install the reactor, then run twistd.
    """
    asyncioreactor.install(uvloop.new_event_loop())
    from twisted.scripts.twistd import run

    run()


if __name__ == "__main__":
    main()
