"""
A hypothesis state machine: random command streams cut anywhere, across
connections that open, close and go idle, with the clock advancing, agree
with a model of the relays and the connections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.bank import RelayBank
from eofrelay.tcp.factory import RelayFactory
from eofrelay.tcp.protocol import RelayProtocol
from eofrelay.testing import MemoryRelay, connect

MAX_LINE = 24
IDLE = 600.0
DELIMITER = b"<EOF>"

pieces = st.sampled_from(
    [
        b"on", b"off", b"toggle", b"status", b"relays", b"ping", b"quit", b"pulse",
        b" ", b"a", b"B", b"c", b"125", b"1000", b"0", b"\r\n", b"\xff", b"x",
        b"<EOF>", b"<", b"<E", b"<EO", b"EOF>", b"F>",
    ]
)  # fmt: skip


@dataclass
class ModelConnection:
    """
    What the model knows of one connection.
    """

    buffer: bytes = b""
    expected: bytes = b""
    closed: bool = False
    lost: bool = False
    lastActive: float = 0.0


@dataclass
class Model:
    """
    Two relays C{a} and C{b}, their pulse deadlines, the connections.
    """

    state: dict[str, bool] = field(default_factory=lambda: {"a": False, "b": False})
    deadline: dict[str, float] = field(default_factory=dict)
    now: float = 0.0

    def reply(self, message: bytes) -> bytes:
        words = message.replace(b"\t", b" ").replace(b"\r", b" ").replace(b"\n", b" ")
        parts = [w for w in words.split(b" ") if w]
        if not parts:
            return b"error: empty command"
        if not message.isascii():
            return b"error: bad encoding"
        verb, arguments = parts[0].decode().lower(), [p.decode() for p in parts[1:]]
        if verb in ("ping", "relays", "quit"):
            if arguments:
                return b"error: bad argument"
            if verb == "ping":
                return b"pong"
            if verb == "quit":
                return b"bye"
            return " ".join(
                f"{n}={'on' if s else 'off'}" for n, s in self.state.items()
            ).encode()
        if verb == "pulse":
            if not 1 <= len(arguments) <= 2:
                return b"error: bad argument"
            names, ms = arguments[:-1], arguments[-1]
            if names and names[0].lower() not in self.state:
                return b"error: unknown relay"
            if not (ms.isdigit() and 1 <= int(ms) <= 86_400_000):
                return b"error: bad argument"
            name = names[0].lower() if names else "a"
            self.state[name] = True
            self.deadline[name] = self.now + int(ms) / 1000
            return b"success"
        if verb not in ("on", "off", "toggle", "status"):
            return b"error: unknown command"
        if len(arguments) > 1:
            return b"error: bad argument"
        name = arguments[0].lower() if arguments else "a"
        if name == "all" and verb in ("on", "off"):
            for relay in self.state:
                self.deadline.pop(relay, None)
                self.state[relay] = verb == "on"
            return b"success"
        if name == "all":
            return b"error: bad argument"
        if name not in self.state:
            return b"error: unknown relay"
        if verb == "status":
            return b"on" if self.state[name] else b"off"
        self.deadline.pop(name, None)
        self.state[name] = {"on": True, "off": False}.get(verb, not self.state[name])
        return b"success"


def incompleteLength(buffer: bytes) -> int:
    """
    The length of the message an incomplete buffer holds: the buffer less
    any start of a delimiter at its end.
    """
    for size in range(min(4, len(buffer)), 0, -1):
        if DELIMITER.startswith(buffer[-size:]):
            return len(buffer) - size
    return len(buffer)


class RelayMachine(RuleBasedStateMachine):
    """
    The real factory and protocols beside the model.
    """

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.relays = [MemoryRelay("a"), MemoryRelay("b")]
        self.factory = RelayFactory(
            RelayBank(self.relays, clock=self.clock), maxLine=MAX_LINE, idleTimeout=IDLE
        )
        self.model = Model()
        self.connections: list[
            tuple[RelayProtocol, StringTransport, ModelConnection]
        ] = []

    @rule()
    def open(self) -> None:
        protocol, transport = connect(self.factory, port=40000 + len(self.connections))
        self.connections.append(
            (protocol, transport, ModelConnection(lastActive=self.model.now))
        )

    @precondition(lambda self: self.connections)
    @rule(index=st.integers(0, 20), data=st.lists(pieces, min_size=1, max_size=8))
    def send(self, index: int, data: list[bytes]) -> None:
        protocol, _transport, connection = self.connections[
            index % len(self.connections)
        ]
        chunk = b"".join(data)
        protocol.dataReceived(chunk)
        if connection.closed or connection.lost:
            return
        connection.buffer += chunk
        while DELIMITER in connection.buffer and not connection.closed:
            message, connection.buffer = connection.buffer.split(DELIMITER, 1)
            if len(message) > MAX_LINE:
                connection.expected += b"error: line too long<EOF>"
                connection.closed = True
                break
            connection.lastActive = self.model.now
            reply = self.model.reply(message)
            connection.expected += reply + DELIMITER
            if reply == b"bye":
                connection.closed = True
        if not connection.closed and incompleteLength(connection.buffer) > MAX_LINE:
            connection.expected += b"error: line too long<EOF>"
            connection.closed = True

    @precondition(lambda self: self.connections)
    @rule(index=st.integers(0, 20))
    def disconnect(self, index: int) -> None:
        protocol, _transport, connection = self.connections[
            index % len(self.connections)
        ]
        if not connection.lost:
            protocol.connectionLost(None)
            connection.lost = True

    @rule(seconds=st.sampled_from([0.125, 0.25, 1.0, 100.0, 300.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        model = self.model
        model.now += seconds
        for name, when in list(model.deadline.items()):
            if when <= model.now:
                del model.deadline[name]
                model.state[name] = False
        for _, _, connection in self.connections:
            if not (connection.closed or connection.lost):
                if connection.lastActive + IDLE <= model.now:
                    connection.closed = True

    @invariant()
    def agrees(self) -> None:
        for _protocol, transport, connection in self.connections:
            assert transport.value() == connection.expected, (
                transport.value(),
                connection.expected,
            )
            if not connection.lost:
                assert transport.disconnecting == connection.closed
        assert [relay.on for relay in self.relays] == list(self.model.state.values())
        pulsing = {relay.name for relay in self.factory.bank.relays if relay.pulsing}
        assert pulsing == set(self.model.deadline)

    def teardown(self) -> None:
        for protocol, _, connection in self.connections:
            if not connection.lost:
                protocol.connectionLost(None)
        assert self.factory.connections == set()


class StatefulTests(SynchronousTestCase):
    """
    Runs L{RelayMachine}.
    """

    def test_machine(self) -> None:
        """
        Random command streams, cuts, disconnects, idle connections and
        clock advances agree with the model at every step.
        """
        run_state_machine_as_test(
            RelayMachine,
            settings=settings(
                max_examples=150,
                stateful_step_count=40,
                deadline=None,
                derandomize=True,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
