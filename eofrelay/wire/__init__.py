"""
What the server and the client share of eofrelay's wire protocol: the
texts of the replies (L{eofrelay.wire.replies}), the framing of a stream
into C{<EOF>}-delimited messages (L{eofrelay.wire.framing}), and what a
TCP connection is set up with (L{eofrelay.wire.layers}).

Nothing here knows a relay, a command's meaning or a server.
"""
