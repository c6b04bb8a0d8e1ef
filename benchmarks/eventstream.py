"""
An open web page's event stream, as the benchmarks run it beside a load:
one connection that reads eofrelay's C{GET /api/events} as the page's
C{EventSource} does, until it is stopped.

Run from the repository root, against eofrelay's C{--http} port::

    python -m benchmarks.eventstream PORT

It prints C{reading} once the response's headers have arrived, and on
SIGTERM (or at the end of the stream) one line of JSON: the bytes and the
C{relay} events it read, and the status line of the response.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
from types import FrameType
from typing import Optional

from benchmarks.load import HOST

REQUEST = (
    b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
)
EVENT = b"event: relay\n"


class Stopped(Exception):
    """
    SIGTERM arrived.
    """


def _stop(signum: int, frame: Optional[FrameType]) -> None:
    raise Stopped()


def read(port: int) -> dict[str, object]:
    """
    Read the event stream of eofrelay's HTTP API on C{port} until SIGTERM
    or its end; return what was read.
    """
    received = 0
    events = 0
    status = ""
    tail = b""
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.settimeout(None)
        sock.sendall(REQUEST)
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                data = sock.recv(4096)
                if not data:
                    break
                head += data
            status = head.split(b"\r\n", 1)[0].decode("latin-1")
            print("reading", flush=True)
            body = head.split(b"\r\n\r\n", 1)[-1]
            received = len(body)
            events = body.count(EVENT)
            tail = body[-len(EVENT) :]
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                received += len(data)
                # An event's first line may be split across two reads.
                events += (tail + data).count(EVENT) - tail.count(EVENT)
                tail = data[-len(EVENT) :]
        except Stopped:
            pass
    return {"status": status, "bytes": received, "events": events}


def main(argv: list[str]) -> None:
    """
    C{python -m benchmarks.eventstream PORT}.
    """
    signal.signal(signal.SIGTERM, _stop)
    print(json.dumps(read(int(argv[0]))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
