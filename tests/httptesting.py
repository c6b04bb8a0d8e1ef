"""
Helpers for tests of the HTTP front end without sockets: a site of
C{eofrelay.http} driven through a L{StringTransport}, its answers parsed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Optional

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from eofrelay.commands.interpreter import CommandInterpreter
from eofrelay.core.bank import RelayBank
from eofrelay.http.events import EventHub
from eofrelay.http.service import HTTPListenerFactory, httpSite
from eofrelay.testing import MemoryRelay

HOST = "192.0.2.1"
PORT = 8080
PEER = "192.0.2.20"


@dataclass
class Response:
    """
    One HTTP answer: its status, headers (names lower-cased, each with its
    values) and body (de-chunked).
    """

    status: int
    headers: dict[str, list[str]]
    body: bytes
    complete: bool = True

    def header(self, name: str) -> Optional[str]:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def json(self) -> object:
        import json

        return json.loads(self.body)


def parseResponses(data: bytes) -> list[Response]:
    """
    The answers in C{data}, the last possibly incomplete (a stream).
    """
    responses = []
    while data:
        head, separator, rest = data.partition(b"\r\n\r\n")
        if not separator:
            raise AssertionError(f"no end of headers in {data!r}")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        length = headers.get("content-length")
        if length is not None:
            size = int(length[0])
            responses.append(Response(status, headers, rest[:size], len(rest) >= size))
            data = rest[size:]
        elif headers.get("transfer-encoding") == ["chunked"]:
            body = b""
            complete = False
            while rest:
                sizeLine, _, rest = rest.partition(b"\r\n")
                size = int(sizeLine, 16)
                if size == 0:
                    rest = rest[2:]
                    complete = True
                    break
                body += rest[:size]
                rest = rest[size + 2 :]
            responses.append(Response(status, headers, body, complete))
            data = rest
        else:
            responses.append(Response(status, headers, rest, False))
            data = b""
    return responses


@dataclass
class FakeHTTP:
    """
    A bank of relays with the HTTP front end of its interpreter, reached
    through string transports, on a L{Clock}.
    """

    names: Iterable[str] = ("pump", "lamp")
    token: Optional[bytes] = None
    allow: Optional[list] = None  # type: ignore[type-arg]
    clock: Clock = field(default_factory=Clock)

    def __post_init__(self) -> None:
        self.drivers = [MemoryRelay(name) for name in self.names]
        self.bank = RelayBank(self.drivers, clock=self.clock)
        self.commands = CommandInterpreter(self.bank, self.token, self.clock)
        self.events = EventHub(self.bank, self.clock)
        self.site = httpSite(self.commands, self.events, self.clock)
        self.refused: list[str] = []
        self.factory = HTTPListenerFactory(
            self.site, 64, self.allow, self.refused.append
        )

    def connect(
        self, peer: str = PEER, secure: bool = False
    ) -> tuple[object, StringTransport]:
        """
        A new connection from C{peer}: its protocol and transport.
        """
        transport = StringTransport(
            hostAddress=IPv4Address("TCP", HOST, PORT),
            peerAddress=IPv4Address("TCP", peer, 50000),
        )
        protocol = self.factory.buildProtocol(transport.getPeer())
        assert protocol is not None
        if secure:
            # What a TLS transport says of itself to twisted.web.
            from twisted.internet.interfaces import ISSLTransport
            from zope.interface import alsoProvides

            alsoProvides(transport, ISSLTransport)
            transport.setTcpNoDelay = lambda enabled: None  # type: ignore[attr-defined]
        protocol.makeConnection(transport)
        return protocol, transport

    def send(
        self,
        method: str,
        path: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        peer: str = PEER,
        host: Optional[str] = f"{HOST}:{PORT}",
        secure: bool = False,
    ) -> tuple[object, StringTransport]:
        """
        Send one request on a new connection; its protocol and transport.
        """
        protocol, transport = self.connect(peer, secure)
        lines = [f"{method} {path} HTTP/1.1"]
        if host is not None:
            lines.append(f"Host: {host}")
        lines.extend(f"{name}: {value}" for name, value in headers)
        if body:
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        protocol.dataReceived(raw)  # type: ignore[attr-defined]
        return protocol, transport

    def request(
        self,
        method: str,
        path: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        **options: object,
    ) -> Response:
        """
        Send one request; its answer (which must be there at once).
        """
        _, transport = self.send(method, path, headers, body, **options)  # type: ignore[arg-type]
        [response] = parseResponses(transport.value())
        return response

    def states(self) -> dict[str, bool]:
        return {relay.name: relay.isOn for relay in self.bank.relays}
