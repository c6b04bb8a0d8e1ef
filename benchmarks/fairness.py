"""
Fairness under a flood: how long an unrelated client waits for C{pong}
while other connections pipeline as fast as the server answers.

Run from the repository root::

    python -m benchmarks.fairness [--flooders 5] [--message relays]
        [--seconds 10] [--relays 20] [--in-flight 131072]
    python -m benchmarks.fairness --attack auth [--hosts 10200]
        [--guessers 16] [--seconds 10]

It starts C{twistd -n eofrelay} (simulated GPIO, C{--relays} relays) as a
user runs it, then a flooding process whose C{--flooders} connections each
keep C{--in-flight} bytes of C{MESSAGE<EOF>} unanswered at all times, and
meanwhile sends C{ping<EOF>} from this process on its own connection, one
at a time, every 10 ms, timing each reply.  Printed: the ping's round trips
(median, p99, worst) with no flood and during the flood, and the flood's
replies per second, as JSON.

With C{--attack auth}, the server requires a token; first one wrong
C{auth} is sent from each of C{--hosts} loopback addresses (127.10.x.y),
filling the throttle's table, then C{--guessers} connections guess in
parallel (connect, wrong C{auth}, closed by the server, again) while the
pings are timed; the failures per second are printed.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import subprocess
import sys
import time

from benchmarks import load
from benchmarks.run import Server

PING = b"ping<EOF>"
PONG = b"pong<EOF>"
DELIMITER = b"<EOF>"


def flood(
    port: int, flooders: int, message: bytes, inFlight: int, seconds: float
) -> None:
    """
    Keep C{inFlight} bytes of C{message} unanswered on each of C{flooders}
    connections for C{seconds}; print the replies received per second.
    """
    request = message + DELIMITER
    poller = select.epoll()
    connections: dict[int, socket.socket] = {}
    # Per connection: bytes queued and not yet answered, what is queued and
    # not yet sent, and the tail of what was received (a delimiter may be
    # split across reads).
    unanswered: dict[int, int] = {}
    outbox: dict[int, bytes] = {}
    tails: dict[int, bytes] = {}
    for _ in range(flooders):
        sock = socket.create_connection((load.HOST, port))
        sock.setblocking(False)
        fd = sock.fileno()
        connections[fd], unanswered[fd], outbox[fd], tails[fd] = sock, 0, b"", b""
        poller.register(fd, select.EPOLLIN | select.EPOLLOUT)
    replies = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for fd, events in poller.poll(0.1):
            sock = connections[fd]
            if events & select.EPOLLIN:
                data = sock.recv(1 << 20)
                if not data:
                    raise SystemExit("flood: the server closed a connection")
                received = tails[fd] + data
                count = received.count(DELIMITER)
                replies += count
                unanswered[fd] -= count * len(request)
                tails[fd] = received[-(len(DELIMITER) - 1) :]
            if events & select.EPOLLOUT:
                room = (inFlight - unanswered[fd]) // len(request)
                if not outbox[fd] and room > 0:
                    outbox[fd] = request * room
                    unanswered[fd] += room * len(request)
                if outbox[fd]:
                    try:
                        sent = sock.send(outbox[fd])
                    except BlockingIOError:
                        sent = 0
                    outbox[fd] = outbox[fd][sent:]
    elapsed = time.perf_counter() - started
    print(json.dumps({"flood replies/s": round(replies / elapsed)}), flush=True)


def wrongAuth(port: int, source: str = "127.0.0.1") -> None:
    """
    One connection from C{source} that sends a wrong token and reads until
    the server closes it.
    """
    with socket.create_connection((load.HOST, port), 10, (source, 0)) as sock:
        sock.sendall(b"auth wrong-token<EOF>")
        while sock.recv(4096):
            pass


def fillThrottle(port: int, hosts: int) -> None:
    """
    One wrong C{auth} from each of C{hosts} addresses 127.10.x.y.
    """
    for index in range(hosts):
        wrongAuth(port, f"127.10.{index // 250}.{index % 250 + 1}")


def guess(port: int, guessers: int, seconds: float) -> None:
    """
    C{guessers} threads sending wrong tokens for C{seconds}, each from its
    own address; print the failures per second.
    """
    import threading

    counts = [0] * guessers
    deadline = time.perf_counter() + seconds

    def guesser(index: int) -> None:
        while time.perf_counter() < deadline:
            wrongAuth(port, f"127.11.0.{index + 1}")
            counts[index] += 1

    threads = [threading.Thread(target=guesser, args=(i,)) for i in range(guessers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    print(json.dumps({"failed auth/s": round(sum(counts) / elapsed)}), flush=True)


def pings(port: int, seconds: float) -> list[float]:
    """
    Round trips of C{ping}, in milliseconds, one every 10 ms for
    C{seconds}.
    """
    sock = socket.create_connection((load.HOST, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            sock.sendall(PING)
            received = b""
            while len(received) < len(PONG):
                data = sock.recv(64)
                if not data:
                    raise SystemExit("ping: the server closed the connection")
                received += data
            if received != PONG:
                raise SystemExit(f"ping: unexpected reply {received!r}")
            samples.append((time.perf_counter() - sent) * 1000)
            time.sleep(0.01)
    finally:
        sock.close()
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    """
    The median, p99 and worst of C{samples}, rounded.
    """
    return {
        "pings": len(samples),
        "median ms": round(load.percentile(samples, 0.5), 2),
        "p99 ms": round(load.percentile(samples, 0.99), 2),
        "max ms": round(max(samples), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flooders", type=int, default=5)
    parser.add_argument("--message", default="relays")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--relays", type=int, default=20)
    parser.add_argument("--in-flight", type=int, default=128 * 1024)
    parser.add_argument(
        "--attack", choices=("pipelining", "auth"), default="pipelining"
    )
    parser.add_argument("--hosts", type=int, default=10_200)
    parser.add_argument("--guessers", type=int, default=16)
    parser.add_argument("--flood-port", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    message = arguments.message.encode("ascii")
    if arguments.flood_port and arguments.attack == "auth":
        guess(arguments.flood_port, arguments.guessers, arguments.seconds)
        return
    if arguments.flood_port:
        flood(
            arguments.flood_port,
            arguments.flooders,
            message,
            arguments.in_flight,
            arguments.seconds,
        )
        return
    relays = []
    for index in range(arguments.relays):
        relays += ["--relay", f"r{index}:{index}"]
    if arguments.attack == "auth":
        import tempfile

        token = tempfile.NamedTemporaryFile("w", prefix="eofrelay-token-")
        token.write("the-right-token\n")
        token.flush()
        relays += ["--token-file", token.name]
    server = Server("eofrelay", extra=relays)
    try:
        quiet = pings(server.port, 2.0)
        if arguments.attack == "auth":
            started = time.perf_counter()
            fillThrottle(server.port, arguments.hosts)
            filled = time.perf_counter() - started
        flooding = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.fairness",
                "--flood-port",
                str(server.port),
                "--flooders",
                str(arguments.flooders),
                "--message",
                arguments.message,
                "--in-flight",
                str(arguments.in_flight),
                "--seconds",
                str(arguments.seconds + 1),
                "--attack",
                arguments.attack,
                "--guessers",
                str(arguments.guessers),
            ],
            stdout=subprocess.PIPE,
        )
        time.sleep(0.5)
        flooded = pings(server.port, arguments.seconds)
        output, _ = flooding.communicate(timeout=arguments.seconds + 30)
        if flooding.returncode:
            raise SystemExit(f"flood failed: {output!r}")
        attack: dict[str, object] = (
            {
                "hosts": arguments.hosts,
                "seconds to fill the throttle": round(filled, 1),
                "guessers": arguments.guessers,
            }
            if arguments.attack == "auth"
            else {
                "flooders": arguments.flooders,
                "message": arguments.message,
                "relays": arguments.relays,
                "in flight": arguments.in_flight,
            }
        )
        result = {
            "attack": arguments.attack,
            **attack,
            "ping, no flood": summary(quiet),
            "ping, during the flood": summary(flooded),
            **json.loads(output),
        }
        print(json.dumps(result, indent=2))
    finally:
        tail = server.stop()
        if server.process.returncode not in (0, -15):
            print(tail, file=sys.stderr)


if __name__ == "__main__":
    main()
