"""
Property tests (hypothesis): framing does not depend on how the stream is
cut, and any sequence of commands over several connections agrees with a
plain model of the relay states.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.factory import RelayFactory
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
    return RelayFactory([a, b], maxLine=16), a, b


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
        factory = RelayFactory(relays)
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
        self.assertEqual([r.isOn for r in factory.relays], list(model.state.values()))
