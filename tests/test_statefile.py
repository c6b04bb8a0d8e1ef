"""
Tests for L{eofrelay.core.statefile}.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.bank import RelayBank
from eofrelay.core.statefile import (
    StateFile,
    decodeStates,
    encodeStates,
    restoredStates,
    writeAtomically,
)


def synchronously(function: Any, *args: Any) -> Deferred[Any]:
    return maybeDeferred(function, *args)


class ManualThread:
    """
    Runs the blocking write only when the test says so.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[Deferred[Any], Any, tuple[Any, ...]]] = []

    def __call__(self, function: Any, *args: Any) -> Deferred[Any]:
        result: Deferred[Any] = Deferred()
        self.calls.append((result, function, args))
        return result

    def runOne(self) -> None:
        result, function, args = self.calls.pop(0)
        result.callback(function(*args))


class StateFileTests(SynchronousTestCase):
    """
    Tests for L{StateFile}.
    """

    def setUp(self) -> None:
        self.path = self.mktemp()
        os.makedirs(os.path.dirname(self.path), exist_ok=True)

    def test_roundTrip(self) -> None:
        """
        Saved states are loaded back.
        """
        StateFile(self.path, synchronously).save({"a": True, "B": False})
        self.assertEqual(StateFile(self.path).load(), {"a": True, "B": False})

    def test_unreadable(self) -> None:
        """
        A missing, empty, truncated or corrupt file is reported in the log
        and loads as no states.
        """
        content = encodeStates({"a": True})
        cases = {
            None: "does not exist",
            b"": "is empty",
            b"\n": "is empty",
            content[: len(content) // 2]: "is corrupt",
            b"\xff\xfe": "is corrupt",
            b'{"version": 2, "relays": {}}': "is corrupt",
            b'{"version": 1, "relays": {"a": 1}}': "is corrupt",
            b"[]": "is corrupt",
            b'{"version": 1, "relays": {}, "x": '
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}": "is corrupt",
        }
        for data, what in cases.items():
            if data is not None:
                with open(self.path, "wb") as file:
                    file.write(data)
            elif os.path.exists(self.path):
                os.unlink(self.path)
            with capturedLogs() as events:
                self.assertEqual(StateFile(self.path).load(), {})
            [event] = events
            text = event["log_format"].format(**event)
            self.assertIn(what, text)
            self.assertIn("every relay starts off", text)

    def test_crashBeforeRename(self) -> None:
        """
        A crash between writing the temporary file and renaming it leaves
        the old file whole, and no temporary file behind.
        """
        writeAtomically(self.path, encodeStates({"a": True}))

        def crash(source: str, destination: str) -> None:
            raise OSError("power cut")

        self.patch(os, "replace", crash)
        self.assertRaises(
            OSError, writeAtomically, self.path, encodeStates({"a": False})
        )
        self.assertEqual(StateFile(self.path).load(), {"a": True})
        self.assertEqual(
            os.listdir(os.path.dirname(self.path)), [os.path.basename(self.path)]
        )

    def test_leftoversRemoved(self) -> None:
        """
        Loading removes temporary files that an interrupted write left, and
        nothing else.
        """
        directory = os.path.dirname(self.path)
        name = os.path.basename(self.path)
        for leftover in (f".{name}.abc.tmp", "other.tmp", f".{name}.x"):
            with open(os.path.join(directory, leftover), "wb"):
                pass
        StateFile(self.path).load()
        self.assertEqual(sorted(os.listdir(directory)), [f".{name}.x", "other.tmp"])

    def test_fsyncs(self) -> None:
        """
        The temporary file and the directory are fsynced, the file before
        the rename.
        """
        order: list[str] = []
        realFsync, realReplace = os.fsync, os.replace

        def fsync(descriptor: int) -> None:
            order.append("fsync-dir" if "replace" in order else "fsync-file")
            realFsync(descriptor)

        def replace(source: str, destination: str) -> None:
            order.append("replace")
            realReplace(source, destination)

        self.patch(os, "fsync", fsync)
        self.patch(os, "replace", replace)
        writeAtomically(self.path, b"x")
        self.assertEqual(order, ["fsync-file", "replace", "fsync-dir"])

    def test_coalesced(self) -> None:
        """
        States saved while a write is in progress are written after it,
        only the newest; states already on disk are not written again;
        C{flush} fires once all is written.
        """
        thread = ManualThread()
        stateFile = StateFile(self.path, thread)
        stateFile.save({"a": True})
        stateFile.save({"a": True, "b": True})
        stateFile.save({"a": False, "b": True})
        flushed = stateFile.flush()
        self.assertEqual(len(thread.calls), 1)
        thread.runOne()
        self.assertEqual(len(thread.calls), 1)
        self.assertNoResult(flushed)
        thread.runOne()
        self.successResultOf(flushed)
        self.assertEqual(StateFile(self.path).load(), {"a": False, "b": True})
        stateFile.save({"a": False, "b": True})
        self.assertEqual(thread.calls, [])

    def test_freeze(self) -> None:
        """
        After C{freeze}, nothing more is recorded.
        """
        stateFile = StateFile(self.path, synchronously)
        stateFile.save({"a": True})
        stateFile.freeze()
        stateFile.save({"a": False})
        self.assertEqual(StateFile(self.path).load(), {"a": True})

    def test_writeFailureLogged(self) -> None:
        """
        A write that fails is logged and does not stop later writes.
        """
        stateFile = StateFile(
            os.path.join(self.path, "missing-dir", "state"), synchronously
        )
        stateFile.save({"a": True})
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.successResultOf(stateFile.flush())

    def test_encoding(self) -> None:
        """
        The format is versioned JSON.
        """
        self.assertEqual(decodeStates(encodeStates({"x": False})), {"x": False})
        self.assertIn(b'"version": 1', encodeStates({}))


class RepeatedCommandTests(SynchronousTestCase):
    """
    A command that changes nothing still brings the state file up to date.
    """

    def setUp(self) -> None:
        self.path = self.mktemp()
        os.makedirs(os.path.dirname(self.path), exist_ok=True)

    def test_staleFileCorrected(self) -> None:
        """
        A file left saying C{on} by an earlier run, with the relay started
        off, records C{off} once a client commands C{off}.
        """
        from twisted.internet.task import Clock

        from eofrelay.tcp.factory import RelayFactory
        from eofrelay.testing import MemoryRelay, connect

        StateFile(self.path, synchronously).save({"relay": True})
        stateFile = StateFile(self.path, synchronously)
        factory = RelayFactory(
            RelayBank([MemoryRelay()], clock=Clock(), stateFile=stateFile)
        )
        protocol, transport = connect(factory)
        protocol.dataReceived(b"off<EOF>")
        self.assertEqual(transport.value(), b"success<EOF>")
        self.assertEqual(StateFile(self.path).load(), {"relay": False})

    def test_failedWriteRetried(self) -> None:
        """
        When recording C{on} failed, the client's repeated C{on} records it.
        """
        from twisted.internet.defer import fail
        from twisted.internet.task import Clock

        from eofrelay.tcp.factory import RelayFactory
        from eofrelay.testing import MemoryRelay, connect

        attempts: list[object] = []

        def diskFullOnce(function: Any, *args: Any) -> Deferred[Any]:
            attempts.append(function)
            if len(attempts) == 1:
                return fail(OSError(28, "No space left on device"))
            return maybeDeferred(function, *args)

        stateFile = StateFile(self.path, diskFullOnce)
        factory = RelayFactory(
            RelayBank([MemoryRelay()], clock=Clock(), stateFile=stateFile)
        )
        protocol, transport = connect(factory)
        protocol.dataReceived(b"on<EOF>")
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.assertFalse(os.path.exists(self.path))
        protocol.dataReceived(b"on<EOF>")
        self.assertEqual(transport.value(), b"success<EOF>success<EOF>")
        self.assertEqual(StateFile(self.path).load(), {"relay": True})


class RestoredStatesTests(SynchronousTestCase):
    """
    Tests for L{restoredStates}.
    """

    def test_matching(self) -> None:
        """
        Names match case-insensitively; unmentioned relays are off; unknown
        ones are ignored and logged.
        """
        with capturedLogs() as events:
            states = restoredStates({"A": True, "gone": True}, ["a", "b"], [])
        self.assertEqual(states, {"a": True, "b": False})
        self.assertEqual([e["relay"] for e in events], ["gone"])

    def test_interlockConflict(self) -> None:
        """
        Relays of one interlock group recorded on together are all restored
        off, and the log says so; other relays are restored.
        """
        with capturedLogs() as events:
            states = restoredStates(
                {"up": True, "down": True, "light": True},
                ["up", "down", "light"],
                [["UP", "down"]],
            )
        self.assertEqual(states, {"up": False, "down": False, "light": True})
        self.assertEqual([e["relays"] for e in events], ["up, down"])

    def test_overlappingInterlocks(self) -> None:
        """
        Interlock groups that share a relay are each judged by what the
        file says, whatever their order: every group recorded with
        several relays on starts off, and each conflict is logged.
        """
        recorded = {"a": True, "b": True, "c": True, "d": True}
        names = ["a", "b", "c", "d"]
        for groups in ([["a", "b"], ["b", "c"]], [["b", "c"], ["a", "b"]]):
            with capturedLogs() as events:
                states = restoredStates(recorded, names, groups)
            self.assertEqual(states, {"a": False, "b": False, "c": False, "d": True})
            self.assertEqual(sorted(e["relays"] for e in events), ["a, b", "b, c"])
