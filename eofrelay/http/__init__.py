"""
The HTTP front end: a JSON API over the command layer, server-sent events
of every change, and the web page that uses them (C{--http ENDPOINT}).

Like the TCP front end, it holds no relay state of its own: every request
that reads or switches a relay is a command of the
L{CommandInterpreter <eofrelay.commands.interpreter.CommandInterpreter>},
so ordering, interlocks, pulses, the state file, the switch log and the
metrics are those of TCP.
"""
