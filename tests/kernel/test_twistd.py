"""
End to end: a real C{twistd -n eofrelay --gpio gpiod} on a gpio-sim chip,
driven over TCP on the loopback interface, with each line's level read
from sysfs after every command and the trace of what gpiolib drove read at
each step.

The service serves C{a} on line 1 (active-high) and C{b} on line 2
(active-low), interlocked.  A relay is on when its line is at its active
level: C{a} at 1, C{b} at 0.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ProcessTerminated
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from eofrelay.gpio.libgpiod import CONSUMER
from tests.kernel.gpiosim import (
    OTHER_PROGRAM,
    Event,
    GpioTrace,
    SimulatedChip,
    simulatedChip,
    since,
    skipReason,
    traced,
)
from tests.test_plugin import ROOT, TWISTD, Twistd

#: The lines of relays a and b.
A, B = 1, 2


class Client(Protocol):
    """
    A client that sends one message at a time and gives its reply, and
    keeps the C{event: ...} messages apart.
    """

    def __init__(self) -> None:
        self.buffer = b""
        self.replies: list[Deferred[bytes]] = []
        self.events: list[bytes] = []
        self.eventWaiters: list[tuple[bytes, Deferred[None]]] = []

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        while b"<EOF>" in self.buffer:
            message, self.buffer = self.buffer.split(b"<EOF>", 1)
            if message.startswith(b"event: "):
                self.events.append(message)
                self._fireEvents()
            else:
                self.replies.pop(0).callback(message)

    def _fireEvents(self) -> None:
        waiting, self.eventWaiters = self.eventWaiters, []
        for event, waiter in waiting:
            if event in self.events:
                waiter.callback(None)
            else:
                self.eventWaiters.append((event, waiter))

    def send(self, message: bytes) -> Deferred[bytes]:
        """
        Send C{message}; the result is its reply, without C{<EOF>}.
        """
        reply: Deferred[bytes] = Deferred()
        self.replies.append(reply)
        self.transport.write(message + b"<EOF>")  # type: ignore[union-attr]
        return reply

    def event(self, event: bytes) -> Deferred[None]:
        """
        Fires once C{event} (C{b"event: b off"}) has arrived.
        """
        waiter: Deferred[None] = Deferred()
        self.eventWaiters.append((event, waiter))
        self._fireEvents()
        return waiter

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        for reply in self.replies:
            reply.errback(reason)
        self.replies = []


def spawnEofrelay(test: TestCase, chip: SimulatedChip, *options: str) -> Twistd:
    """
    C{twistd -n eofrelay --gpio gpiod --gpio-chip CHIP} with C{options}
    (the relays and the rest), listening on a free port of 127.0.0.1, as a
    child process running in a new temporary directory; killed at the end
    of C{test} if still running.

    Its C{port} fires once the service logs that it serves the relays: the
    pins, and the buttons' inputs, are set up by then.
    """
    process = Twistd()
    arguments = [
        *("-n", "--pidfile=", "eofrelay", "--gpio", "gpiod"),
        *("--gpio-chip", chip.path, *options),
        *("--listen", "tcp:0:interface=127.0.0.1"),
    ]
    directory = test.mktemp()
    os.makedirs(directory)
    transport = reactor.spawnProcess(
        process,
        sys.executable,
        [sys.executable, "-c", TWISTD, *arguments],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        path=directory,
    )

    def kill() -> Deferred[Exception] | None:
        if process.ended.called:
            return None
        transport.signalProcess("KILL")
        return process.ended

    test.addCleanup(kill)
    return process


@inlineCallbacks
def connectClient(test: TestCase, port: int, client: Client | None = None):
    """
    C{client} (a new L{Client} by default) connected to C{port} of
    127.0.0.1, disconnected at the end of C{test}.
    """
    client = Client() if client is None else client
    yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), client)
    test.addCleanup(client.transport.loseConnection)  # type: ignore[union-attr]
    return client


def neverBothOn(events: Sequence[Event], chip: SimulatedChip) -> bool:
    """
    Whether the levels driven in C{events} never had C{a} (high) and C{b}
    (low) on at the same instant; a line not driven yet is off.
    """
    a, b = chip.gpio(A), chip.gpio(B)
    levels: dict[int, int | None] = {a: None, b: None}
    for event in events:
        if event.kind == "set" and event.gpio in levels:
            levels[event.gpio] = event.value
            if levels[a] == 1 and levels[b] == 0:
                return False
    return True


class TwistdTests(TestCase):
    """
    C{twistd -n eofrelay --gpio gpiod} as a real process on a simulated
    chip.
    """

    skip = skipReason()
    # Python starts slowly in a virtual machine without KVM.
    timeout = 300

    def setUp(self) -> None:
        self.trace: GpioTrace = traced(self)
        self.chip = simulatedChip(self, self.trace)

    def spawn(self, *options: str) -> Twistd:
        """
        C{twistd -n eofrelay --gpio gpiod --gpio-chip CHIP --relay a:1
        --relay b:2:active-low --interlock a,b}, with C{options}, on a free
        port of 127.0.0.1, killed at the end of the test if still running.
        """
        return spawnEofrelay(
            self,
            self.chip,
            *("--relay", f"a:{A}", "--relay", f"b:{B}:active-low"),
            *("--interlock", "a,b", *options),
        )

    def holdLine(self, offset: int) -> Any:
        """
        Hold line C{offset} as an output driving 1, as another program,
        until the end of the test.

        @return: The C{gpiod} line request.
        """
        import gpiod
        from gpiod.line import Direction, Value

        settings = gpiod.LineSettings(
            direction=Direction.OUTPUT, output_value=Value.ACTIVE
        )
        request = gpiod.request_lines(
            self.chip.path, consumer=OTHER_PROGRAM, config={offset: settings}
        )
        self.addCleanup(request.release)
        return request

    def connect(self, port: int) -> Deferred[Client]:
        return connectClient(self, port)

    def driven(self, offset: int, mark: str) -> list[int]:
        """
        The levels driven on line C{offset} since C{mark}, in order.
        """
        gpio = self.chip.gpio(offset)
        return [
            event.value
            for event in since(self.trace.events(), mark)
            if event.kind == "set" and event.gpio == gpio
        ]

    @inlineCallbacks
    def started(self, *options: str):
        """
        Start the service with C{options}; check that each line was
        requested at its off level (never on, not even for an instant),
        held by C{eofrelay} as the relay's kind, and no other line is
        touched.

        @return: The process, its port and a connected L{Client}.
        """
        self.assertEqual(self.chip.levels(A, B), (0, 0))
        self.trace.mark("start")
        process = self.spawn(*options)
        port = yield process.port
        self.assertEqual(self.chip.levels(A, B), (0, 1))
        self.assertEqual((self.driven(A, "start"), self.driven(B, "start")), ([0], [1]))
        for offset, activeLow in ((A, False), (B, True)):
            info = self.chip.info(offset)
            self.assertEqual(
                (info.consumer, info.direction.name, info.active_low),
                (CONSUMER, "OUTPUT", activeLow),
            )
        others = [0, 3, 4, 6, 7]
        self.assertEqual(self.chip.unused(others), others)
        client = yield self.connect(port)
        return process, port, client

    @inlineCallbacks
    def commands(self, client: Client, steps: Sequence[tuple[bytes, bytes, str]]):
        """
        Send each message of C{steps} and check its reply and then the
        levels of C{a} and C{b} (C{"10"}: C{a}'s line high, C{b}'s low).
        """
        for message, reply, levels in steps:
            self.assertEqual((yield client.send(message)), reply, message)
            self.assertEqual(
                "".join(map(str, self.chip.levels(A, B))), levels, message.decode()
            )

    @inlineCallbacks
    def stopped(self, process: Twistd, held: Sequence[int] = ()):
        """
        Send SIGTERM; the process ends by it, without a traceback, and the
        kernel has freed both lines (gpio-sim then shows their pull) and
        none of the lines C{held} by another program.

        @return: The process's output.
        """
        self.trace.mark("stop")
        os.kill(int(process.transport.pid), signal.SIGTERM)  # type: ignore[union-attr]
        reason = yield process.ended
        output = process.output.decode()
        self.assertIsInstance(reason, ProcessTerminated, output)
        self.assertEqual(reason.signal, signal.SIGTERM, output)
        self.assertNotIn("Traceback", output)
        free = [offset for offset in range(8) if offset not in held]
        self.assertEqual(self.chip.unused(range(8)), free)
        self.assertEqual(self.chip.levels(A, B), (0, 0))
        return output

    @inlineCallbacks
    def test_serveAndStop(self):
        """
        Every command drives the lines it means, at once: sysfs shows it
        when the reply arrives; interlocked relays are never on together,
        not even for an instant; a pulse ends on the line; on SIGTERM, with
        C{--on-exit off} (the default), the relays are driven off before the
        lines are released, and only eofrelay's lines.
        """
        self.holdLine(5)
        process, port, client = yield self.started()
        yield self.commands(
            client,
            [
                (b"status a", b"off", "01"),
                (b"on a", b"success", "11"),
                (b"on b", b"success", "00"),
                (b"status a", b"off", "00"),
                (b"toggle a", b"success", "11"),
                (b"relays", b"a=on b=off", "11"),
                (b"off a", b"success", "01"),
                (b"toggle b", b"success", "00"),
                (b"off all", b"success", "01"),
                (b"on b", b"success", "00"),
            ],
        )
        watcher = yield self.connect(port)
        self.assertEqual((yield watcher.send(b"watch")), b"success")
        yield self.commands(client, [(b"pulse a 1500", b"success", "11")])
        yield watcher.event(b"event: a off")
        self.assertEqual(self.chip.levels(A, B), (0, 1))
        self.assertEqual(
            watcher.events, [b"event: b off", b"event: a on", b"event: a off"]
        )
        yield self.commands(client, [(b"on a", b"success", "11")])
        self.assertTrue(neverBothOn(since(self.trace.events(), "start"), self.chip))
        output = yield self.stopped(process, held=[5])
        # a was on: driven off; b was off: never driven on.
        self.assertEqual(self.driven(A, "stop"), [0])
        self.assertNotIn(0, self.driven(B, "stop"))
        self.assertIn("relay a switched off (was on) by shutdown", output)
        # The other program's line: still its, at its level, never driven.
        self.assertEqual(self.chip.info(5).consumer, OTHER_PROGRAM)
        self.assertEqual((self.chip.level(5), self.driven(5, "start")), (1, []))

    @inlineCallbacks
    def test_onExitKeep(self):
        """
        With C{--on-exit keep}, SIGTERM drives no level: the lines keep the
        levels the relays had until the process ends (and the kernel frees
        them).
        """
        process, _, client = yield self.started("--on-exit", "keep")
        yield self.commands(client, [(b"on a", b"success", "11")])
        output = yield self.stopped(process)
        self.assertEqual((self.driven(A, "stop"), self.driven(B, "stop")), ([], []))
        self.assertIn("GPIO pins left as outputs (--on-exit keep)", output)

    @inlineCallbacks
    def test_busyLine(self):
        """
        When another program holds b's line, the service exits at start
        with status 1 and the documented line, C{eofrelay: GPIO 2 on CHIP is
        busy: another program is using it}; a's line, requested before, is
        released again, and the other program's line is not touched.
        """
        self.holdLine(B)
        self.trace.mark("start")
        process = self.spawn()
        reason = yield process.ended
        output = process.output.decode()
        self.assertEqual(reason.exitCode, 1, output)
        self.assertIn(
            f"eofrelay: GPIO {B} on {self.chip.path} is busy: another program is "
            "using it",
            output,
        )
        self.assertNotIn("Traceback", output)
        self.assertEqual(self.driven(B, "start"), [])
        self.assertEqual(self.chip.level(B), 1)
        self.assertEqual(self.chip.info(B).consumer, OTHER_PROGRAM)
        self.assertEqual(self.chip.unused([A]), [A])
