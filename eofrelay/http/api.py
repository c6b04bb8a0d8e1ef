# -*- test-case-name: tests.test_http_api -*-
"""
The JSON API: each route, its methods, and the command it sends to the
command layer:

  - C{GET /api/relays}: C{relays};
  - C{GET /api/relays/NAME}: C{status NAME};
  - C{PUT /api/relays/NAME} with the body C{ON} or C{OFF} (or
    C{{"state": "on"}}): C{on NAME} or C{off NAME}, for Home Assistant's
    C{rest} switch, which sends both to one URL;
  - C{POST /api/relays/NAME/on}, C{off}, C{toggle}: C{on NAME}, ...;
  - C{POST /api/relays/NAME/pulse?ms=MS}: C{pulse NAME MS};
  - C{GET /api/events}: no command, the L{EventHub}'s stream.

Requests are checked in this order: the route (C{404}), the method
(C{405}, with C{Allow}), the origin of a C{POST} or C{PUT} (C{403}, before any token
is looked at), the token (C{401}), then the relay (C{404}) and the
arguments (C{400}), so that a client without the token learns nothing of
the relays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NamedTuple, Optional

from twisted.internet.defer import Deferred
from twisted.web import http
from twisted.web.server import Request

from eofrelay.commands.access import peerHost
from eofrelay.commands.interpreter import CommandInterpreter
from eofrelay.core.relay import RelayState
from eofrelay.core.results import isDeferred
from eofrelay.http.bearer import BearerCheck
from eofrelay.http.events import EventHub, relayObject
from eofrelay.http.origin import crossOrigin
from eofrelay.http.responses import (
    FORBIDDEN_ORIGIN,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    respond,
    respondError,
    respondReply,
)
from eofrelay.http.session import RequestSession
from eofrelay.wire import replies
from eofrelay.wire.addresses import describePeer

#: The verbs of C{POST /api/relays/NAME/VERB}.
ACTIONS: Final = ("on", "off", "toggle", "pulse")

_READ: Final = (b"GET", b"HEAD")
_CHANGE: Final = (b"POST",)
#: The methods that change a relay, whose origin is checked.
_CHANGING: Final = frozenset({b"POST", b"PUT"})


class Route(NamedTuple):
    """
    What a path names: its methods, and what answers it, given the
    request, its session and the path's relay name (or C{None}).
    """

    methods: tuple[bytes, ...]
    answer: Callable[[Request, RequestSession, Optional[str]], None]
    name: Optional[str] = None


def requestedState(body: bytes) -> Optional[bool]:
    """
    The state the body of C{PUT /api/relays/NAME} asks for: C{ON} or C{OFF}
    (any case, surrounded by whitespace or not, as Home Assistant's
    C{rest} switch sends by default), or a JSON object C{{"state": "on"}};
    C{None} for anything else.
    """
    text = body.strip()
    if text.startswith(b"{"):
        import json

        try:
            document = json.loads(text)
        except ValueError:
            return None
        state = document.get("state") if isinstance(document, dict) else None
        text = state.encode("utf-8") if isinstance(state, str) else b""
    word = text.lower()
    if word in (b"on", b"off"):
        return word == b"on"
    return None


def requestPeer(request: Request) -> str:
    """
    The peer of C{request} as the log names it: C{http:HOST:PORT}.
    """
    return "http:" + describePeer(request.getClientAddress())


class RelayAPI:
    """
    Answers the requests of C{/api/}, through a L{CommandInterpreter}.

    @ivar commands: What executes the commands of the requests.
    @ivar events: The event streams.
    @ivar bearer: What checks the requests' tokens.
    """

    def __init__(self, commands: CommandInterpreter, events: EventHub) -> None:
        self.commands = commands
        self.events = events
        self.bearer = BearerCheck(commands.authenticator)

    def route(self, segments: list[bytes]) -> Optional[Route]:
        """
        The route of a path below C{/api/}, as its segments, or C{None}.
        """
        if segments and segments[-1] == b"" and len(segments) > 1:
            # A trailing slash names the same thing.
            segments = segments[:-1]
        if segments == [b"relays"]:
            return Route(_READ, self._relays)
        if segments == [b"events"]:
            return Route((b"GET",), self._events)
        if len(segments) in (2, 3) and segments[0] == b"relays":
            try:
                name = segments[1].decode("ascii")
            except UnicodeDecodeError:
                name = ""
            if len(segments) == 2:
                return Route(_READ + (b"PUT",), self._statusOrSet, name)
            try:
                action = segments[2].decode("ascii")
            except UnicodeDecodeError:
                return None
            if action in ACTIONS:
                return Route(_CHANGE, getattr(self, "_" + action), name)
        return None

    def handle(self, request: Request, segments: list[bytes]) -> None:
        """
        Answer a request for C{/api/} and the path C{segments} below it.
        """
        route = self.route(segments)
        if route is None:
            respondError(request, http.NOT_FOUND, NOT_FOUND)
            return
        method = request.method
        if method not in route.methods:
            request.setHeader(b"allow", b", ".join(route.methods))
            respondError(request, http.NOT_ALLOWED, METHOD_NOT_ALLOWED)
            return
        if method in _CHANGING and crossOrigin(request):
            respondError(request, http.FORBIDDEN, FORBIDDEN_ORIGIN)
            return
        peer = requestPeer(request)
        host = peerHost(request.getClientAddress())
        refusal = self.bearer.refusal(request, peer, host)
        if refusal is not None:
            respondReply(request, refusal)
            return
        route.answer(request, RequestSession(peer, host, True), route.name)

    # Each route

    def _relays(self, request: Request, session: RequestSession, _: object) -> None:
        def answer(reply: bytes) -> None:
            if reply.startswith(b"error: "):
                respondReply(request, reply)
                return
            listed = []
            for word in reply.decode("ascii").split():
                name, _, state = word.partition("=")
                listed.append({"name": name, "state": state})
            respond(request, http.OK, {"relays": listed})

        self._execute(session, b"relays", answer)

    def _status(
        self, request: Request, session: RequestSession, name: Optional[str]
    ) -> None:
        relay = self._relay(request, name)
        if relay is None:
            return

        def answer(reply: bytes) -> None:
            if reply.startswith(b"error: "):
                respondReply(request, reply)
                return
            respond(request, http.OK, relayObject(relay.name, reply == replies.ON))

        self._execute(session, b"status " + relay.name.encode("ascii"), answer)

    def _statusOrSet(
        self, request: Request, session: RequestSession, name: Optional[str]
    ) -> None:
        if request.method != b"PUT":
            self._status(request, session, name)
            return
        state = requestedState(request.content.read() if request.content else b"")
        if state is None:
            if self._relay(request, name) is not None:
                respondReply(request, replies.BAD_ARGUMENT)
            return
        self._change(request, session, name, b"on" if state else b"off")

    def _on(
        self, request: Request, session: RequestSession, name: Optional[str]
    ) -> None:
        self._change(request, session, name, b"on")

    def _off(
        self, request: Request, session: RequestSession, name: Optional[str]
    ) -> None:
        self._change(request, session, name, b"off")

    def _toggle(
        self, request: Request, session: RequestSession, name: Optional[str]
    ) -> None:
        self._change(request, session, name, b"toggle")

    def _pulse(
        self, request: Request, session: RequestSession, name: Optional[str]
    ) -> None:
        given = request.args.get(b"ms", [])
        if len(given) == 1 and given[0].isdigit() and given[0].isascii():
            self._change(request, session, name, b"pulse", given[0])
            return
        if self._relay(request, name) is not None:
            respondReply(request, replies.BAD_ARGUMENT)

    def _events(self, request: Request, session: RequestSession, _: object) -> None:
        self.events.open(request, session.peer)

    # Executing a command

    def _relay(self, request: Request, name: Optional[str]) -> Optional[RelayState]:
        """
        The relay named C{name}, case-insensitively; or C{None}, once
        C{request} is answered with C{404}.
        """
        try:
            return self.commands.bank.relay(name or "")
        except KeyError:
            respondReply(request, replies.UNKNOWN_RELAY)
            return None

    def _change(
        self,
        request: Request,
        session: RequestSession,
        name: Optional[str],
        verb: bytes,
        argument: Optional[bytes] = None,
    ) -> None:
        """
        Send C{VERB NAME [ARGUMENT]}, and answer with the relay once it is
        done.
        """
        relay = self._relay(request, name)
        if relay is None:
            return
        message = verb + b" " + relay.name.encode("ascii")
        if argument is not None:
            message += b" " + argument

        def answer(reply: bytes) -> None:
            if reply != replies.SUCCESS:
                respondReply(request, reply)
                return
            if verb in (b"on", b"off"):
                on = verb == b"on"
            elif verb == b"pulse":
                on = True
            else:
                on = relay.isOn
            respond(request, http.OK, relayObject(relay.name, on))

        self._execute(session, message, answer)

    def _execute(
        self, session: RequestSession, message: bytes, answer: Callable[[bytes], None]
    ) -> None:
        """
        Execute C{message} for C{session} and call C{answer} with its reply,
        now or when it comes.
        """
        reply = self.commands.execute(session, message)
        if isDeferred(reply):
            waiting: Deferred[bytes] = reply
            waiting.addCallback(answer)
        else:
            assert isinstance(reply, bytes)
            answer(reply)
