# -*- test-case-name: tests.test_statefile -*-
"""
The state file: the relays' commanded states, kept on disk across
restarts and power cuts.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from typing import Any, Optional, cast

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from eofrelay.core.logs import STATE_FILE, NamedLogger

#: Runs a blocking function away from the reactor thread, returning a
#: Deferred with its result.
ThreadRunner = Callable[..., Deferred[Any]]

FORMAT_VERSION = 1


def encodeStates(states: Mapping[str, bool]) -> bytes:
    """
    The file's content for C{states}.
    """
    document = {"version": FORMAT_VERSION, "relays": dict(states)}
    return (json.dumps(document, indent=2) + "\n").encode("ascii")


def decodeStates(content: bytes) -> dict[str, bool]:
    """
    The states recorded in a file's content.

    @raise ValueError: if the content is not a state file.
    """
    try:
        document = json.loads(content.decode("ascii"))
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
        raise ValueError("not an eofrelay state file of version 1")
    relays = document.get("relays")
    if not isinstance(relays, dict) or not all(
        isinstance(name, str) and isinstance(on, bool) for name, on in relays.items()
    ):
        raise ValueError("'relays' must map names to true or false")
    return relays


def writeAtomically(path: str, content: bytes) -> None:
    """
    Replace the file at C{path} with C{content} so that a crash or power
    cut at any instant leaves either the old or the new file: write a
    temporary file in the same directory, flush and fsync it, rename it
    over C{path}, and fsync the directory.
    """
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    directoryDescriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directoryDescriptor)
    finally:
        os.close(directoryDescriptor)


def _runInReactorThreadPool(function: Callable[..., Any], *args: Any) -> Deferred[Any]:
    """
    Run C{function} in the reactor's thread pool.
    """
    from twisted.internet import reactor as installed
    from twisted.internet.interfaces import IReactorThreads
    from twisted.internet.threads import deferToThreadPool

    reactor = cast(IReactorThreads, installed)
    return deferToThreadPool(reactor, reactor.getThreadPool(), function, *args)


class StateFile:
    """
    Records the relays' commanded states in a file, atomically, without
    blocking the reactor.

    Writes happen in a thread, one at a time; states saved while a write is
    in progress are written right after it, only the newest of them.

    @ivar path: The file's path.
    """

    log = NamedLogger(STATE_FILE)

    def __init__(self, path: str, runInThread: Optional[ThreadRunner] = None) -> None:
        """
        @param runInThread: Runs the blocking writes; the reactor's thread
            pool by default.  Tests pass a synchronous one.
        """
        self.path = path
        self._runInThread = runInThread or _runInReactorThreadPool
        self._latest: Optional[dict[str, bool]] = None
        self._written: Optional[dict[str, bool]] = None
        self._writing = False
        self._frozen = False
        self._flushed: list[Deferred[None]] = []

    def load(self) -> dict[str, bool]:
        """
        Read the recorded states.  A missing, empty or corrupt file is
        reported in the log and read as no states (every relay off).
        Temporary files left by a write that a crash interrupted are
        removed.
        """
        self._removeLeftovers()
        try:
            with open(self.path, "rb") as file:
                content = file.read()
        except FileNotFoundError:
            self.log.warn(
                "state file {path} does not exist yet: every relay starts off",
                path=self.path,
            )
            return {}
        except OSError as error:
            self.log.error(
                "state file {path} cannot be read ({error}): every relay starts off",
                path=self.path,
                error=str(error),
            )
            return {}
        try:
            states = decodeStates(content)
        except (ValueError, UnicodeDecodeError) as error:
            self.log.error(
                "state file {path} is {what} ({error}): every relay starts off",
                path=self.path,
                what="empty" if not content.strip() else "corrupt",
                error=str(error),
            )
            return {}
        self._written = states
        return states

    def _removeLeftovers(self) -> None:
        """
        Remove the temporary files of writes that never finished.
        """
        directory = os.path.dirname(os.path.abspath(self.path))
        prefix = f".{os.path.basename(self.path)}."
        try:
            names = os.listdir(directory)
        except OSError:
            return
        for name in names:
            if name.startswith(prefix) and name.endswith(".tmp"):
                try:
                    os.unlink(os.path.join(directory, name))
                except OSError:
                    continue
                self.log.info(
                    "removed {name}, left by an interrupted write of the state file",
                    name=name,
                )

    def save(self, states: Mapping[str, bool]) -> None:
        """
        Record C{states}, soon, unless they are already recorded or the
        file is frozen.
        """
        if self._frozen:
            return
        self._latest = dict(states)
        if not self._writing:
            self._writeLatest()

    def freeze(self) -> None:
        """
        Record nothing more (what is already being written still is).
        """
        self._frozen = True

    def flush(self) -> Deferred[None]:
        """
        @return: A Deferred firing once everything saved so far is written.
        """
        if not self._writing:
            return succeed(None)
        flushed: Deferred[None] = Deferred()
        self._flushed.append(flushed)
        return flushed

    def _writeLatest(self) -> None:
        """
        Start writing the newest states, if they differ from the file.
        """
        states, self._latest = self._latest, None
        if states is None or states == self._written:
            for flushed in self._flushed:
                flushed.callback(None)
            self._flushed = []
            return
        self._writing = True
        writing = maybeDeferred(
            self._runInThread, writeAtomically, self.path, encodeStates(states)
        )
        writing.addCallbacks(self._done, self._failed, (states,))

    def _done(self, ignored: object, states: dict[str, bool]) -> None:
        self._written = states
        self._writing = False
        self._writeLatest()

    def _failed(self, failure: Failure) -> None:
        self.log.failure(
            "could not write state file {path}", failure=failure, path=self.path
        )
        self._writing = False
        self._writeLatest()


def restoredStates(
    recorded: Mapping[str, bool],
    names: list[str],
    interlocks: list[list[str]],
    log: Logger = StateFile.log,
) -> dict[str, bool]:
    """
    The states to restore for the configured relays from recorded ones.

    Names match case-insensitively; a configured relay the file does not
    mention starts off; a recorded relay that is no longer configured is
    ignored.  When the file says that several relays of one interlock group
    are on, none of that group is restored, and the log says so; groups
    that share a relay are each judged by what the file says, so the
    order of the groups does not matter.

    @param names: The configured relay names.
    @param interlocks: The interlock groups, as lists of names.
    """
    byName = {name.lower(): on for name, on in recorded.items()}
    states = {name: byName.get(name.lower(), False) for name in names}
    for name in recorded:
        if name.lower() not in {configured.lower() for configured in names}:
            log.warn(
                "state file mentions relay {relay}, which is not configured; ignored",
                relay=name,
            )
    for group in interlocks:
        members = [name for name in names if name.lower() in {g.lower() for g in group}]
        on = [name for name in members if byName.get(name.lower(), False)]
        if len(on) > 1:
            log.warn(
                "state file says interlocked relays {relays} are all on: "
                "restoring none of them (all off)",
                relays=", ".join(on),
            )
            for name in members:
                states[name] = False
    return states
