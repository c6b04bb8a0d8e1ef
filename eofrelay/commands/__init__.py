"""
The command layer: one parsed command in, one reply out, with the error
texts, authentication and counting of the wire protocol.  It knows no
transport: every front end (L{eofrelay.tcp}) hands it the messages of an
L{ISession <eofrelay.commands.session.ISession>}.
"""
