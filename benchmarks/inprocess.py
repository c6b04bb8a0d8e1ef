"""
The cost of eofrelay's protocol per command, in-process: no sockets, no
reactor turns, only parsing, dispatch through the relays, and replies.

Run from the repository root::

    python -m benchmarks.inprocess [--profile]

It feeds 50 connections of a factory with one simulated relay (the service's
C{--gpio memory} wiring) segments of 1 and of 32 C{on<EOF>} messages (the
round-trip and pipelined scenarios' segments) and prints commands per second
and nanoseconds per command; with C{--profile}, the top of a cProfile of
the 32-message case.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock

from eofrelay.factory import RelayFactory
from eofrelay.gpio.memory import MemoryPins
from eofrelay.pinrelay import PinRelay
from eofrelay.protocol import RelayProtocol

CONNECTIONS = 50
COMMANDS = 1_000_000


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
    factory = RelayFactory([PinRelay("relay", MemoryPins(), 17)], clock=Clock())
    protocols = []
    for index in range(CONNECTIONS):
        protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", index))
        assert isinstance(protocol, RelayProtocol)
        protocol.makeConnection(CountingTransport(index))  # type: ignore[arg-type]
        protocols.append(protocol)
    return protocols


def feed(protocols: list[RelayProtocol], segment: bytes, rounds: int) -> None:
    """
    Give every protocol C{segment}, C{rounds} times.
    """
    for _ in range(rounds):
        for protocol in protocols:
            protocol.dataReceived(segment)


def main() -> None:
    """
    C{python -m benchmarks.inprocess [--profile]}.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", action="store_true", help="cProfile it")
    arguments = parser.parse_args()
    for perSegment in (1, 32):
        protocols = connections()
        segment = b"on<EOF>" * perSegment
        rounds = COMMANDS // (perSegment * CONNECTIONS)
        feed(protocols, segment, rounds // 10)
        started = time.perf_counter()
        feed(protocols, segment, rounds)
        elapsed = time.perf_counter() - started
        commands = rounds * perSegment * CONNECTIONS
        print(
            f"{perSegment:2} per segment: {commands / elapsed:10,.0f} commands/s, "
            f"{elapsed / commands * 1e9:6,.0f} ns per command"
        )
    if arguments.profile:
        profile = cProfile.Profile()
        profile.runcall(feed, protocols, segment, rounds // 5)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
