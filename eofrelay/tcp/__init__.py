"""
The TCP front end: the wire protocol on stream connections (TCP, TLS, UNIX
sockets, any Twisted endpoint).  It frames messages, keeps their replies in
order, controls the flow, and closes connections well; what a command
means is the command layer's (L{eofrelay.commands}).
"""
