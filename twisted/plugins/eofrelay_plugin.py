"""
The twistd plugin of eofrelay: C{twistd eofrelay}.

twistd imports this module to list its plugins, so it imports nothing
heavy; the options and the service live in L{eofrelay.tap}.
"""

from twisted.application.service import ServiceMaker

eofrelay = ServiceMaker(
    "eofrelay",
    "eofrelay.tap",
    "Switch GPIO relays on <EOF>-delimited TCP commands.",
    "eofrelay",
)
