# -*- test-case-name: tests.test_interpreter -*-
"""
What the command layer knows of whoever sends it commands.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface


class ISession(Interface):
    """
    One source of commands, as a front end presents it to the
    L{CommandInterpreter <eofrelay.commands.interpreter.CommandInterpreter>}:
    a TCP connection, for example.
    """

    peer = Attribute(
        "Who sends the commands, as the log names it, e.g. C{'192.168.1.20:51544'}."
    )
    host = Attribute(
        "The peer's IP address, by which failed C{auth} attempts are "
        "throttled, or C{None} for a peer without one."
    )
    authenticated = Attribute(
        "Whether commands other than C{auth}, C{ping}, C{help} and C{quit} "
        "are accepted; set by a successful C{auth}."
    )

    def watch() -> None:
        """
        The session asked for change events (C{watch}): send it one for
        every change of any relay from now on.
        """

    def close() -> None:
        """
        The session is over (C{quit}, a failed C{auth}): close it once the
        reply to this command has been sent, acting on nothing after it.
        """
