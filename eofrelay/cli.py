# -*- test-case-name: tests.test_cli -*-
"""
C{eofrelay-cli}: one command to an eofrelay server from a shell.

Exit status: 0 when the command succeeded (or C{watch} was interrupted),
1 for an error reply (or a reply the command does not expect), 2 when the
server cannot be reached, does not answer in time, or (for C{watch})
closes the connection.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any, Optional

from twisted.internet.defer import Deferred, TimeoutError
from twisted.internet.endpoints import HostnameEndpoint, clientFromString
from twisted.internet.error import (
    ConnectError,
    ConnectingCancelledError,
    ConnectionRefusedError,
    DNSLookupError,
)
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.internet.task import react
from twisted.python import usage

from eofrelay.client import ConnectionLost, RelayClient, RelayError, connect
from eofrelay.wire import replies
from eofrelay.wire.addresses import hostPort
from eofrelay.wire.extras import installHint
from eofrelay.wire.replies import isWord
from eofrelay.wire.tokens import TokenFileError, readTokenFile

#: The commands, each with the least and the most arguments it takes.
COMMANDS: dict[str, tuple[int, int]] = {
    "on": (0, 1),
    "off": (0, 1),
    "toggle": (0, 1),
    "pulse": (1, 2),
    "blink": (2, 4),
    "status": (0, 1),
    "relays": (0, 0),
    "ping": (0, 0),
    "help": (0, 0),
    "watch": (0, 0),
}


def _success(result: None) -> str:
    return replies.SUCCESS.decode("ascii")


def _pong(result: None) -> str:
    return replies.PONG.decode("ascii")


def _state(on: bool) -> str:
    return (replies.ON if on else replies.OFF).decode("ascii")


def _states(states: dict[str, bool]) -> str:
    return " ".join(f"{name}={_state(on)}" for name, on in states.items())


def _pulse(client: RelayClient, *arguments: str) -> Deferred[None]:
    *relay, milliseconds = arguments
    return client.pulse(milliseconds, *relay)


def _blinkArguments(
    arguments: tuple[str, ...],
) -> tuple[Optional[str], list[str]]:
    """
    The relay, if named, and the numbers of C{blink [RELAY] COUNT ON_MS
    [OFF_MS]}: a relay name is not a number.
    """
    if arguments and not arguments[0].isdigit():
        return arguments[0], list(arguments[1:])
    return None, list(arguments)


def _blink(client: RelayClient, *arguments: str) -> Deferred[None]:
    relay, numbers = _blinkArguments(arguments)
    off = numbers[2] if len(numbers) == 3 else None
    return client.blink(numbers[0], numbers[1], off, relay)


def _verbs(verbs: list[str]) -> str:
    return "commands: " + " ".join(verbs)


#: For each command but C{watch}: the client's method for it, with its
#: result written back as the reply it stands for.  The client accepts
#: only the replies its result gives back exactly, so this is the reply as
#: the server sent it.
_CALLS: dict[str, Callable[[RelayClient, tuple[str, ...]], Deferred[str]]] = {
    "on": lambda client, arguments: client.on(*arguments).addCallback(_success),
    "off": lambda client, arguments: client.off(*arguments).addCallback(_success),
    "toggle": lambda client, arguments: client.toggle(*arguments).addCallback(_success),
    "pulse": lambda client, arguments: _pulse(client, *arguments).addCallback(_success),
    "blink": lambda client, arguments: _blink(client, *arguments).addCallback(_success),
    "status": lambda client, arguments: client.status(*arguments).addCallback(_state),
    "relays": lambda client, arguments: client.relays().addCallback(_states),
    "ping": lambda client, arguments: client.ping().addCallback(_pong),
    "help": lambda client, arguments: client.help().addCallback(_verbs),
}


class Options(usage.Options):
    """
    The options of C{eofrelay-cli}.
    """

    synopsis = "eofrelay-cli [options] COMMAND [RELAY] [ARG]"
    longdesc = (
        "Send one command to an eofrelay server and print its reply. "
        f"COMMAND is one of: {' '.join(COMMANDS)}. 'watch' prints events "
        "until interrupted. Exit status: 0 success (or watch interrupted), "
        "1 error reply, 2 no connection, no reply in time, or the server "
        "closed a watch."
    )
    optParameters = [
        ["host", None, "localhost", "server host name, IPv4 or IPv6 address"],
        ["port", "p", "1100", "server TCP port"],
        [
            "connect",
            "c",
            None,
            "Twisted client endpoint instead of --host/--port, e.g. "
            "tls:pi.lan:1100 or unix:/run/eofrelay.sock",
        ],
        ["token-file", None, None, "send 'auth' with the token in this file first"],
        ["timeout", "t", "10", "seconds to wait for the connection and the reply"],
    ]

    def opt_version(self) -> None:
        """
        Display eofrelay's version and exit.
        """
        from eofrelay import __version__

        print(f"eofrelay-cli (eofrelay) {__version__}")
        raise SystemExit(0)

    # usage.Options calls parseArgs with the positional arguments, by
    # design; its own takes none, hence the incompatible override.
    def parseArgs(self, command: str, *arguments: str) -> None:  # type: ignore[override]
        command = command.lower()
        if command not in COMMANDS:
            raise usage.UsageError(f"unknown command {command!r}")
        least, most = COMMANDS[command]
        if not least <= len(arguments) <= most:
            raise usage.UsageError(f"wrong number of arguments for {command!r}")
        for argument in arguments:
            if not isWord(argument):
                raise usage.UsageError(
                    f"{argument!r}: an argument is one word of printable "
                    "ASCII, without <EOF>"
                )
        if command == "blink" and not 2 <= len(_blinkArguments(arguments)[1]) <= 3:
            raise usage.UsageError("blink takes [RELAY] COUNT ON_MS [OFF_MS]")
        self["command"] = command
        self["arguments"] = arguments

    def postOptions(self) -> None:
        try:
            self["timeout"] = float(self["timeout"])
            port = int(self["port"])
        except ValueError:
            raise usage.UsageError("--timeout and --port must be numbers") from None
        if not (math.isfinite(self["timeout"]) and self["timeout"] > 0):
            raise usage.UsageError("--timeout must be a number of seconds above 0")
        if not 0 < port < 65536:
            raise usage.UsageError("--port must be from 1 to 65535")
        self["port"] = port
        self["endpoint"] = None
        if self["connect"]:
            # Built once, now, so that a bad description is a usage error;
            # the global reactor is the one the tool runs.
            from twisted.internet import reactor

            self["endpoint"] = clientEndpoint(reactor, self["connect"])
        host = self["host"] = self["host"].removeprefix("[").removesuffix("]")
        self["where"] = self["connect"] or hostPort(host, port)
        self["token"] = None
        if self["token-file"]:
            try:
                self["token"] = readTokenFile(self["token-file"]).decode("ascii")
            except TokenFileError as error:
                raise usage.UsageError(str(error)) from None


def _endpointPort(endpoint: object) -> Optional[int]:
    """
    The port a client endpoint of Twisted's (C{tcp:}, C{ssl:}, or the
    endpoint that C{tls:} wraps) connects to, if it has one.
    """
    for _ in range(4):
        port = getattr(endpoint, "_port", None)
        if isinstance(port, int):
            return port
        endpoint = getattr(endpoint, "_wrappedEndpoint", None)
        if endpoint is None:
            break
    return None


def clientEndpoint(reactor: Any, description: str) -> IStreamClientEndpoint:
    """
    The client endpoint that C{description} describes.

    @raise usage.UsageError: if it describes none, or a port outside 1 to
        65535 (which the system would wrap around, or refuse only when
        connecting), saying why.
    """
    try:
        endpoint: IStreamClientEndpoint = clientFromString(reactor, description)
    except Exception as error:
        reason = str(error) or error.__class__.__name__
        if isinstance(error, (TypeError, KeyError)):
            if "keyword" in reason:
                reason = f"unknown option ({reason})"
            elif "missing" in reason:
                reason = f"incomplete, a host or port missing? ({reason})"
        if error.__class__.__module__.startswith("OpenSSL"):
            reason = (
                "cannot load the CA certificates: trustRoots= must name a "
                "directory of PEM certificates only (a private key in it is "
                "not one), or caCertsDir= likewise"
            )
        if description.partition(":")[0].lower() in ("tls", "ssl"):
            try:
                import OpenSSL  # noqa: F401
            except ImportError:
                reason = f"TLS needs pyOpenSSL: {installHint('tls')}"
        raise usage.UsageError(f"--connect {description!r}: {reason}") from None
    port = _endpointPort(endpoint)
    if port is not None and not 0 < port < 65536:
        raise usage.UsageError(f"--connect {description!r}: port {port} is not 1-65535")
    return endpoint


def _fail(message: str, status: int) -> int:
    print(f"eofrelay-cli: {message}", file=sys.stderr)
    return status


async def _watch(reactor: Any, client: RelayClient, timeout: float) -> int:
    """
    Start watching, waiting C{timeout} seconds for the reply, then print
    events until interrupted (status 0: SIGINT or SIGTERM stop the reactor,
    which closes the connection) or until the server closes the
    connection (status 2).

    @raise TimeoutError: if the reply to C{watch} does not come in time.
    """
    interrupted: list[bool] = []
    reactor.addSystemEventTrigger("before", "shutdown", interrupted.append, True)

    def show(name: str, on: bool) -> None:
        print(f"{name} {'on' if on else 'off'}", flush=True)

    try:
        await client.watch(show).addTimeout(timeout, reactor)
        await client.protocol.closed
    except ConnectionLost:
        if not interrupted:
            raise
    if interrupted:
        return 0
    return _fail("the server closed the connection", 2)


async def main(reactor: Any, options: Options) -> int:
    """
    Connect, send the command, print the reply.

    @return: The exit status.
    """
    clock: IReactorTime = reactor
    timeout = options["timeout"]
    where = options["where"]
    endpoint = options["endpoint"] or HostnameEndpoint(
        reactor, options["host"], options["port"]
    )
    try:
        connecting = connect(reactor, endpoint, options["token"])
        client = await connecting.addTimeout(timeout, clock)
    except (TimeoutError, ConnectingCancelledError):
        # An endpoint cancelled by the timeout fails with the latter.
        return _fail(f"no connection to {where} within {timeout:g} s", 2)
    except RelayError as error:
        # auth refused: the reply as sent, like every error reply.
        print(error.reply, file=sys.stderr)
        return 1
    except ConnectionRefusedError:
        return _fail(
            f"cannot connect to {where}: connection refused (is eofrelay "
            "running there, on that port?)",
            2,
        )
    except (ConnectError, DNSLookupError, ConnectionLost, OSError, ValueError) as error:
        # ValueError: a host name that HostnameEndpoint refuses.
        return _fail(f"cannot connect to {where}: {error}", 2)
    command = options["command"]
    try:
        if command == "watch":
            return await _watch(reactor, client, timeout)
        replying = _CALLS[command](client, options["arguments"])
        reply = await replying.addTimeout(timeout, clock)
    except TimeoutError:
        return _fail(f"no reply from {where} within {timeout:g} s", 2)
    except RelayError as error:
        # An error reply, or UnexpectedReply: the reply as sent.
        print(error.reply, file=sys.stderr)
        return 1
    except ConnectionLost as error:
        return _fail(f"connection to {where} lost: {error}", 2)
    finally:
        client.disconnect()
    print(reply)
    return 0


def run(argv: Optional[list[str]] = None) -> None:
    """
    The C{eofrelay-cli} console script.
    """
    options = Options()
    try:
        options.parseOptions(sys.argv[1:] if argv is None else argv)
    except usage.UsageError as error:
        print(
            f"eofrelay-cli: {error}\nRun 'eofrelay-cli --help' for the options.",
            file=sys.stderr,
        )
        raise SystemExit(2) from None

    async def exit(reactor: Any) -> None:
        status = await main(reactor, options)
        if status:
            raise SystemExit(status)

    react(lambda reactor: Deferred.fromCoroutine(exit(reactor)))


if __name__ == "__main__":
    run()
