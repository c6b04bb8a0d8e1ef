"""
The cost of eofrelay's protocol per command, in-process: no sockets, no
reactor turns, only parsing, dispatch through the relays, and replies.

Run from the repository root::

    python -m benchmarks.inprocess [--profile]

It feeds 50 connections of a factory with one simulated relay (the service's
C{--gpio memory} wiring) segments of 1 and of 32 C{on<EOF>} messages (the
round-trip and pipelined scenarios' segments), which leave the relay on
after the first, then the same with commands that switch it: segments of 1
command that alternate C{on<EOF>} and C{off<EOF>} from one segment to the
next (each connection's segments alternate, and so, but for one in 50, do
the consecutive segments of different connections), and segments of 32
that alternate
within the segment (C{on<EOF>off<EOF>...}).  It prints commands per second
and nanoseconds per command of each, and checks that every command was
answered with C{success<EOF>} (by the number of bytes written); with
C{--profile}, the top of a cProfile of the last case (32 alternating).

The switches are logged as in the service, but no log observer is
registered, so the events are made and published, not written.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from typing import cast

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock

from eofrelay.commands.interpreter import CommandInterpreter
from eofrelay.core.bank import RelayBank
from eofrelay.gpio.memory import MemoryPins
from eofrelay.gpio.pinrelay import PinRelay
from eofrelay.tcp.factory import RelayFactory
from eofrelay.tcp.protocol import RelayProtocol

CONNECTIONS = 50
COMMANDS = 1_000_000
REPLY = b"success<EOF>"
#: (label, the segments each connection is given in turn, see L{feed}).
#: Alternating one command per segment, the relay changes with every
#: segment but the first of each round over the connections (49 of 50);
#: 32 alternating ones end with C{off}, and the next starts with C{on}, so
#: that every command changes it.
CASES: tuple[tuple[str, tuple[bytes, ...]], ...] = (
    (" 1 per segment, on:         ", (b"on<EOF>",)),
    ("32 per segment, on:         ", (b"on<EOF>" * 32,)),
    (" 1 per segment, alternating:", (b"on<EOF>", b"off<EOF>")),
    ("32 per segment, alternating:", (b"on<EOF>off<EOF>" * 16,)),
)


class CountingTransport:
    """
    The least a L{RelayProtocol} needs of a transport: it counts the bytes
    written.
    """

    def __init__(self, port: int) -> None:
        self.written = 0
        self.peer = IPv4Address("TCP", "127.0.0.1", port)

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def getPeer(self) -> IPv4Address:
        return self.peer

    def registerProducer(self, producer: object, streaming: bool) -> None:
        pass


def connections() -> list[RelayProtocol]:
    """
    L{CONNECTIONS} connected protocols of one factory.
    """
    factory = RelayFactory(
        RelayBank([PinRelay("relay", MemoryPins(), 17)], clock=Clock())
    )
    protocols = []
    for index in range(CONNECTIONS):
        protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", index))
        assert isinstance(protocol, RelayProtocol)
        protocol.makeConnection(CountingTransport(index))  # type: ignore[arg-type]
        protocols.append(protocol)
    return protocols


def feed(
    protocols: list[RelayProtocol], segments: tuple[bytes, ...], rounds: int
) -> None:
    """
    Give every protocol one segment, C{rounds} times: protocol C{i} gets
    C{segments} in turn, starting with segment C{i % len(segments)}, so
    that within a round consecutive segments go round C{segments} too.
    """
    if len(segments) == 1:
        (segment,) = segments
        for _ in range(rounds):
            for protocol in protocols:
                protocol.dataReceived(segment)
        return
    period = len(segments)
    turns = [
        [(protocol.dataReceived, segments[(index + shift) % period])
         for index, protocol in enumerate(protocols)]
        for shift in range(period)
    ]  # fmt: skip
    for round in range(rounds):
        for received, segment in turns[round % period]:
            received(segment)


def main() -> None:
    """
    C{python -m benchmarks.inprocess [--profile]}.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", action="store_true", help="cProfile it")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="parse every message afresh (what the meaning cache saves)",
    )
    arguments = parser.parse_args()
    if arguments.no_cache:
        CommandInterpreter.CACHE_LENGTH = -1
    failed = False
    for label, segments in CASES:
        protocols = connections()
        perSegment = segments[0].count(b"<EOF>")
        rounds = COMMANDS // (perSegment * CONNECTIONS)
        feed(protocols, segments, rounds // 10)
        started = time.perf_counter()
        feed(protocols, segments, rounds)
        elapsed = time.perf_counter() - started
        commands = rounds * perSegment * CONNECTIONS
        answered = sum(
            cast(CountingTransport, protocol.transport).written
            for protocol in protocols
        )
        expected = (rounds + rounds // 10) * perSegment * CONNECTIONS * len(REPLY)
        check = "" if answered == expected else "  WRONG REPLIES"
        failed = failed or bool(check)
        print(
            f"{label} {commands / elapsed:10,.0f} commands/s, "
            f"{elapsed / commands * 1e9:6,.0f} ns per command{check}"
        )
    if arguments.profile:
        profile = cProfile.Profile()
        profile.runcall(feed, protocols, segments, rounds // 5)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
    if failed:
        raise SystemExit("some commands were not answered with success<EOF>")


if __name__ == "__main__":
    main()
