"""
The load generator: drives a server on 127.0.0.1 and checks every reply.

It is one process with non-blocking sockets on C{epoll}, the cheapest loop
Python has, so that as much of the machine as possible is left to the server
under test.  Every byte received is compared with what the protocol says it
must be (the reply to C{on<EOF>} and to C{off<EOF>} is C{success<EOF>});
a result with any error is a failed result.

Run from the repository root, against a server already listening::

    python -m benchmarks.load SCENARIO PORT [--pid SERVER_PID] [--quick]
        [--commands on|alternate]

SCENARIO is C{one-shot}, C{round-trip}, C{pipelined} or C{idle} (which needs
the server's pid, to read its RSS); a JSON result is printed.

The commands sent are a I{workload} (L{WORKLOADS}): C{on} (the default)
sends C{on<EOF>} every time, so that after the first command the relay
does not change any more; C{alternate} sends C{on<EOF>} and C{off<EOF>} in
turn, so that the commands really switch the relay.  A persistent
connection alternates with each command it sends (the connections start
in turn with C{on} and with C{off}, so that consecutive commands from
different connections mostly alternate too); the one-shot and idle scenarios
alternate from one connection to the next.  A scenario run with
C{alternate} is named with C{-switching} (C{round-trip-switching}).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import resource
import select
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Optional

HOST = "127.0.0.1"
REQUEST = b"on<EOF>"
REPLY = b"success<EOF>"
#: The commands of each workload, sent in turn; each is answered with
#: L{REPLY}.
WORKLOADS: dict[str, tuple[bytes, ...]] = {
    "on": (REQUEST,),
    "alternate": (b"on<EOF>", b"off<EOF>"),
}
#: How a scenario's name ends when it runs the C{alternate} workload.
SWITCHING = "-switching"
#: A long run of correct replies to compare received chunks with.
_EXPECTED = REPLY * 8192
_STEP = len(REPLY) * 8000
_READ = select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP
_MAX_NOTES = 5


@dataclass
class Result:
    """
    The outcome of one scenario against one server.

    @ivar count: Replies (or one-shot connections) completed in C{seconds}.
    @ivar rate: C{count / seconds}.
    @ivar errors: Wrong bytes, missing replies, refused or reset
        connections; any error fails the result.
    @ivar clientCpu: CPU time of the load generator / wall time.
    @ivar serverCpu: CPU time of the server / wall time, if its pid is known.
    """

    scenario: str
    count: int = 0
    seconds: float = 0.0
    rate: float = 0.0
    p50_ms: Optional[float] = None
    p99_ms: Optional[float] = None
    errors: int = 0
    notes: list[str] = field(default_factory=list)
    rss_before_kib: Optional[int] = None
    rss_after_kib: Optional[int] = None
    bytes_per_connection: Optional[float] = None
    rss_used_kib: Optional[int] = None
    bytes_per_used_connection: Optional[float] = None
    clientCpu: Optional[float] = None
    serverCpu: Optional[float] = None

    @property
    def ok(self) -> bool:
        """
        Whether every reply was right.
        """
        return self.errors == 0

    def fail(self, note: str) -> None:
        """
        Count one error, keeping the first few descriptions.
        """
        self.errors += 1
        if len(self.notes) < _MAX_NOTES:
            self.notes.append(note)

    def asDict(self) -> dict[str, object]:
        """
        The result as JSON-ready data.
        """
        return {**asdict(self), "ok": self.ok}


def raiseFileLimit() -> int:
    """
    Raise C{RLIMIT_NOFILE} as far as the hard limit allows; return the new
    soft limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(samples: list[float], fraction: float) -> float:
    """
    The nearest-rank percentile of C{samples} (not empty).
    """
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def rssKiB(pid: int) -> int:
    """
    The resident set size of process C{pid} (C{VmRSS}), in KiB.
    """
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise ValueError(f"no VmRSS for process {pid}")


def cpuSeconds(pid: int) -> float:
    """
    User plus system CPU time used so far by process C{pid}.
    """
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def openFiles(pid: int) -> int:
    """
    How many file descriptors process C{pid} has open.
    """
    return len(os.listdir(f"/proc/{pid}/fd"))


class ReplyChecker:
    """
    Checks a stream that must be C{success<EOF>} repeated, byte for byte.
    """

    __slots__ = ("offset",)

    def __init__(self) -> None:
        self.offset = 0

    def feed(self, data: bytes) -> int:
        """
        The number of replies C{data} completes, or -1 if a byte is wrong.
        """
        offset = self.offset
        if not offset and data == REPLY:
            return 1
        for start in range(0, len(data), _STEP):
            piece = data[start : start + _STEP]
            at = (offset + start) % len(REPLY)
            if piece != _EXPECTED[at : at + len(piece)]:
                return -1
        total = offset + len(data)
        self.offset = total % len(REPLY)
        return total // len(REPLY)


def freePort() -> int:
    """
    A port the kernel has just handed out for 127.0.0.1, now free again.
    """
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def scenarioName(scenario: str, commands: str) -> str:
    """
    The name of C{scenario} run with the workload C{commands}: the
    C{alternate} one adds L{SWITCHING} (C{round-trip-switching}).
    """
    _requests(commands)
    return scenario + (SWITCHING if commands == "alternate" else "")


def splitScenario(name: str) -> tuple[str, str]:
    """
    The scenario and the workload of a name L{scenarioName} made:
    C{("round-trip", "alternate")} for C{round-trip-switching}.
    """
    if name.endswith(SWITCHING):
        return name[: -len(SWITCHING)], "alternate"
    return name, "on"


def _requests(commands: str) -> tuple[bytes, ...]:
    """
    The requests of the workload C{commands}, sent in turn.

    @raise ValueError: for a workload that is not in L{WORKLOADS}.
    """
    try:
        return WORKLOADS[commands]
    except KeyError:
        raise ValueError(
            f"unknown workload {commands!r}, not one of {', '.join(WORKLOADS)}"
        ) from None


class _Cycle:
    """
    The requests of a workload, repeated in turn, and a cheap way to take
    the next C{count} of them from any position in the turn.
    """

    __slots__ = ("offsets", "period", "stream")

    def __init__(self, requests: tuple[bytes, ...], most: int) -> None:
        """
        @param most: The most requests L{take} is asked for at once.
        """
        self.period = len(requests)
        pieces = [requests[index % self.period] for index in range(self.period + most)]
        self.stream = b"".join(pieces)
        self.offsets = [0]
        for piece in pieces:
            self.offsets.append(self.offsets[-1] + len(piece))

    def take(self, phase: int, count: int) -> bytes:
        """
        C{count} requests from position C{phase} of the turn on.
        """
        return self.stream[self.offsets[phase] : self.offsets[phase + count]]


class _Connection:
    """
    One persistent connection of the load generator.
    """

    __slots__ = ("checker", "inFlight", "pending", "phase", "sentAt", "sock")

    def __init__(self, sock: socket.socket, phase: int = 0) -> None:
        """
        @param phase: Where in its workload's turn of requests this
            connection starts.
        """
        self.sock = sock
        self.checker = ReplyChecker()
        self.inFlight = 0
        self.sentAt = 0.0
        self.pending = b""
        self.phase = phase

    def send(self, cycle: _Cycle, count: int, poller: select.epoll) -> None:
        """
        Send the next C{count} requests of C{cycle}.
        """
        phase = self.phase
        self.phase = (phase + count) % cycle.period
        self.write(cycle.take(phase, count), poller)

    def write(self, data: bytes, poller: select.epoll) -> None:
        """
        Send C{data}, keeping what the socket does not take for C{EPOLLOUT}.
        """
        if self.pending:
            self.pending += data
            return
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        if sent < len(data):
            self.pending = data[sent:]
            poller.modify(self.sock.fileno(), _READ | select.EPOLLOUT)

    def flush(self, poller: select.epoll) -> None:
        """
        Send what is pending, now that the socket is writable.
        """
        sent = self.sock.send(self.pending)
        self.pending = self.pending[sent:]
        if not self.pending:
            poller.modify(self.sock.fileno(), _READ)


class _Meter:
    """
    CPU use of this process and of the server over a measured interval.
    """

    def __init__(self, serverPid: Optional[int]) -> None:
        self.serverPid = serverPid
        self.wall = time.perf_counter()
        self.client = time.process_time()
        self.server = cpuSeconds(serverPid) if serverPid else 0.0

    def stop(self, result: Result) -> float:
        """
        Fill in C{result}'s wall time, rate and CPU shares; return the wall
        time.
        """
        wall = time.perf_counter() - self.wall
        result.seconds = wall
        result.rate = result.count / wall if wall > 0 else 0.0
        result.clientCpu = (time.process_time() - self.client) / wall
        if self.serverPid:
            try:
                result.serverCpu = (cpuSeconds(self.serverPid) - self.server) / wall
            except OSError:
                result.fail("server exited during the run")
        return wall


def _connect(port: int, timeout: float = 5.0) -> socket.socket:
    """
    A blocking connection to the server, then made non-blocking, with
    C{TCP_NODELAY} so that pipelined requests are not held back.
    """
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return sock


def persistent(
    port: int,
    connections: int = 50,
    depth: int = 1,
    seconds: float = 5.0,
    serverPid: Optional[int] = None,
    commands: str = "on",
) -> Result:
    """
    C{connections} persistent connections, each keeping C{depth} commands
    of the workload C{commands} in flight for C{seconds}: the I{round trip}
    scenario with C{depth} 1 (with latencies), the I{pipelined} one with
    more.  With C{alternate}, each connection alternates C{on<EOF>} and
    C{off<EOF>}, every other connection starting with C{off<EOF>}.
    """
    cycle = _Cycle(_requests(commands), depth)
    result = Result(scenarioName("round-trip" if depth == 1 else "pipelined", commands))
    poller = select.epoll()
    byFd: dict[int, _Connection] = {}
    try:
        for index in range(connections):
            connection = _Connection(_connect(port), index % cycle.period)
            byFd[connection.sock.fileno()] = connection
            poller.register(connection.sock.fileno(), _READ)
    except OSError as error:
        result.fail(f"connect: {error}")
    latencies: list[float] = []
    meter = _Meter(serverPid)
    now = time.perf_counter()
    deadline = now + seconds
    for connection in byFd.values():
        connection.sentAt = now
        connection.inFlight = depth
        connection.send(cycle, depth, poller)

    def drop(fd: int, note: str) -> None:
        result.fail(note)
        connection = byFd.pop(fd)
        poller.unregister(fd)
        connection.sock.close()

    sending = True
    while byFd:
        now = time.perf_counter()
        if sending and now >= deadline:
            sending = False
            meter.stop(result)
            deadline = now + 5.0
        elif not sending and (
            now >= deadline or not any(c.inFlight for c in byFd.values())
        ):
            break
        for fd, events in poller.poll(min(deadline - now, 0.5)):
            connection = byFd[fd]
            try:
                if events & select.EPOLLOUT and connection.pending:
                    connection.flush(poller)
                if not events & _READ:
                    continue
                data = connection.sock.recv(1 << 18)
            except BlockingIOError:
                continue
            except OSError as error:
                drop(fd, f"connection error: {error}")
                continue
            if not data:
                drop(fd, "connection closed by the server")
                continue
            completed = connection.checker.feed(data)
            if completed < 0 or completed > connection.inFlight:
                drop(fd, f"wrong reply bytes: {data[:60]!r}")
                continue
            if not completed:
                continue
            connection.inFlight -= completed
            if not sending:
                continue
            result.count += completed
            received = time.perf_counter()
            if depth == 1:
                latencies.append(received - connection.sentAt)
            connection.sentAt = received
            connection.inFlight += completed
            connection.send(cycle, completed, poller)
    if sending:
        meter.stop(result)
    missing = sum(connection.inFlight for connection in byFd.values())
    if missing:
        result.fail(f"{missing} replies missing after the run")
    for connection in byFd.values():
        connection.sock.close()
    poller.close()
    if latencies:
        result.p50_ms = percentile(latencies, 0.50) * 1e3
        result.p99_ms = percentile(latencies, 0.99) * 1e3
    return result


class _Attempt:
    """
    One connection of the one-shot scenario.
    """

    __slots__ = ("connected", "received", "request", "sock", "started")

    def __init__(self, sock: socket.socket, started: float, request: bytes) -> None:
        self.sock = sock
        self.started = started
        self.request = request
        self.connected = False
        self.received = b""


def oneShot(
    port: int,
    total: int = 20_000,
    concurrency: int = 50,
    serverPid: Optional[int] = None,
    timeout: float = 10.0,
    limit: float = 180.0,
    commands: str = "on",
) -> Result:
    """
    C{total} connections, C{concurrency} at a time, each of which connects,
    sends one command, reads the reply and closes: the article's client.
    Latency is from the start of C{connect} to the whole reply.  The
    commands are the workload C{commands}'s in turn, one per connection:
    with C{alternate}, C{on<EOF>} and C{off<EOF>} from one connection to
    the next.
    """
    requests = _requests(commands)
    result = Result(scenarioName("one-shot", commands))
    poller = select.epoll()
    active: dict[int, _Attempt] = {}
    latencies: list[float] = []
    launched = 0
    meter = _Meter(serverPid)
    hardDeadline = meter.wall + limit
    nextSweep = meter.wall + 0.5

    def finish(fd: int, note: Optional[str]) -> None:
        attempt = active.pop(fd)
        poller.unregister(fd)
        attempt.sock.close()
        if note is not None:
            result.fail(note)

    while launched < total or active:
        while launched < total and len(active) < concurrency:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            request = requests[launched % len(requests)]
            launched += 1
            attempt = _Attempt(sock, time.perf_counter(), request)
            code = sock.connect_ex((HOST, port))
            if code not in (0, errno.EINPROGRESS):
                sock.close()
                result.fail(f"connect: {os.strerror(code)}")
                continue
            active[sock.fileno()] = attempt
            try:
                # On loopback the handshake is usually done already.
                sock.send(request)
                attempt.connected = True
                poller.register(sock.fileno(), _READ)
            except OSError:
                poller.register(sock.fileno(), select.EPOLLOUT | _READ)
        now = time.perf_counter()
        if now > hardDeadline:
            result.fail(f"gave up after {limit} s with {len(active)} open")
            for fd in list(active):
                finish(fd, None)
            break
        if now > nextSweep:
            nextSweep = now + 0.5
            for fd, attempt in list(active.items()):
                if now - attempt.started > timeout:
                    finish(fd, f"no reply within {timeout} s")
        for fd, _events in poller.poll(0.5):
            attempt = active[fd]
            sock = attempt.sock
            if not attempt.connected:
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    finish(fd, f"connect: {os.strerror(code)}")
                    continue
                attempt.connected = True
                try:
                    sock.send(attempt.request)
                except OSError as error:
                    finish(fd, f"send: {error}")
                    continue
                poller.modify(fd, _READ)
                continue
            try:
                data = sock.recv(1024)
            except BlockingIOError:
                continue
            except OSError as error:
                finish(fd, f"recv: {error}")
                continue
            received = attempt.received + data
            if not REPLY.startswith(received):
                finish(fd, f"wrong reply bytes: {received[:60]!r}")
            elif len(received) == len(REPLY):
                latencies.append(time.perf_counter() - attempt.started)
                result.count += 1
                finish(fd, None)
            elif not data:
                finish(fd, f"closed after {received!r}")
            else:
                attempt.received = received
    meter.stop(result)
    poller.close()
    if latencies:
        result.p50_ms = percentile(latencies, 0.50) * 1e3
        result.p99_ms = percentile(latencies, 0.99) * 1e3
    return result


def _waitFor(
    condition: Callable[[], bool], seconds: float, interval: float = 0.01
) -> bool:
    """
    Poll C{condition} until it holds or C{seconds} have passed.
    """
    deadline = time.perf_counter() + seconds
    while not condition():
        if time.perf_counter() > deadline:
            return False
        time.sleep(interval)
    return True


def _holds(pid: int, count: int) -> bool:
    """
    Whether process C{pid} has at least C{count} file descriptors open.
    """
    return openFiles(pid) >= count


def idle(
    port: int,
    serverPid: int,
    connections: int = 5_000,
    batch: int = 250,
    settle: float = 1.0,
    commands: str = "on",
) -> Result:
    """
    Open C{connections} connections that send nothing, and measure the
    server's RSS before and after.

    The server is given C{settle} seconds before and after.  The
    connections are opened in batches, each waited for until the server
    holds its sockets (counted in C{/proc/PID/fd}), so that the listen
    backlog never overflows.  After the RSS is read, every connection
    sends a command of the workload C{commands} (with C{alternate},
    C{on<EOF>} and C{off<EOF>} from one connection to the next) and must
    get C{success<EOF>}, which shows that the server kept them all; the
    RSS is read once more after C{settle} seconds, with the connections
    still open and idle again (C{rss_used_kib},
    C{bytes_per_used_connection}): what a connection costs once it has
    been used.
    """
    requests = _requests(commands)
    result = Result(scenarioName("idle", commands))
    time.sleep(settle)
    result.rss_before_kib = rssKiB(serverPid)
    baseFiles = openFiles(serverPid)
    socks: list[socket.socket] = []
    meter = _Meter(serverPid)
    try:
        while len(socks) < connections:
            for _ in range(min(batch, connections - len(socks))):
                socks.append(_connect(port))
            expected = baseFiles + len(socks)
            if not _waitFor(partial(_holds, serverPid, expected), 15.0):
                result.fail(
                    f"server holds {openFiles(serverPid) - baseFiles} of "
                    f"{len(socks)} connections"
                )
                break
        time.sleep(settle)
        result.rss_after_kib = rssKiB(serverPid)
        result.count = len(socks)
        meter.stop(result)
        result.bytes_per_connection = (
            (result.rss_after_kib - result.rss_before_kib) * 1024 / max(1, len(socks))
        )
        _checkAll(socks, result, requests)
        time.sleep(settle)
        result.rss_used_kib = rssKiB(serverPid)
        result.bytes_per_used_connection = (
            (result.rss_used_kib - result.rss_before_kib) * 1024 / max(1, len(socks))
        )
    except OSError as error:
        result.fail(f"idle: {error}")
    finally:
        for sock in socks:
            sock.close()
    return result


def _checkAll(
    socks: list[socket.socket],
    result: Result,
    requests: tuple[bytes, ...] = (REQUEST,),
    limit: float = 30.0,
) -> None:
    """
    Send one of C{requests} on every connection, in turn, and check that
    each gets exactly C{success<EOF>}.
    """
    poller = select.epoll()
    received: dict[int, bytes] = {}
    bySock = {sock.fileno(): sock for sock in socks}
    for index, (fd, sock) in enumerate(bySock.items()):
        try:
            sock.send(requests[index % len(requests)])
        except OSError as error:
            result.fail(f"send on an idle connection: {error}")
            continue
        received[fd] = b""
        poller.register(fd, _READ)
    deadline = time.perf_counter() + limit
    while received and time.perf_counter() < deadline:
        for fd, _events in poller.poll(0.5):
            try:
                data = bySock[fd].recv(1024)
            except BlockingIOError:
                continue
            except OSError as error:
                data = f" ({error})".encode()
            whole = received[fd] + data
            if len(whole) < len(REPLY) and data and REPLY.startswith(whole):
                received[fd] = whole
                continue
            if whole != REPLY:
                result.fail(f"idle connection got {whole[:60]!r}")
            del received[fd]
            poller.unregister(fd)
    if received:
        result.fail(f"{len(received)} idle connections got no reply")
    poller.close()


def probe(
    port: int,
    message: bytes,
    reply: bytes,
    limit: float = 30.0,
    alive: Callable[[], bool] = lambda: True,
) -> float:
    """
    Connect, send C{message} and read C{reply}, retrying until it works;
    return the time it first did (C{time.perf_counter}).

    @param alive: Whether it is still worth trying (the server runs).
    @raise TimeoutError: if it did not within C{limit} seconds.
    @raise ValueError: for a wrong reply.
    @raise ConnectionRefusedError: if C{alive} says the server is gone.
    """
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if not alive():
            raise ConnectionRefusedError("the server exited")
        try:
            with socket.create_connection((HOST, port), timeout=2.0) as sock:
                sock.sendall(message)
                received = b""
                while len(received) < len(reply):
                    data = sock.recv(1024)
                    if not data:
                        break
                    received += data
                if received == reply:
                    return time.perf_counter()
                raise ValueError(f"{message!r} got {received!r}, not {reply!r}")
        except (ConnectionRefusedError, ConnectionResetError):
            time.sleep(0.002)
    raise TimeoutError(f"nothing answered on port {port} within {limit} s")


def main() -> None:
    """
    C{python -m benchmarks.load SCENARIO PORT [--pid PID] [--quick]
    [--commands on|alternate]}.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "scenario", choices=["one-shot", "round-trip", "pipelined", "idle"]
    )
    parser.add_argument("port", type=int)
    parser.add_argument("--pid", type=int, help="the server's pid")
    parser.add_argument("--quick", action="store_true", help="short runs")
    parser.add_argument(
        "--commands",
        choices=list(WORKLOADS),
        default="on",
        help="send on<EOF> every time (on, the default), or on<EOF> and "
        "off<EOF> in turn, which switch the relay (alternate)",
    )
    arguments = parser.parse_args()
    commands = arguments.commands
    raiseFileLimit()
    seconds = 1.0 if arguments.quick else 5.0
    if arguments.scenario == "one-shot":
        total = 2_000 if arguments.quick else 20_000
        result = oneShot(
            arguments.port, total, serverPid=arguments.pid, commands=commands
        )
    elif arguments.scenario == "idle":
        if arguments.pid is None:
            parser.error("idle needs --pid")
        result = idle(
            arguments.port,
            arguments.pid,
            500 if arguments.quick else 5_000,
            commands=commands,
        )
    else:
        depth = 1 if arguments.scenario == "round-trip" else 32
        result = persistent(arguments.port, 50, depth, seconds, arguments.pid, commands)
    print(json.dumps(result.asDict(), indent=2))
    raise SystemExit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
