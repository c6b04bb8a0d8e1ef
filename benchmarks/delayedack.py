"""
How late the second of two events written back to back reaches a watcher
that delays its acknowledgements, as Windows and macOS peers do and Linux
ones may: with Nagle's algorithm on, the server holds that event until the
first is acknowledged.

Run from the repository root, on Linux (it uses C{TCP_QUICKACK} to make the
watcher delay its acknowledgements as a busy peer would)::

    python -m benchmarks.delayedack

It runs C{twistd -n eofrelay} with two relays; one client sends
C{pulse a 20<EOF>pulse b 20<EOF>} in one segment, which makes the server
write C{event: a on} and C{event: b on} to the watcher one after the other,
and prints when each event arrived, in milliseconds after the command was
sent (median and worst of the rounds).  Both should arrive at once; the
pulses' ends follow 20 ms later.
"""

from __future__ import annotations

import socket
import statistics
import time

from benchmarks import load
from benchmarks.run import EOFRELAY, Server

ROUNDS = 20
PULSES = b"pulse a 20<EOF>pulse b 20<EOF>"
#: The events each round brings: both relays on, then both off.
EVENTS = 4


def delayAcknowledgements(sock: socket.socket) -> None:
    """
    Make the kernel delay the acknowledgement of what C{sock} receives next.
    """
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)


def receive(sock: socket.socket, count: int, since: float = 0.0) -> list[float]:
    """
    Read from C{sock}, delaying each acknowledgement, until C{count}
    messages have arrived.

    @return: When each message arrived, in milliseconds after C{since}
        (a C{time.perf_counter}).
    """
    times: list[float] = []
    while len(times) < count:
        delayAcknowledgements(sock)
        data = sock.recv(1024)
        if not data:
            raise ValueError("the server closed the connection")
        now = (time.perf_counter() - since) * 1e3
        times.extend([now] * data.count(b"<EOF>"))
    return times


def arrivals(port: int) -> list[list[float]]:
    """
    For each round, when each of its events reached the watcher.
    """
    watcher = socket.create_connection((load.HOST, port), timeout=5.0)
    client = socket.create_connection((load.HOST, port), timeout=5.0)
    rounds = []
    with watcher, client:
        watcher.sendall(b"watch<EOF>")
        receive(watcher, 1)
        for _ in range(ROUNDS):
            delayAcknowledgements(watcher)
            sent = time.perf_counter()
            client.sendall(PULSES)
            rounds.append(receive(watcher, EVENTS, sent))
            receive(client, 2)
            time.sleep(0.05)
    return rounds


def main() -> None:
    """
    C{python -m benchmarks.delayedack}.
    """
    if not hasattr(socket, "TCP_QUICKACK"):
        raise SystemExit("benchmarks.delayedack needs Linux (TCP_QUICKACK)")
    server = Server(
        EOFRELAY, extra=["--relay", "a:5", "--relay", "b:6", "--idle-timeout", "0"]
    )
    try:
        rounds = arrivals(server.port)
    finally:
        server.stop()
    names = ("a on", "b on", "a off", "b off")
    for index, name in enumerate(names):
        median = statistics.median(times[index] for times in rounds)
        worst = max(times[index] for times in rounds)
        print(f"event: {name:6} median {median:5.1f} ms, worst {worst:5.1f} ms")


if __name__ == "__main__":
    main()
