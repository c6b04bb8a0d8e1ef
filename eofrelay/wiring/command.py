# -*- test-case-name: tests.test_command -*-
"""
The C{eofrelay} command (and C{python -m eofrelay}): the service of
C{twistd -n eofrelay}, built from the same options by the same
L{makeService}, run in the foreground with its log on standard output, as
Twisted's C{twist} runs a plugin's service.

Exit status: 2 for an option refused (one line, and a hint to C{--help}),
1 when the service cannot start (GPIO unavailable); stopped by SIGINT,
SIGTERM or SIGHUP, it applies its exit policy and then ends by that
signal, as C{twistd} does.
"""

from __future__ import annotations

import os
import platform
import signal
import sys
from collections.abc import Sequence
from typing import IO, Any, NoReturn, Optional

from twisted.application.service import IService
from twisted.copyright import version
from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    InvalidLogLevelError,
    LogBeginner,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    textFileLogObserver,
)
from twisted.python import usage

from eofrelay import __version__
from eofrelay.core.logs import SERVICE, NamedLogger
from eofrelay.wiring.build import makeService
from eofrelay.wiring.optionerrors import USAGE_STATUS, optionErrorMessage
from eofrelay.wiring.options import Options

_log = NamedLogger(SERVICE)

#: The names C{--log-level} takes, least important first.
LOG_LEVELS = tuple(level.name for level in LogLevel.iterconstants())


def versionLine() -> str:
    """
    What C{eofrelay --version} prints: eofrelay's version, Twisted's and
    Python's.
    """
    return (
        f"eofrelay {__version__} (Twisted {version}, "
        f"Python {platform.python_version()})"
    )


class CommandOptions(Options):
    """
    The options of the C{eofrelay} command: those of C{twistd eofrelay}
    (a C{--config} file included), and C{--log-level} and C{--version},
    which a config file does not give.
    """

    synopsis = "Usage: eofrelay [options]"
    longdesc = (
        Options.longdesc + " Runs in the foreground, logging to standard output, "
        "until Ctrl-C, SIGTERM or SIGHUP."
    )
    optParameters = [
        [
            "log-level",
            None,
            "info",
            f"the least important log lines written: {', '.join(LOG_LEVELS)}",
        ],
    ]

    def opt_version(self) -> NoReturn:
        """
        Display eofrelay's version (and Twisted's and Python's) and exit.
        """
        print(versionLine())
        raise SystemExit(0)

    def postOptions(self) -> None:
        """
        Check C{--log-level}, then the options of the service.
        """
        try:
            self["log-level"] = LogLevel.levelWithName(self["log-level"])
        except InvalidLogLevelError:
            raise usage.UsageError(
                f"--log-level {self['log-level']!r}: choose one of "
                f"{', '.join(LOG_LEVELS)}"
            ) from None
        super().postOptions()


def foregroundObserver(logFile: IO[str], level: LogLevel) -> ILogObserver:
    """
    The log observer of the C{eofrelay} command: lines in C{twistd}'s
    format to C{logFile}, those below C{level} left out.
    """
    return FilteringLogObserver(
        textFileLogObserver(logFile),
        [LogLevelFilterPredicate(defaultLogLevel=level)],
    )


def runInForeground(
    reactor: Any,
    service: IService,
    level: LogLevel = LogLevel.info,
    logFile: Optional[IO[str]] = None,
    beginner: LogBeginner = globalLogBeginner,
) -> None:
    """
    Start logging to C{logFile} (standard output by default), start
    C{service} as C{twistd} does, run C{reactor} until it is stopped (a
    signal, or C{reactor.stop()}), after which the service has been
    stopped, and end by the signal that stopped it, if any.
    """
    beginner.beginLoggingTo(
        [foregroundObserver(sys.stdout if logFile is None else logFile, level)]
    )
    _log.info(
        "{version} starting up; reactor: {reactor}",
        version=versionLine(),
        reactor=f"{type(reactor).__module__}.{type(reactor).__qualname__}",
    )
    service.privilegedStartService()
    service.startService()
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.run()
    _log.info("Server Shut Down.")
    endBySignal(getattr(reactor, "_exitSignal", None))


def endBySignal(number: Optional[int]) -> None:
    """
    End the process by signal C{number}, as C{twistd} does once it has
    stopped on a signal (systemd counts an end by the SIGTERM it sent as a
    clean stop); with L{None}, return.
    """
    if number is None:
        return
    signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """
    The C{eofrelay} console script: parse the options (C{argv}, by default
    C{sys.argv[1:]}), build the service and run it in the foreground.

    @raise SystemExit: with status 2 and the one-line message of
        L{optionErrorMessage} on standard error for an option refused;
        with the one-line message of L{makeService} if it cannot start.
    """
    options = CommandOptions()
    try:
        options.parseOptions(sys.argv[1:] if argv is None else list(argv))
    except usage.UsageError as error:
        print(optionErrorMessage("eofrelay", error), file=sys.stderr)
        raise SystemExit(USAGE_STATUS) from None
    except BrokenPipeError:
        # --help into a pipe that was closed early (eofrelay --help | head):
        # as for any command-line tool, nothing more to say.  Standard
        # output goes nowhere from now on, so that the interpreter's own
        # flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    from twisted.internet import reactor

    runInForeground(reactor, makeService(options), options["log-level"])
