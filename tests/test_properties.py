"""
Property tests (hypothesis): framing does not depend on how the stream is
cut, and any sequence of commands over several connections agrees with a
plain model of the relay states.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.bank import RelayBank
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay, connect

PROFILE = settings(
    deadline=None,
    derandomize=True,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)

RELAY_ARGUMENTS = ["", " a", " B", " b ", " zz", " all", " a b"]
VERBS = ["on", "off", "toggle", "status", "ON", "Toggle"]

commandText = st.one_of(
    st.builds(
        lambda verb, arg: verb + arg,
        st.sampled_from(VERBS),
        st.sampled_from(RELAY_ARGUMENTS),
    ),
    st.sampled_from(["relays", "ping", "help", "bogus", "", " \t", "\xe9", "relays x"]),
)

message = st.one_of(
    commandText.map(lambda text: text.encode("latin-1")),
    st.binary(max_size=12).filter(lambda data: b"<EOF>" not in data),
)


def fresh() -> tuple[RelayFactory, MemoryRelay, MemoryRelay]:
    a, b = MemoryRelay("a"), MemoryRelay("b")
    return RelayFactory(RelayBank([a, b], clock=Clock()), maxLine=16), a, b


class ChunkingTests(SynchronousTestCase):
    """
    Any cut of the byte stream gives the same replies as sending it whole.
    """

    @PROFILE
    @given(
        messages=st.lists(message, max_size=20),
        tail=st.binary(max_size=20),
        cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=30),
    )
    def test_chunking(
        self, messages: list[bytes], tail: bytes, cuts: list[int]
    ) -> None:
        """
        Sending the stream in arbitrary pieces, one byte at a time included,
        yields the same replies and the same relay history as sending it in
        one piece.
        """
        stream = b"".join(m + b"<EOF>" for m in messages) + tail

        factory, a, b = fresh()
        protocol, whole = connect(factory)
        protocol.dataReceived(stream)
        expected = (whole.value(), whole.disconnecting, a.history, b.history)

        factory, a, b = fresh()
        protocol, pieces = connect(factory)
        previous = 0
        for cut in sorted(set(cuts)) + [len(stream)]:
            cut = min(cut, len(stream))
            protocol.dataReceived(stream[previous:cut])
            previous = max(previous, cut)
        self.assertEqual(
            (pieces.value(), pieces.disconnecting, a.history, b.history), expected
        )

        factory, a, b = fresh()
        protocol, bytewise = connect(factory)
        for index in range(len(stream)):
            protocol.dataReceived(stream[index : index + 1])
        self.assertEqual(
            (bytewise.value(), bytewise.disconnecting, a.history, b.history), expected
        )


class Model:
    """
    The plain model: two relays, C{a} (default) and C{b}, and the reply
    each command should get.
    """

    def __init__(self) -> None:
        self.state = {"a": False, "b": False}

    def reply(self, text: str) -> bytes:
        words = text.split()
        if not words:
            return b"error: empty command"
        verb, arguments = words[0].lower(), words[1:]
        if verb == "relays":
            if arguments:
                return b"error: bad argument"
            return " ".join(
                f"{n}={'on' if s else 'off'}" for n, s in self.state.items()
            ).encode()
        if verb == "ping":
            return b"pong" if not arguments else b"error: bad argument"
        if verb not in ("on", "off", "toggle", "status"):
            return b"error: unknown command"
        if len(arguments) > 1:
            return b"error: bad argument"
        name = arguments[0].lower() if arguments else "a"
        if name == "all":
            if verb in ("on", "off"):
                for relay in self.state:
                    self.state[relay] = verb == "on"
                return b"success"
            return b"error: bad argument"
        if name not in self.state:
            return b"error: unknown relay"
        if verb == "status":
            return b"on" if self.state[name] else b"off"
        self.state[name] = {"on": True, "off": False}.get(verb, not self.state[name])
        return b"success"


modelCommand = st.builds(
    lambda verb, arg: verb + arg,
    st.sampled_from(VERBS + ["relays", "ping", "nope"]),
    st.sampled_from(RELAY_ARGUMENTS),
)

action = st.one_of(
    st.tuples(st.just("send"), st.integers(0, 2), modelCommand),
    st.tuples(st.just("fire"), st.integers(0, 1), st.just("")),
)


class ModelTests(SynchronousTestCase):
    """
    Commands from several connections, with relays that answer later in
    any interleaving, agree with L{Model}.
    """

    @PROFILE
    @given(actions=st.lists(action, max_size=60))
    def test_model(self, actions: list[tuple[str, int, str]]) -> None:
        """
        Every connection gets, in order, the replies the model gives when
        the commands are applied in arrival order, and the relays end in
        the model's state.
        """
        relays = [
            MemoryRelay("a", asynchronous=True),
            MemoryRelay("b", asynchronous=True),
        ]
        factory = RelayFactory(RelayBank(relays, clock=Clock()))
        connections = [connect(factory, port=40000 + i) for i in range(3)]
        model = Model()
        expected: list[list[bytes]] = [[], [], []]

        def fire(relay: MemoryRelay) -> None:
            if relay.pending:
                deferred, _ = relay.pending.pop(0)
                deferred.callback(None)

        for kind, index, text in actions:
            if kind == "send":
                connections[index][0].dataReceived(text.encode() + b"<EOF>")
                expected[index].append(model.reply(text))
            else:
                fire(relays[index])
        for _ in range(len(actions) * 2 + 2):
            for relay in relays:
                fire(relay)

        for (_protocol, transport), replies in zip(connections, expected, strict=False):
            self.assertEqual(transport.value(), b"".join(r + b"<EOF>" for r in replies))
        self.assertEqual([r.on for r in relays], list(model.state.values()))
        self.assertEqual(
            [r.isOn for r in factory.bank.relays], list(model.state.values())
        )


class TimedModel:
    """
    The plain model with time: three relays, C{a} and C{b} interlocked,
    C{c} free; pulse deadlines; the stream a watcher sees.
    """

    def __init__(self) -> None:
        self.state = {"a": False, "b": False, "c": False}
        self.deadline: dict[str, tuple[int, int]] = {}
        self.partners = {"a": ["b"], "b": ["a"], "c": []}
        self.now = 0
        self.scheduled = 0
        self.events: list[bytes] = []

    def set(self, name: str, on: bool) -> None:
        if self.state[name] != on:
            self.events.append(f"event: {name} {'on' if on else 'off'}".encode())
        self.state[name] = on

    def change(self, name: str, on: bool, pulse: int | None = None) -> None:
        self.deadline.pop(name, None)
        if on:
            for partner in self.partners[name]:
                self.deadline.pop(partner, None)
                self.set(partner, False)
        self.set(name, on)
        if pulse is not None:
            self.scheduled += 1
            self.deadline[name] = (self.now + pulse, self.scheduled)

    def advance(self, milliseconds: int) -> None:
        self.now += milliseconds
        deadlines = self.deadline.items()
        due = sorted((when, name) for name, when in deadlines if when[0] <= self.now)
        for _, name in due:
            del self.deadline[name]
            self.set(name, False)

    def reply(self, text: str) -> bytes:
        verb, *arguments = text.split()
        verb = verb.lower()
        if verb == "relays":
            words = [f"{n}={'on' if s else 'off'}" for n, s in self.state.items()]
            return " ".join(words).encode()
        if verb == "pulse":
            *names, milliseconds = arguments
            self.change(names[0].lower() if names else "a", True, int(milliseconds))
            return b"success"
        name = arguments[0].lower() if arguments else "a"
        if name == "all":
            if verb == "on":
                return b"error: bad argument"
            for relay in self.state:
                self.deadline.pop(relay, None)
                self.set(relay, False)
            return b"success"
        if verb == "status":
            return b"on" if self.state[name] else b"off"
        self.change(name, {"on": True, "off": False}.get(verb, not self.state[name]))
        return b"success"


timedCommand = st.one_of(
    st.builds(
        lambda verb, name: verb + name,
        st.sampled_from(["on", "off", "toggle", "status"]),
        st.sampled_from(["", " a", " B", " c"]),
    ),
    st.builds(
        lambda name, ms: f"pulse{name} {ms}",
        st.sampled_from(["", " a", " b", " C"]),
        st.sampled_from([125, 250, 500, 1000]),
    ),
    st.sampled_from(["relays", "on all", "off all"]),
)

timedAction = st.one_of(
    st.tuples(st.just("send"), st.integers(0, 1), timedCommand),
    st.tuples(st.just("advance"), st.just(0), st.sampled_from([125, 250, 500, 1000])),
)


class TimedModelTests(SynchronousTestCase):
    """
    Commands from several connections and clock advances, with pulses and
    an interlock, agree with L{TimedModel}; a watcher sees every change.
    """

    @PROFILE
    @given(actions=st.lists(timedAction, max_size=50))
    def test_timedModel(self, actions: list[tuple[str, int, str | int]]) -> None:
        """
        Each connection's replies, the watcher's event stream, the relay
        states and the pending pulse timers agree with the model; the
        interlocked relays are never on together.
        """
        clock = Clock()
        relays = [MemoryRelay(name) for name in "abc"]
        factory = RelayFactory(RelayBank(relays, interlocks=[["a", "b"]], clock=clock))
        connections = [connect(factory, port=40000 + i) for i in range(2)]
        watcher, watcherTransport = connect(factory, port=40009)
        watcher.dataReceived(b"watch<EOF>")
        watcherTransport.clear()
        model = TimedModel()
        expected: list[list[bytes]] = [[], []]
        for kind, index, argument in actions:
            if kind == "send":
                assert isinstance(argument, str)
                connections[index][0].dataReceived(argument.encode() + b"<EOF>")
                expected[index].append(model.reply(argument))
            else:
                assert isinstance(argument, int)
                clock.advance(argument / 1000)
                model.advance(argument)
            self.assertFalse(relays[0].on and relays[1].on)
        for (_protocol, transport), replies in zip(connections, expected, strict=True):
            self.assertEqual(transport.value(), b"".join(r + b"<EOF>" for r in replies))
        events = b"".join(event + b"<EOF>" for event in model.events)
        self.assertEqual(watcherTransport.value(), events)
        self.assertEqual([r.on for r in relays], list(model.state.values()))
        pulsing = {relay.name for relay in factory.bank.relays if relay.pulsing}
        self.assertEqual(pulsing, set(model.deadline))


shortcutMessage = st.one_of(
    st.sampled_from(
        [b"on", b"off", b"on a", b"off a", b"on b", b"off B", b"on B", b"ping"]
    ),
    st.sampled_from([b"ON", b" on", b"on  a", b"on a ", b"off\tb", b"on all"]),
    st.sampled_from([b"auth secret", b"auth wrong", b"status a", b"toggle"]),
)


class MeaningCacheTests(SynchronousTestCase):
    """
    The messages whose meaning the command layer remembers (short ones:
    C{on}, C{off}, C{on NAME}...) do exactly what they do when parsed
    afresh.
    """

    @PROFILE
    @given(st.lists(shortcutMessage, max_size=25), st.booleans())
    def test_sameAsParsed(self, messages: list[bytes], token: bool) -> None:
        """
        The same messages to a factory that remembers meanings and to one
        that does not give the same replies, the same switches and the
        same log.
        """
        from twisted.logger import capturedLogs

        outcomes = []
        for remembered in (True, False):
            a, b = MemoryRelay("a"), MemoryRelay("B")
            factory = RelayFactory(
                RelayBank([a, b], clock=Clock()), token=b"secret" if token else None
            )
            if not remembered:
                factory.commands.CACHE_LENGTH = -1
            protocol, transport = connect(factory)
            with capturedLogs() as events:
                protocol.dataReceived(b"".join(m + b"<EOF>" for m in messages))
                # Twice: the second time, what is remembered is used.
                protocol.dataReceived(b"".join(m + b"<EOF>" for m in messages))
            lines = [e["log_format"].format(**e) for e in events]
            outcomes.append(
                (
                    transport.value(),
                    a.history,
                    b.history,
                    lines,
                    factory.commands.commandCounts,
                )
            )
            if not remembered:
                self.assertEqual(factory.commands._meanings, {})
        self.assertEqual(outcomes[0], outcomes[1])
