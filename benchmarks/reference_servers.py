"""
The servers eofrelay is measured against: what a user would otherwise write.

Run from the repository root::

    python -m benchmarks.reference_servers KIND PORT

KIND is one of:

  - C{socketserver}: the article's SocketServer server, ported to Python 3
    as written (C{socketserver.TCPServer}, one command per connection, its
    C{print} calls included), with C{allow_reuse_address} and a listen
    backlog of 1024;
  - C{lineonly}: a minimal Twisted L{LineOnlyReceiver} with C{<EOF>} as its
    delimiter;
  - C{asyncio}: a hand-written asyncio protocol that frames a whole
    received chunk at once and writes all of its replies with one
    C{transport.write};
  - C{floor}: the same algorithm on Twisted's reactor, writing with
    eofrelay's own L{writeThrough}: eofrelay's I/O path with none of its
    per-message work, the most a Twisted server can do here.

Each listens on 127.0.0.1 (PORT 0 picks a free port), prints
C{listening on N} and serves until killed.  All answer C{on<EOF>} and
C{off<EOF>} with C{success<EOF>} and anything else with
C{error: unknown command<EOF>}.
"""

from __future__ import annotations

import asyncio
import socketserver
import sys
from typing import Optional

HOST = "127.0.0.1"
BACKLOG = 1024
DELIMITER = b"<EOF>"
SUCCESS = b"success"
UNKNOWN = b"error: unknown command"
COMMANDS = (b"on", b"off")
#: Each command's reply with its delimiter, and the reply to anything else.
REPLIES = {command: SUCCESS + DELIMITER for command in COMMANDS}
UNKNOWN_REPLY = UNKNOWN + DELIMITER


def announce(port: int) -> None:
    """
    Tell the parent which port is listening.
    """
    print(f"listening on {port}", flush=True)


# The article's server, ported to Python 3.


class EnhancedTCPHandler(socketserver.BaseRequestHandler):
    """
    The article's handler: one C{recv}, one reply, and the connection is
    closed by the server.
    """

    def handle(self) -> None:
        """
        Answer the one command of this connection.
        """
        # Receive client data, maximum 1024 bytes
        received_data = self.request.recv(1024).strip()
        # Process specific commands
        if received_data == b"on<EOF>":
            print("Received turn-on command, processing...")
            # Send success response
            self.request.sendall(b"success<EOF>")
        elif received_data == b"off<EOF>":
            print("Received turn-off command, processing...")
            self.request.sendall(b"success<EOF>")
        else:
            print("Received unknown command:", received_data)
            self.request.sendall(b"error: unknown command<EOF>")


class ArticleServer(socketserver.TCPServer):
    """
    C{socketserver.TCPServer} with the options a benchmark needs.
    """

    allow_reuse_address = True
    request_queue_size = BACKLOG


def serveSocketServer(port: int) -> None:
    """
    Serve the article's protocol with C{socketserver}, one connection at a
    time.
    """
    server = ArticleServer((HOST, port), EnhancedTCPHandler)
    announce(server.server_address[1])
    server.serve_forever()


# A minimal Twisted server.


def serveLineOnly(port: int) -> None:
    """
    Serve the protocol with a minimal L{LineOnlyReceiver}.
    """
    from twisted.protocols.basic import LineOnlyReceiver

    class RelayLine(LineOnlyReceiver):
        """
        C{on}/C{off} switch nothing and answer C{success}.
        """

        delimiter = DELIMITER

        def lineReceived(self, line: bytes) -> None:
            """
            Answer one command.
            """
            self.sendLine(SUCCESS if line.strip() in COMMANDS else UNKNOWN)

    serveTwisted(port, RelayLine)


def serveTwisted(port: int, protocol: type) -> None:
    """
    Listen with C{protocol} on Twisted's reactor and run it.
    """
    from twisted.internet import reactor
    from twisted.internet.protocol import ServerFactory

    factory = ServerFactory()
    factory.protocol = protocol
    listening = reactor.listenTCP(  # type: ignore[attr-defined]
        port, factory, backlog=BACKLOG, interface=HOST
    )
    announce(listening.getHost().port)  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]


# The asyncio server's algorithm on Twisted, with eofrelay's write path.


def serveFloor(port: int) -> None:
    """
    Serve the protocol on Twisted's reactor the way L{AsyncioRelay} does,
    writing each segment's replies through L{writeThrough}.
    """
    from twisted.internet.protocol import Protocol

    from eofrelay.tcp.writethrough import writeThrough

    class FloorRelay(Protocol):
        """
        Frames each received chunk at once; one write for all its replies.
        """

        buffer = b""

        def dataReceived(self, data: bytes) -> None:
            """
            Answer every complete message of the buffer, in order.
            """
            buffer = self.buffer + data if self.buffer else data
            messages = buffer.split(DELIMITER)
            self.buffer = messages.pop()
            if messages:
                writeThrough(
                    self.transport,  # type: ignore[arg-type]
                    b"".join([REPLIES.get(m.strip(), UNKNOWN_REPLY) for m in messages]),
                )

    serveTwisted(port, FloorRelay)


# A hand-written asyncio server.


class AsyncioRelay(asyncio.Protocol):
    """
    Frames each received chunk at once; one C{write} for all its replies.
    """

    MAX_LINE = 16384
    _transport: Optional[asyncio.Transport] = None
    _buffer = b""
    _replies = REPLIES
    _unknown = UNKNOWN_REPLY

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """
        Keep the transport.
        """
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        """
        Answer every complete message of the buffer, in order.
        """
        buffer = self._buffer + data if self._buffer else data
        if DELIMITER not in buffer:
            self._buffer = buffer
            if len(buffer) > self.MAX_LINE and self._transport is not None:
                self._transport.close()
            return
        messages = buffer.split(DELIMITER)
        self._buffer = messages.pop()
        replies, unknown = self._replies, self._unknown
        assert self._transport is not None
        self._transport.write(
            b"".join([replies.get(message.strip(), unknown) for message in messages])
        )


async def serveAsyncioForever(port: int) -> None:
    """
    Listen and serve until cancelled.
    """
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        AsyncioRelay, HOST, port, backlog=BACKLOG, reuse_address=True
    )
    announce(server.sockets[0].getsockname()[1])
    await server.serve_forever()


def serveAsyncio(port: int) -> None:
    """
    Serve the protocol with a hand-written asyncio server.
    """
    asyncio.run(serveAsyncioForever(port))


SERVERS = {
    "socketserver": serveSocketServer,
    "lineonly": serveLineOnly,
    "asyncio": serveAsyncio,
    "floor": serveFloor,
}


def main(argv: list[str]) -> None:
    """
    C{python -m benchmarks.reference_servers KIND PORT}.
    """
    if len(argv) != 2 or argv[0] not in SERVERS or not argv[1].isdigit():
        raise SystemExit(
            f"usage: python -m benchmarks.reference_servers {{{','.join(SERVERS)}}} "
            "PORT"
        )
    try:
        SERVERS[argv[0]](int(argv[1]))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
