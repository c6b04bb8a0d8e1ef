"""
Tests for L{eofrelay.tap} (L{eofrelay.wiring.options},
L{eofrelay.wiring.build}): the options of C{twistd eofrelay} and the
service built from them.
"""

from __future__ import annotations

from twisted.internet.endpoints import TCP4ServerEndpoint, UNIXServerEndpoint
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.gpio.memory import MemoryPins
from eofrelay.tap import Options, makeService
from eofrelay.wiring.options import RelaySpec, parseRelaySpec
from eofrelay.wiring.service import RelayService


def parse(*arguments: str) -> Options:
    options = Options()
    options.parseOptions(list(arguments))
    return options


class OptionsTests(SynchronousTestCase):
    """
    Tests for L{Options}.
    """

    def test_endpointErrorsInWords(self) -> None:
        """
        A bad C{--listen} or C{--metrics} description is refused with a
        reason in words, not Python's (C{invalid literal for int()}, a
        parser's argument names, C{list index out of range}).
        """
        import os

        self.patch(os, "environ", {})
        for arguments, reason in (
            (("--listen", "tcp:notaport"), "the port must be a number"),
            (("--listen", "tcp:99999"), "the port must be from 0 to 65535"),
            (("--metrics", "tcp:70000"), "the port must be from 0 to 65535"),
            (
                ("--listen", "tcp:1100:interface=lo:x"),
                "interface= is given twice, or also without its name",
            ),
            (
                ("--listen", "systemd:domain=INET:index=0"),
                "systemd passed no socket that Twisted can use: LISTEN_FDS is not set",
            ),
        ):
            with self.assertRaises(UsageError) as raised:
                parse("--gpio", "memory", *arguments)
            message = str(raised.exception)
            self.assertIn(reason, message)
            for python in ("literal", "_parse", "index out of range"):
                self.assertNotIn(python, message)
        os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
        with self.assertRaises(UsageError) as raised:
            parse("--listen", "systemd:domain=INET:index=0")
        self.assertIn("without their names (LISTEN_FDNAMES", str(raised.exception))

    def test_tlsWithoutPyOpenSSL(self) -> None:
        """
        An endpoint that fails for want of pyOpenSSL is said to need the
        C{tls} extra, with how to install it from a checkout too, not only
        C{No module named 'OpenSSL'}.
        """
        from eofrelay.wiring.descriptions import _endpointError

        missing = ImportError("No module named 'OpenSSL'", name="OpenSSL")
        reason = _endpointError("ssl:1100:privateKey=key.pem", missing)
        self.assertTrue(
            reason.startswith("TLS needs pyOpenSSL: pip install '.[tls]'"), reason
        )

    def test_relayNamedTwice(self) -> None:
        """
        Two relays with one name, in any case, are refused with the message
        that says so.
        """
        for second in ("a:18", "A:18"):
            with self.assertRaises(UsageError) as raised:
                parse("--relay", "a:17", "--relay", second)
            self.assertEqual(
                str(raised.exception), "--relay: each relay needs its own name"
            )

    def test_defaults(self) -> None:
        """
        By default eofrelay listens on TCP port 1100 on all interfaces and
        drives one relay, C{relay}, on BCM 17, with automatic GPIO.
        """
        options = parse()
        self.assertEqual(options["listen"], ["tcp:1100:backlog=1024"])
        [endpoint] = options["endpoints"]
        self.assertIsInstance(endpoint, TCP4ServerEndpoint)
        self.assertEqual((endpoint._port, endpoint._interface), (1100, ""))
        self.assertEqual(options["relays"], [RelaySpec("relay", 17, False)])
        self.assertEqual(options["gpio"], "auto")
        self.assertEqual(options["max-line"], 1024)
        self.assertFalse(options["close-after-reply"])

    def test_port(self) -> None:
        """
        C{--port} sets the TCP port.
        """
        self.assertEqual(parse("--port", "2000")["listen"], ["tcp:2000:backlog=1024"])

    def test_badPort(self) -> None:
        """
        A port that is not a number from 0 to 65535 is refused.
        """
        for value in ("x", "-1", "65536", ""):
            error = self.assertRaises(UsageError, parse, "--port", value)
            self.assertIn("--port", str(error))

    def test_listen(self) -> None:
        """
        C{--listen} takes endpoint descriptions, repeatable, instead of
        C{--port}.
        """
        options = parse(
            "--listen", "tcp:1200:interface=127.0.0.1", "--listen", "unix:/tmp/s"
        )
        self.assertEqual(
            options["listen"], ["tcp:1200:interface=127.0.0.1", "unix:/tmp/s"]
        )
        self.assertIsInstance(options["endpoints"][1], UNIXServerEndpoint)

    def test_listenAndPort(self) -> None:
        """
        C{--port} given with C{--listen} listens on both.
        """
        options = parse("--listen", "unix:/tmp/s", "--port", "1300")
        self.assertEqual(options["listen"], ["unix:/tmp/s", "tcp:1300:backlog=1024"])

    def test_badListen(self) -> None:
        """
        An endpoint description Twisted cannot parse is refused.
        """
        error = self.assertRaises(UsageError, parse, "--listen", "nonsense:1")
        self.assertIn("nonsense:1", str(error))

    def test_relays(self) -> None:
        """
        C{--relay} is repeatable and keeps the order given.
        """
        options = parse("--relay", "pump:17", "--relay", "Door-1:27:active-low")
        self.assertEqual(
            options["relays"],
            [RelaySpec("pump", 17, False), RelaySpec("Door-1", 27, True)],
        )

    def test_badRelays(self) -> None:
        """
        Malformed relay specifications, reserved or bad names, bad pins and
        duplicates are refused.
        """
        for arguments in (
            ["--relay", "pump"],
            ["--relay", "pump:x"],
            ["--relay", "pump:54"],
            ["--relay", "pump:-1"],
            ["--relay", "pump:17:inverted"],
            ["--relay", "pump:17:active-low:x"],
            ["--relay", "1pump:17"],
            ["--relay", "all:17"],
            ["--relay", "a" * 33 + ":17"],
            ["--relay", "a:17", "--relay", "A:18"],
            ["--relay", "a:17", "--relay", "b:17"],
        ):
            self.assertRaises(UsageError, parse, *arguments)

    def test_parseRelaySpec(self) -> None:
        """
        The longest name allowed is accepted.
        """
        name = "a" + "b" * 31
        self.assertEqual(parseRelaySpec(f"{name}:0"), RelaySpec(name, 0, False))

    def test_gpio(self) -> None:
        """
        C{--gpio} accepts the known backends only.
        """
        self.assertEqual(parse("--gpio", "memory")["gpio"], "memory")
        self.assertRaises(UsageError, parse, "--gpio", "bogus")

    def test_maxLine(self) -> None:
        """
        C{--max-line} is a positive integer.
        """
        self.assertEqual(parse("--max-line", "64")["max-line"], 64)
        for value in ("0", "x", "2000000"):
            self.assertRaises(UsageError, parse, "--max-line", value)

    def test_closeAfterReply(self) -> None:
        """
        C{--close-after-reply} is a flag.
        """
        self.assertTrue(parse("--close-after-reply")["close-after-reply"])


class MakeServiceTests(SynchronousTestCase):
    """
    Tests for L{makeService}.
    """

    def test_service(self) -> None:
        """
        The service serves a factory with the configured relays and limits
        on every endpoint.
        """
        service = makeService(
            parse(
                "--gpio",
                "memory",
                "--relay",
                "a:5",
                "--relay",
                "b:6:active-low",
                "--max-line",
                "64",
                "--close-after-reply",
                "--listen",
                "tcp:0:interface=127.0.0.1",
                "--listen",
                "unix:/tmp/x",
            )
        )
        self.assertIsInstance(service, RelayService)
        factory = service.factory
        self.assertEqual([relay.name for relay in factory.bank.relays], ["a", "b"])
        self.assertEqual(factory.maxLine, 64)
        self.assertTrue(factory.closeAfterReply)
        self.assertEqual(len(list(service)), 2)
        pins = service.pins
        assert isinstance(pins, MemoryPins)
        # No pin is driven before every port listens.
        self.assertEqual(pins.activeLow, {})
        service._pinsUp()
        self.assertEqual(pins.activeLow, {5: False, 6: True})
        self.assertEqual(pins.levels, {5: False, 6: False})

    def test_gpioUnavailable(self) -> None:
        """
        When the GPIO backend cannot run, C{makeService} exits with one
        line saying why, not a traceback.
        """
        import eofrelay.wiring.build
        from eofrelay.gpio import GPIOUnavailable

        def unavailable(backend: str, chip: object = None) -> None:
            raise GPIOUnavailable("RPi.GPIO cannot run here: not a Pi")

        self.patch(eofrelay.wiring.build, "openPins", unavailable)
        error = self.assertRaises(SystemExit, makeService, parse("--gpio", "rpi"))
        self.assertEqual(error.code, "eofrelay: RPi.GPIO cannot run here: not a Pi")

    def test_setupFailureReleases(self) -> None:
        """
        When one pin cannot be set up, the pins set up before are released.
        """
        import eofrelay.wiring.build
        from eofrelay.gpio import GPIOUnavailable

        pins = MemoryPins()
        original = pins.setup

        def setup(pin: int, activeLow: bool, on: bool) -> None:
            if pin == 6:
                raise GPIOUnavailable("GPIO 6 is busy")
            original(pin, activeLow, on)

        pins.setup = setup  # type: ignore[method-assign]
        self.patch(eofrelay.wiring.build, "openPins", lambda backend, chip=None: pins)
        service = makeService(parse("--relay", "a:5", "--relay", "b:6"))
        with capturedLogs() as events:
            error = self.assertRaises(SystemExit, service._pinsUp)
        self.assertEqual((error.code, str(error)), (1, "eofrelay: GPIO 6 is busy"))
        self.assertEqual(events[0]["log_level"], LogLevel.critical)
        self.assertTrue(pins.released)


class RelayPolicyOptionsTests(SynchronousTestCase):
    """
    C{--interlock}, C{--state-file}, C{--power-on} and C{--on-exit}.
    """

    def test_defaults(self) -> None:
        """
        By default: no interlock, no state file, relays off at start and
        driven off at exit.
        """
        options = parse()
        self.assertEqual(
            (
                options["interlocks"],
                options["state-file"],
                options["power-on"],
                options["on-exit"],
            ),
            ([], None, "off", "off"),
        )

    def test_interlock(self) -> None:
        """
        C{--interlock} takes comma-separated names of configured relays,
        repeatable.
        """
        options = parse(
            "--relay", "up:5", "--relay", "down:6", "--relay", "x:7",
            "--interlock", "up,DOWN", "--interlock", "down,x",
        )  # fmt: skip
        self.assertEqual(options["interlocks"], [["up", "DOWN"], ["down", "x"]])

    def test_badInterlocks(self) -> None:
        """
        Interlocks of fewer than two relays, with unknown or repeated names,
        are refused.
        """
        relays = ["--relay", "up:5", "--relay", "down:6"]
        for value in ("up", "up,", "up,nope", "up,up", ",up,down"):
            self.assertRaises(UsageError, parse, *relays, "--interlock", value)

    def test_powerOnAndOnExit(self) -> None:
        """
        C{--power-on} and C{--on-exit} accept their documented values only;
        C{restore} needs C{--state-file}; C{on} is refused with interlocks.
        """
        self.assertEqual(parse("--power-on", "on")["power-on"], "on")
        self.assertEqual(parse("--on-exit", "keep")["on-exit"], "keep")
        self.assertRaises(UsageError, parse, "--power-on", "maybe")
        self.assertRaises(UsageError, parse, "--on-exit", "on")
        error = self.assertRaises(UsageError, parse, "--power-on", "restore")
        self.assertIn("--state-file", str(error))
        self.assertEqual(
            parse("--power-on", "restore", "--state-file", "/tmp/x")["power-on"],
            "restore",
        )
        error = self.assertRaises(UsageError, parse, "--state-file", "/nonexistent/x")
        self.assertIn("/nonexistent", str(error))
        self.assertRaises(
            UsageError,
            parse,
            *(
                "--relay",
                "a:5",
                "--relay",
                "b:6",
                "--interlock",
                "a,b",
                "--power-on",
                "on",
            ),
        )


class PowerOnTests(SynchronousTestCase):
    """
    The state driven at start, through the real options and service.
    """

    def build(self, *arguments: str) -> RelayService:
        service = makeService(
            parse(
                "--gpio", "memory", "--listen", "tcp:0:interface=127.0.0.1", *arguments
            )
        )
        # What starting the service does once it listens.
        service._pinsUp()
        return service

    def test_powerOnOn(self) -> None:
        """
        With C{--power-on on}, every pin is set up already on: the first
        level written is the right one, also for active-low relays.
        """
        service = self.build(
            "--relay", "a:5:active-low", "--relay", "b:6", "--power-on", "on"
        )
        pins = service.pins
        assert isinstance(pins, MemoryPins)
        self.assertEqual(pins.history, [(5, True), (6, True)])
        self.assertEqual([r.isOn for r in service.factory.bank.relays], [True, True])

    def test_restoreAfterRestart(self) -> None:
        """
        The states commanded in one run are restored in the next, when the
        service is built from C{--power-on restore} and the same state file;
        a pulse in flight is restored off.
        """
        path = self.mktemp()
        arguments = (
            "--relay", "a:5", "--relay", "b:6", "--relay", "c:7",
            "--state-file", path, "--power-on", "restore",
        )  # fmt: skip
        first = self.build(*arguments)
        first.factory.bank.stateFile._runInThread = lambda f, *a: f(*a)  # type: ignore[union-attr]
        first.factory.bank.relay("b").switch(True)
        first.factory.bank.relay("c").pulse(60_000)
        second = self.build(*arguments)
        # The first run's pulse timer, on the global reactor.
        first.factory.bank.relay("c").cancelPulse()
        pins = second.pins
        assert isinstance(pins, MemoryPins)
        self.assertEqual(pins.history, [(5, False), (6, True), (7, False)])
        self.assertEqual(
            [r.isOn for r in second.factory.bank.relays], [False, True, False]
        )

    def buildKept(self, outputs: dict[int, bool], *arguments: str) -> RelayService:
        """
        The service of C{--power-on keep} and C{arguments}, on simulated
        pins of which C{outputs} are outputs already (electrical levels).
        """
        import eofrelay.wiring.build

        pins = MemoryPins(outputs)
        self.patch(eofrelay.wiring.build, "openPins", lambda backend, chip=None: pins)
        return self.build("--power-on", "keep", *arguments)

    def test_keep(self) -> None:
        """
        With C{--power-on keep}, the relays start in the states their pins
        have (active-low applied): the outputs are not driven, a pin that
        is not an output yet starts off; one line says which relays were
        read and which were not.
        """
        with capturedLogs() as events:
            service = self.buildKept(
                {5: False, 6: True, 7: False},
                *("--relay", "a:5:active-low", "--relay", "b:6", "--relay", "c:7"),
                *("--relay", "d:8"),
            )
        pins = service.pins
        assert isinstance(pins, MemoryPins)
        self.assertEqual(pins.history, [(8, False)])
        self.assertEqual(
            [r.isOn for r in service.factory.bank.relays], [True, True, False, False]
        )
        self.assertEqual(service.factory.bank.commandedStates()["a"], True)
        [line] = [
            formatEvent(e) for e in events if "--power-on keep" in e["log_format"]
        ]
        self.assertEqual(
            line,
            "--power-on keep: relay states read from their pins: a=on b=on c=off; "
            "pins not outputs yet, so starting off: d",
        )

    def test_keepNothingRead(self) -> None:
        """
        Where no pin is an output yet (simulated pins, a Pi just booted),
        the line says every relay starts off.
        """
        with capturedLogs() as events:
            service = self.buildKept({}, "--relay", "a:5", "--relay", "b:6")
        self.assertEqual([r.isOn for r in service.factory.bank.relays], [False, False])
        [line] = [
            formatEvent(e) for e in events if "--power-on keep" in e["log_format"]
        ]
        self.assertEqual(
            line,
            "--power-on keep: no relay's pin was an output yet, so every relay "
            "starts off: a, b",
        )

    def test_keepInterlocked(self) -> None:
        """
        Two relays of one interlock group read on are both switched off,
        with a warning; a relay read on alone in its group stays on.
        """
        with capturedLogs() as events:
            service = self.buildKept(
                {5: True, 6: True, 7: True},
                *("--relay", "up:5", "--relay", "down:6", "--relay", "fan:7"),
                *("--relay", "x:8", "--interlock", "up,down", "--interlock", "fan,x"),
            )
        pins = service.pins
        assert isinstance(pins, MemoryPins)
        self.assertEqual(pins.history, [(8, False), (5, False), (6, False)])
        self.assertEqual(
            [r.isOn for r in service.factory.bank.relays], [False, False, True, False]
        )
        [warning] = [e for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual(
            formatEvent(warning),
            "--power-on keep: interlocked relays up, down are all on: switching "
            "them off",
        )

    def test_keepMaxOn(self) -> None:
        """
        A relay read on under C{--max-on} goes off that long after the
        start, as any relay on at start.
        """
        service = self.buildKept(
            {5: True, 6: True}, "--relay", "a:5", "--relay", "b:6", "--max-on", "a:10"
        )
        a, b = service.factory.bank.relays
        self.addCleanup(a.cancelLimit)
        self.assertEqual((a.isOn, a.limited, b.limited), (True, True, False))
        self.assertFalse(service.factory.bank.commandedStates()["a"])

    def test_keepOption(self) -> None:
        """
        C{--power-on keep} needs no state file and is accepted with
        interlocks.
        """
        options = parse(
            *("--relay", "a:5", "--relay", "b:6", "--interlock", "a,b"),
            *("--power-on", "keep"),
        )
        self.assertEqual(options["power-on"], "keep")

    def test_restoreMissingFile(self) -> None:
        """
        With a missing state file, the service still starts, all off.
        """
        service = self.build("--state-file", self.mktemp(), "--power-on", "restore")
        self.assertEqual([r.isOn for r in service.factory.bank.relays], [False])


class ProtectionOptionsTests(SynchronousTestCase):
    """
    C{--idle-timeout}, C{--max-connections}, C{--token-file}, C{--allow}.
    """

    def test_defaults(self) -> None:
        """
        By default: 600 s idle timeout, 1024 connections, no token, anyone.
        """
        options = parse()
        self.assertEqual(
            (
                options["idle-timeout"],
                options["max-connections"],
                options["token"],
                options["allow"],
            ),
            (600, 1024, None, []),
        )

    def test_values(self) -> None:
        """
        The options reach the factory.
        """
        import os

        token = self.mktemp()
        with open(token, "w") as file:
            file.write("abc123\n")
        os.chmod(token, 0o600)
        service = makeService(
            parse(
                "--gpio", "memory", "--listen", "tcp:0:interface=127.0.0.1",
                "--idle-timeout", "0", "--max-connections", "5",
                "--token-file", token, "--allow", "10.0.0.0/8", "--allow", "::1",
            )
        )  # fmt: skip
        factory = service.factory
        self.assertEqual(
            (factory.idleTimeout, factory.maxConnections, factory.commands.token),
            (0, 5, b"abc123"),
        )
        self.assertEqual(
            [str(n) for n in factory.allow or []], ["10.0.0.0/8", "::1/128"]
        )

    def test_tokenFileTooOpen(self) -> None:
        """
        A token file other users may read is refused at option parsing, in
        one line naming the option, the file and its mode, with the
        C{chmod} that fixes it; once fixed, it is used.
        """
        import os

        path = self.mktemp()
        with open(path, "w") as file:
            file.write("abc")
        os.chmod(path, 0o644)
        arguments = ("--gpio", "memory", "--token-file", path)
        with self.assertRaises(UsageError) as raised:
            parse(*arguments)
        self.assertEqual(
            str(raised.exception),
            f"--token-file: permissions 0644 for '{path}' are too open: it "
            "holds a secret, and every user of this machine can read it; "
            f"run: chmod o-rwx {path}",
        )
        os.chmod(path, 0o640)
        self.assertEqual(parse(*arguments)["token"], b"abc")

    def test_idleTimeoutFractions(self) -> None:
        """
        C{--idle-timeout} takes fractions of a second.
        """
        self.assertEqual(parse("--idle-timeout", "0.5")["idle-timeout"], 0.5)
        self.assertEqual(parse("--idle-timeout", "90")["idle-timeout"], 90)

    def test_refused(self) -> None:
        """
        Bad values are refused at option parsing, with a message that names
        the option or the file.
        """
        import os

        readable = self.mktemp()
        with open(readable, "w") as file:
            file.write("abc")
        os.chmod(readable, 0o644)
        for arguments, text in (
            (["--idle-timeout", "-1"], "--idle-timeout"),
            (["--idle-timeout", "nan"], "--idle-timeout"),
            (["--idle-timeout", "inf"], "--idle-timeout"),
            (["--idle-timeout", "1e8"], "--idle-timeout"),
            (["--idle-timeout", "ten"], "--idle-timeout"),
            (["--max-connections", "0"], "--max-connections"),
            (["--allow", "10.0.0.0/40"], "--allow"),
            (["--allow", "somehost"], "--allow"),
            (["--token-file", readable + ".missing"], "cannot read"),
        ):
            error = self.assertRaises(UsageError, parse, *arguments)
            self.assertIn(text, str(error))


class HelpTests(SynchronousTestCase):
    """
    The text of C{twistd eofrelay --help}.
    """

    def test_oneParagraphEach(self) -> None:
        """
        Each option's help is one paragraph with single spaces, also where
        it comes from a docstring spread over several lines.
        """
        options = Options()
        for name, doc in options.docs.items():
            if doc:
                self.assertEqual(doc, " ".join(doc.split()), name)
        self.assertIn("e.g. 192.168.1.0/24", options.getUsage(width=80))


class DescriptorBudgetTests(SynchronousTestCase):
    """
    The soft limit of open files is raised for every listener's connections.
    """

    def test_budget(self) -> None:
        """
        The budget is C{--max-connections}, plus the metrics listener's
        limit when there is one.
        """
        from eofrelay.metrics import MAX_CONNECTIONS
        from eofrelay.wiring.build import descriptorBudget

        self.assertEqual(descriptorBudget(parse("--max-connections", "100")), 100)
        self.assertEqual(
            descriptorBudget(parse("--max-connections", "100", "--metrics", "tcp:0")),
            100 + MAX_CONNECTIONS,
        )

    def test_raised(self) -> None:
        """
        L{raiseFileLimit} raises the soft limit to the connections plus the
        process's own files, as far as the hard limit allows, and says so
        when that is not enough.
        """
        import resource

        from twisted.logger import capturedLogs

        from eofrelay.wiring.build import OWN_FILES, raiseFileLimit

        limits = [(256, 4096)]
        self.patch(resource, "getrlimit", lambda which: limits[-1])
        self.patch(resource, "setrlimit", lambda which, value: limits.append(value))
        raiseFileLimit(1000)
        self.assertEqual(limits[-1], (1000 + OWN_FILES, 4096))
        with capturedLogs() as events:
            raiseFileLimit(5000)
        self.assertEqual(limits[-1], (4096, 4096))
        self.assertIn("raise it", events[0]["log_format"])


class UsageErrorTests(SynchronousTestCase):
    """
    Option errors when run as C{twistd eofrelay}, and for applications
    that parse L{Options} themselves.
    """

    def test_twistdSubcommand(self) -> None:
        """
        As twistd's subcommand, an option error exits with status 1 and the
        short message, not twistd's whole usage text (which twistd prints
        for a L{UsageError}); this holds for the errors of the option
        parser itself (an unknown option) too.
        """
        from twisted.scripts._twistd_unix import ServerOptions

        for arguments, error in (
            (["--port", "x"], "--port 'x': expected an integer from 0 to 65535"),
            (["--porrt", "1"], "option --porrt not recognized"),
        ):
            with self.assertRaises(SystemExit) as raised:
                ServerOptions().parseOptions(["eofrelay", *arguments])
            self.assertEqual(
                raised.exception.code,
                f"twistd eofrelay: {error}\n"
                "Run 'twistd eofrelay --help' for the options.",
            )

    def test_embedded(self) -> None:
        """
        Parsed by an application, alone or as the subcommand of its own
        options, an option error is a L{UsageError}, as before.
        """
        from twisted.python import usage

        self.assertRaises(UsageError, parse, "--port", "x")

        class Application(usage.Options):
            subCommands = [["relays", None, Options, "eofrelay"]]

        self.assertRaises(
            UsageError, Application().parseOptions, ["relays", "--port", "x"]
        )
