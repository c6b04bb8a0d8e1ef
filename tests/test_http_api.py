"""
Tests for the JSON API of C{eofrelay.http}: every route, every error, the
token, the Origin rule, wrong methods and request bodies.
"""

from __future__ import annotations

from twisted.internet.error import ConnectionDone
from twisted.logger import LogLevel, capturedLogs
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.commands.access import FailedAuthentications, parseNetwork
from eofrelay.http.bodies import MAX_BODY
from eofrelay.wire import replies
from tests.httptesting import HOST, PORT, FakeHTTP, parseResponses

ORIGIN = f"http://{HOST}:{PORT}"


class ReadTests(SynchronousTestCase):
    """
    C{GET /api/relays} and C{GET /api/relays/NAME}.
    """

    def test_relays(self) -> None:
        """
        C{GET /api/relays} lists every relay with its state, in configured
        order, as JSON.
        """
        http = FakeHTTP(names=("pump", "lamp", "fan"))
        http.bank.relay("lamp").switch(True)
        response = http.request("GET", "/api/relays")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("content-type"), "application/json")
        self.assertEqual(
            response.json(),
            {
                "relays": [
                    {"name": "pump", "state": "off"},
                    {"name": "lamp", "state": "on"},
                    {"name": "fan", "state": "off"},
                ]
            },
        )

    def test_relay(self) -> None:
        """
        C{GET /api/relays/NAME} gives one relay, found case-insensitively,
        under its configured name.
        """
        http = FakeHTTP()
        http.bank.relay("pump").switch(True)
        for path in ("/api/relays/pump", "/api/relays/PuMp", "/api/relays/pump/"):
            response = http.request("GET", path)
            self.assertEqual(response.status, 200, path)
            self.assertEqual(response.json(), {"name": "pump", "state": "on"})

    def test_unknownRelay(self) -> None:
        """
        A relay that is not configured is C{404} C{unknown relay}, also
        C{all}, which names no single relay, and a name that could not be
        one word of a command.
        """
        http = FakeHTTP()
        for path in (
            "/api/relays/nosuch",
            "/api/relays/all",
            "/api/relays/pump%20lamp",
            "/api/relays/pump%3CEOF%3Eon",
            "/api/relays/%C3%A9",
        ):
            response = http.request("GET", path)
            self.assertEqual(response.status, 404, path)
            self.assertEqual(response.json(), {"error": "unknown relay"})
            response = http.request("POST", path + "/on")
            self.assertEqual(response.status, 404, path)
            self.assertEqual(response.json(), {"error": "unknown relay"})
        self.assertEqual(http.states(), {"pump": False, "lamp": False})

    def test_head(self) -> None:
        """
        C{HEAD} of a read route has the headers of its C{GET} and no body.
        """
        http = FakeHTTP()
        _, transport = http.send("HEAD", "/api/relays")
        head, _, body = transport.value().partition(b"\r\n\r\n")
        self.assertIn(b"200 OK", head)
        self.assertEqual(body, b"")

    def test_unknownRoute(self) -> None:
        """
        A path that is no route is C{404} C{not found}, as JSON.
        """
        http = FakeHTTP()
        for path in (
            "/api",
            "/api/",
            "/api/nothing",
            "/api/relays/pump/explode",
            "/api/relays/pump/on/more",
            "/favicon.ico",
        ):
            response = http.request("GET", path)
            self.assertEqual(response.status, 404, path)
            self.assertEqual(response.json(), {"error": "not found"})

    def test_commandsCounted(self) -> None:
        """
        The API's commands are counted with TCP's, for the metrics.
        """
        http = FakeHTTP()
        http.request("GET", "/api/relays")
        http.request("POST", "/api/relays/pump/on")
        http.request("POST", "/api/relays/pump/pulse?ms=0")
        counts = http.commands.commandCounts
        self.assertEqual(counts["relays", "ok"], 1)
        self.assertEqual(counts["on", "ok"], 1)
        self.assertEqual(counts["pulse", "bad argument"], 1)


class ChangeTests(SynchronousTestCase):
    """
    C{POST /api/relays/NAME/on}, C{off}, C{toggle}, C{pulse}.
    """

    def test_onOff(self) -> None:
        """
        C{on} and C{off} switch the relay and answer with it after the
        change; the switch is logged with the HTTP peer.
        """
        http = FakeHTTP()
        with capturedLogs() as events:
            response = http.request("POST", "/api/relays/PUMP/on")
        self.assertEqual(
            (response.status, response.json()), (200, {"name": "pump", "state": "on"})
        )
        self.assertEqual(http.drivers[0].history, [True])
        self.assertIn(
            "http:192.0.2.20:50000",
            [event.get("peer") for event in events],
        )
        response = http.request("POST", "/api/relays/pump/off")
        self.assertEqual(response.json(), {"name": "pump", "state": "off"})
        self.assertEqual(http.drivers[0].history, [True, False])

    def test_put(self) -> None:
        """
        C{PUT /api/relays/NAME} with C{ON} or C{OFF} (any case), or a JSON
        object with C{state}, switches the relay, as Home Assistant's
        C{rest} switch does; any other body is C{bad argument}, and an
        unknown relay C{unknown relay}.
        """
        http = FakeHTTP()
        for body, state in (
            (b"ON", "on"),
            (b"OFF", "off"),
            (b" on\n", "on"),
            (b'{"state": "off"}', "off"),
        ):
            response = http.request("PUT", "/api/relays/Pump", body=body)
            self.assertEqual(
                (response.status, response.json()),
                (200, {"name": "pump", "state": state}),
                body,
            )
        self.assertEqual(http.drivers[0].history, [True, False, True, False])
        for body in (b"", b"maybe", b'{"state": 1}', b"{", b"[]"):
            response = http.request("PUT", "/api/relays/pump", body=body)
            self.assertEqual(
                (response.status, response.json()),
                (400, {"error": "bad argument"}),
                body,
            )
        response = http.request("PUT", "/api/relays/nosuch", body=b"ON")
        self.assertEqual(response.status, 404)
        self.assertEqual(http.drivers[0].history, [True, False, True, False])

    def test_toggle(self) -> None:
        """
        C{toggle} inverts the relay and answers with its new state.
        """
        http = FakeHTTP()
        self.assertEqual(
            http.request("POST", "/api/relays/lamp/toggle").json(),
            {"name": "lamp", "state": "on"},
        )
        self.assertEqual(
            http.request("POST", "/api/relays/lamp/toggle").json(),
            {"name": "lamp", "state": "off"},
        )

    def test_pulse(self) -> None:
        """
        C{pulse?ms=MS} answers with the relay on, and its timer switches
        it off MS milliseconds later.
        """
        http = FakeHTTP()
        response = http.request("POST", "/api/relays/pump/pulse?ms=1500")
        self.assertEqual(
            (response.status, response.json()), (200, {"name": "pump", "state": "on"})
        )
        http.clock.advance(1.499)
        self.assertTrue(http.bank.relay("pump").isOn)
        http.clock.advance(0.002)
        self.assertFalse(http.bank.relay("pump").isOn)

    def test_pulseBadArgument(self) -> None:
        """
        A pulse without C{ms}, with it twice, not a number or out of range is
        C{400} C{bad argument}, and nothing is switched.
        """
        http = FakeHTTP()
        for query in (
            "",
            "?ms=",
            "?ms=abc",
            "?ms=-5",
            "?ms=1.5",
            "?ms=0",
            "?ms=86400001",
            "?ms=1&ms=2",
            "?ms=%EF%BC%91",
        ):
            response = http.request("POST", "/api/relays/pump/pulse" + query)
            self.assertEqual(response.status, 400, query)
            self.assertEqual(response.json(), {"error": "bad argument"})
        self.assertEqual(http.drivers[0].history, [])
        response = http.request("POST", "/api/relays/nosuch/pulse?ms=abc")
        self.assertEqual(response.status, 404)

    def test_interlock(self) -> None:
        """
        Interlocks apply as over TCP: switching one relay on first
        switches its partner off.
        """
        from eofrelay.commands.interpreter import CommandInterpreter
        from eofrelay.core.bank import RelayBank
        from eofrelay.http.events import EventHub
        from eofrelay.http.service import httpSite

        http = FakeHTTP(names=("up", "down"))
        http.bank = RelayBank(
            http.drivers, interlocks=[["up", "down"]], clock=http.clock
        )
        http.commands = CommandInterpreter(http.bank, None, http.clock)
        http.site = httpSite(http.commands, EventHub(http.bank, http.clock), http.clock)
        http.factory.wrappedFactory = http.site
        http.request("POST", "/api/relays/up/on")
        http.request("POST", "/api/relays/down/on")
        self.assertEqual(http.states(), {"up": False, "down": True})

    def test_hardwareFailure(self) -> None:
        """
        A relay whose driver fails answers C{503} C{hardware failure}, and
        its state stays as it was.
        """
        http = FakeHTTP()
        http.drivers[0].failWith = OSError("bus error")
        response = http.request("POST", "/api/relays/pump/on")
        self.assertEqual(response.status, 503)
        self.assertEqual(response.json(), {"error": "hardware failure"})
        self.assertFalse(http.bank.relay("pump").isOn)
        self.flushLoggedErrors()

    def test_later(self) -> None:
        """
        A relay that answers later is answered for once it has: the answer
        waits for it.
        """
        http = FakeHTTP()
        http.drivers[0].asynchronous = True
        _, transport = http.send("POST", "/api/relays/pump/on")
        self.assertEqual(transport.value(), b"")
        http.drivers[0].pending[0][0].callback(None)
        [response] = parseResponses(transport.value())
        self.assertEqual(response.json(), {"name": "pump", "state": "on"})

    def test_order(self) -> None:
        """
        A read waits for the change queued before it, from TCP or HTTP.
        """
        http = FakeHTTP()
        http.drivers[0].asynchronous = True
        _, _changing = http.send("POST", "/api/relays/pump/on")
        _, reading = http.send("GET", "/api/relays/pump")
        self.assertEqual(reading.value(), b"")
        http.drivers[0].pending[0][0].callback(None)
        [response] = parseResponses(reading.value())
        self.assertEqual(response.json(), {"name": "pump", "state": "on"})

    def test_clientGone(self) -> None:
        """
        A client that goes away before a late answer costs nothing.
        """
        http = FakeHTTP()
        http.drivers[0].asynchronous = True
        protocol, _transport = http.send("POST", "/api/relays/pump/on")
        protocol.connectionLost(Failure(ConnectionDone()))  # type: ignore[attr-defined]
        http.drivers[0].pending[0][0].callback(None)
        self.assertTrue(http.bank.relay("pump").isOn)


class MethodTests(SynchronousTestCase):
    """
    A method a route does not take is C{405} with C{Allow}.
    """

    def test_wrongMethod(self) -> None:
        """
        Each route refuses the methods it does not take with C{405}, JSON
        C{method not allowed} and an C{Allow} header naming those it takes.
        """
        http = FakeHTTP()
        for method, path, allow in (
            ("POST", "/api/relays", "GET, HEAD"),
            ("DELETE", "/api/relays/pump", "GET, HEAD, PUT"),
            ("POST", "/api/relays/pump", "GET, HEAD, PUT"),
            ("GET", "/api/relays/pump/on", "POST"),
            ("GET", "/api/relays/pump/pulse?ms=5", "POST"),
            ("OPTIONS", "/api/relays/pump/toggle", "POST"),
            ("POST", "/api/events", "GET"),
            ("POST", "/", "GET, HEAD"),
        ):
            response = http.request(method, path)
            self.assertEqual(response.status, 405, (method, path))
            self.assertEqual(response.header("allow"), allow, (method, path))
            self.assertEqual(response.json(), {"error": "method not allowed"})
        self.assertEqual(http.drivers[0].history, [])


class TokenTests(SynchronousTestCase):
    """
    With a token, every C{/api/} request needs C{Authorization: Bearer}.
    """

    def test_required(self) -> None:
        """
        Without the header (or with another scheme) every route is C{401}
        C{authentication required}, with C{WWW-Authenticate: Bearer}.
        """
        http = FakeHTTP(token=b"s3cret")
        for method, path in (
            ("GET", "/api/relays"),
            ("GET", "/api/relays/pump"),
            ("POST", "/api/relays/pump/on"),
            ("POST", "/api/relays/pump/pulse?ms=5"),
            ("GET", "/api/events"),
        ):
            for headers in ([], [("Authorization", "Basic czNjcmV0")]):
                response = http.request(method, path, headers)
                self.assertEqual(response.status, 401, path)
                self.assertEqual(response.json(), {"error": "authentication required"})
                self.assertTrue(
                    (response.header("www-authenticate") or "").startswith("Bearer")
                )
        self.assertEqual(http.drivers[0].history, [])
        self.assertEqual(http.events.streams, set())

    def test_accepted(self) -> None:
        """
        The right token opens every route; the scheme's case does not
        matter.
        """
        http = FakeHTTP(token=b"s3cret")
        for scheme in ("Bearer", "bearer"):
            headers = [("Authorization", f"{scheme} s3cret")]
            self.assertEqual(http.request("GET", "/api/relays", headers).status, 200)
            response = http.request("POST", "/api/relays/pump/toggle", headers)
            self.assertEqual(response.status, 200)
        self.assertEqual(http.drivers[0].history, [True, False])

    def test_wrong(self) -> None:
        """
        A wrong token is C{401} C{authentication failed}, logged without the
        token, and counted by the throttle of C{auth}.
        """
        http = FakeHTTP(token=b"s3cret")
        with capturedLogs() as events:
            response = http.request(
                "POST", "/api/relays/pump/on", [("Authorization", "Bearer guess{}")]
            )
        self.assertEqual(response.status, 401)
        self.assertEqual(response.json(), {"error": "authentication failed"})
        self.assertEqual(http.drivers[0].history, [])
        self.assertEqual(len(http.commands.failedAuthentications), 1)
        warned = [e for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(warned), 1)
        self.assertNotIn("guess", repr(events))

    def test_throttled(self) -> None:
        """
        After too many wrong tokens from a host, the right one is refused
        too, over HTTP and over TCP's C{auth}, until the window is over;
        other hosts are not.
        """
        http = FakeHTTP(token=b"s3cret")
        wrong = [("Authorization", "Bearer nope")]
        right = [("Authorization", "Bearer s3cret")]
        for _ in range(FailedAuthentications.LIMIT):
            http.request("GET", "/api/relays", wrong)
        response = http.request("GET", "/api/relays", right)
        self.assertEqual(response.status, 401)
        self.assertEqual(response.json(), {"error": "authentication failed"})
        self.assertEqual(
            http.request("GET", "/api/relays", right, peer="192.0.2.99").status, 200
        )
        from eofrelay.http.session import RequestSession

        session = RequestSession("tcp", "192.0.2.20", False)
        self.assertEqual(
            http.commands.execute(session, b"auth s3cret"),
            replies.AUTHENTICATION_FAILED,
        )
        http.clock.advance(FailedAuthentications.WINDOW)
        self.assertEqual(http.request("GET", "/api/relays", right).status, 200)

    def test_pageNeedsNoToken(self) -> None:
        """
        The page itself is served without a token: it asks for one.
        """
        http = FakeHTTP(token=b"s3cret")
        self.assertEqual(http.request("GET", "/").status, 200)


class OriginTests(SynchronousTestCase):
    """
    A state-changing request from a page of another origin is C{403}.
    """

    def test_foreign(self) -> None:
        """
        C{POST} with an C{Origin} that is not the server's own (another
        host, port or scheme, C{null}, garbage, or two of them) is C{403},
        before the token is looked at, and switches nothing.
        """
        http = FakeHTTP(token=b"s3cret")
        for origins in (
            ["http://evil.example"],
            [f"http://{HOST}:8081"],
            [f"https://{HOST}:{PORT}"],
            [f"http://{HOST}"],
            ["null"],
            ["garbage"],
            [ORIGIN, "http://evil.example"],
            [ORIGIN + "/path"],
        ):
            headers = [("Origin", origin) for origin in origins]
            for authorization in ([], [("Authorization", "Bearer wrong")]):
                response = http.request(
                    "POST", "/api/relays/pump/on", headers + authorization
                )
                self.assertEqual(response.status, 403, origins)
                response = http.request(
                    "PUT", "/api/relays/pump", headers + authorization, body=b"ON"
                )
                self.assertEqual(response.status, 403, origins)
                self.assertEqual(
                    response.json(), {"error": "cross-origin request refused"}
                )
        self.assertEqual(http.drivers[0].history, [])
        # The token was never looked at: no failure counted.
        self.assertEqual(len(http.commands.failedAuthentications), 0)
        self.assertIsNone(
            http.request("POST", "/api/relays/pump/on").header(
                "access-control-allow-origin"
            )
        )

    def test_own(self) -> None:
        """
        C{POST} from the server's own origin (as the C{Host} header names
        it, case-insensitively, the default port implied) is served, and so
        is one without C{Origin}.
        """
        http = FakeHTTP()
        for host, origin in (
            (f"{HOST}:{PORT}", ORIGIN),
            (f"{HOST}:{PORT}", ORIGIN.upper()),
            ("relays.local", "http://relays.local:80"),
            ("relays.local:80", "http://relays.local"),
            ("[::1]:8080", "http://[::1]:8080"),
        ):
            response = http.request(
                "POST", "/api/relays/pump/toggle", [("Origin", origin)], host=host
            )
            self.assertEqual(response.status, 200, (host, origin))
        self.assertEqual(http.request("POST", "/api/relays/pump/on").status, 200)

    def test_secure(self) -> None:
        """
        Over TLS the server's own origin is C{https}: C{http} is another.
        """
        http = FakeHTTP()
        response = http.request(
            "POST",
            "/api/relays/pump/on",
            [("Origin", f"https://{HOST}:{PORT}")],
            secure=True,
        )
        self.assertEqual(response.status, 200)
        response = http.request(
            "POST", "/api/relays/pump/on", [("Origin", ORIGIN)], secure=True
        )
        self.assertEqual(response.status, 403)

    def test_noHost(self) -> None:
        """
        Without a C{Host} header (HTTP/1.0), the address reached is the
        server's origin.
        """
        http = FakeHTTP()
        response = http.request(
            "POST", "/api/relays/pump/on", [("Origin", ORIGIN)], host=None
        )
        self.assertEqual(response.status, 200)

    def test_reads(self) -> None:
        """
        Reads are not state-changing: a foreign C{Origin} does not refuse
        them (no CORS header lets the page read the answer anyway).
        """
        http = FakeHTTP()
        response = http.request(
            "GET", "/api/relays", [("Origin", "http://evil.example")]
        )
        self.assertEqual(response.status, 200)
        self.assertIsNone(response.header("access-control-allow-origin"))


class AllowTests(SynchronousTestCase):
    """
    C{--allow} applies to HTTP peers.
    """

    def test_refused(self) -> None:
        """
        A peer outside C{--allow} is closed at once, before any byte is
        read, logged and counted; one inside is served.
        """
        http = FakeHTTP(allow=[parseNetwork("192.0.2.0/28")])
        with capturedLogs() as events:
            _protocol, transport = http.connect(peer="198.51.100.7")
        self.assertTrue(transport.disconnecting or transport.disconnected)
        self.assertEqual(http.refused, ["not allowed"])
        self.assertIn("not in --allow", repr([e.get("log_format") for e in events]))
        self.assertEqual(
            http.request("GET", "/api/relays", peer="192.0.2.5").status, 200
        )

    def test_connectionLimit(self) -> None:
        """
        Past the listener's limit, a connection is closed at once and
        counted, not logged.
        """
        http = FakeHTTP()
        http.factory.maxConnections = 2
        http.connect()
        http.connect()
        with capturedLogs() as events:
            _, transport = http.connect()
        self.assertTrue(transport.disconnecting or transport.disconnected)
        self.assertEqual(http.refused, ["too many http connections"])
        self.assertEqual(list(events), [])


class BodyTests(SynchronousTestCase):
    """
    Request bodies are refused where a route takes none, and capped where
    it may have one, before they are read.
    """

    def test_readRefusesBody(self) -> None:
        """
        A C{GET} with a body, declared or chunked, gets C{413} and a closed
        connection, and is not served.
        """
        http = FakeHTTP()
        _, transport = http.send("GET", "/api/relays", body=b"x")
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 413 "))
        self.assertIn(b'{"error": "request body too large"}', transport.value())
        self.assertTrue(transport.disconnecting)
        protocol, transport = http.send(
            "GET", "/api/events", [("Transfer-Encoding", "chunked")]
        )
        self.assertEqual(transport.value(), b"")
        protocol.dataReceived(b"1\r\nx\r\n0\r\n\r\n")  # type: ignore[attr-defined]
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 413 "))
        self.assertEqual(http.events.streams, set())

    def test_postCapped(self) -> None:
        """
        A C{POST} may carry a small body (Home Assistant's C{ON}), which is
        ignored; one over L{MAX_BODY} gets C{413} before any of it is
        stored, and switches nothing.
        """
        http = FakeHTTP()
        response = http.request("POST", "/api/relays/pump/on", body=b"ON")
        self.assertEqual(response.status, 200)
        response = http.request("POST", "/api/relays/pump/off", body=b"x" * MAX_BODY)
        self.assertEqual(response.status, 200)
        protocol, transport = http.connect()
        protocol.dataReceived(  # type: ignore[attr-defined]
            b"POST /api/relays/pump/on HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 50000000\r\n\r\n" + b"x" * 4096
        )
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 413 "))
        self.assertTrue(transport.disconnecting)
        protocol, transport = http.connect()
        protocol.dataReceived(  # type: ignore[attr-defined]
            b"POST /api/relays/pump/on HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            + (b"400\r\n" + b"x" * 1024 + b"\r\n")
            * 2
        )
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 413 "))
        self.assertEqual(http.drivers[0].history, [True, False])
