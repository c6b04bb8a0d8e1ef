"""
Tests for L{eofrelay.wiring.config}: C{--config FILE}, a TOML file of the
options of C{twistd eofrelay} and C{eofrelay}.
"""

from __future__ import annotations

import io
import ipaddress
import os
import sys

from twisted.application.app import ServerOptions
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.wiring import config
from eofrelay.wiring.options import Options, RelaySpec

#: Words of Python, not of the user, that no message may show.
PYTHON_WORDS = ("TypeError", "ValueError", "int()", "literal", "Traceback", "<class")


class KindTests(SynchronousTestCase):
    """
    The kinds of value a key may have.
    """

    def test_integer(self) -> None:
        """
        An integer key takes a TOML integer, not a boolean, a float or a
        string.
        """
        self.assertEqual(config.integer("port", 1100), ["--port=1100"])
        for value, found in ((True, "a boolean"), (1.5, "a float"), ("1", "a string")):
            with self.assertRaises(config.WrongType) as raised:
                config.integer("port", value)
            self.assertEqual(raised.exception.expected, "an integer")
            self.assertEqual(config.typeName(value), found)

    def test_number(self) -> None:
        """
        A number key takes an integer or a float, not a boolean or a
        string.
        """
        self.assertEqual(config.number("idle-timeout", 0.5), ["--idle-timeout=0.5"])
        self.assertEqual(config.number("idle-timeout", 600), ["--idle-timeout=600"])
        for value in (False, "600"):
            self.assertRaises(config.WrongType, config.number, "idle-timeout", value)

    def test_string(self) -> None:
        """
        A string key takes a string that is not empty, in one argument with
        the option, so that a value starting with C{-} stays a value.
        """
        self.assertEqual(config.string("gpio", "gpiod"), ["--gpio=gpiod"])
        self.assertEqual(config.string("state-file", "-x"), ["--state-file=-x"])
        for value in ("", 3, ["gpiod"]):
            self.assertRaises(config.WrongType, config.string, "gpio", value)

    def test_flag(self) -> None:
        """
        A flag is C{true} (given) or C{false} (not given), nothing else.
        """
        self.assertEqual(
            config.flag("close-after-reply", True), ["--close-after-reply"]
        )
        self.assertEqual(config.flag("close-after-reply", False), [])
        for value in (1, "true"):
            self.assertRaises(config.WrongType, config.flag, "close-after-reply", value)

    def test_strings(self) -> None:
        """
        A repeatable key takes an array of strings, one argument each, or
        one string; not an array of anything else.
        """
        self.assertEqual(
            config.strings("relay", ["pump:17", "valve:27:active-low"]),
            ["--relay=pump:17", "--relay=valve:27:active-low"],
        )
        self.assertEqual(config.strings("listen", "tcp:1100"), ["--listen=tcp:1100"])
        self.assertEqual(config.strings("allow", []), [])
        with self.assertRaises(config.WrongType) as raised:
            config.strings("relay", [17])
        self.assertEqual(raised.exception.found, "an array holding an integer")
        for value in (17, {"pump": 17}, [""]):
            self.assertRaises(config.WrongType, config.strings, "relay", value)

    def test_groups(self) -> None:
        """
        C{interlock} takes an array of groups, each an array of names or a
        string of names separated by commas, or one such string; a name
        with a comma in an array is refused, so that it cannot split a
        group.
        """
        self.assertEqual(
            config.groups("interlock", [["up", "down"], "left,right"]),
            ["--interlock=up,down", "--interlock=left,right"],
        )
        self.assertEqual(config.groups("interlock", "up,down"), ["--interlock=up,down"])
        with self.assertRaises(config.WrongType) as raised:
            config.groups("interlock", [["up,side", "down"]])
        self.assertEqual(raised.exception.found, "a name with a comma")
        for value in ([[1, 2]], [3], 3):
            self.assertRaises(config.WrongType, config.groups, "interlock", value)


class ConfigFileTests(SynchronousTestCase):
    """
    L{Options} with C{--config FILE}.
    """

    def write(self, text: str | bytes) -> str:
        path: str = self.mktemp()
        data = text.encode("utf-8") if isinstance(text, str) else text
        with open(path, "wb") as file:
            file.write(data)
        return path

    def parse(self, *arguments: str) -> Options:
        options = Options()
        options.parseOptions(list(arguments))
        return options

    def refused(self, *arguments: str) -> str:
        with self.assertRaises(UsageError) as raised:
            self.parse(*arguments)
        message = str(raised.exception)
        self.assertNotIn("\n", message)
        for word in PYTHON_WORDS:
            self.assertNotIn(word, message)
        return message

    def test_everyOptionHasAKind(self) -> None:
        """
        Every option of C{twistd eofrelay} but C{--config}, C{--help} and
        C{--version} can be given in a config file, by its long name, and
        nothing else can.
        """
        options = Options()
        names = {name.rstrip("=") for name in options.longOpt}
        self.assertEqual(
            set(Options.configKinds), names - {"config", "help", "version"}
        )

    def test_sameAsCommandLine(self) -> None:
        """
        A file that gives every option gives the options that the same
        command line gives, checked by the same handlers.
        """
        token = self.write("s3cret\n")
        os.chmod(token, 0o600)
        state = os.path.abspath(self.mktemp())
        path = self.write(
            f"""
            port = 1100
            listen = ["tcp:1101:interface=127.0.0.1"]
            relay = ["up:5", "down:6:active-low", "fan:22"]
            gpio = "memory"
            gpio-chip = "/dev/gpiochip0"
            interlock = [["up", "down"]]
            state-file = "{state}"
            power-on = "restore"
            on-exit = "keep"
            max-line = 2048
            idle-timeout = 0.5
            max-connections = 50
            token-file = "{token}"
            allow = ["127.0.0.1", "10.0.0.0/8"]
            metrics = "tcp:9108:interface=127.0.0.1"
            close-after-reply = true
            """
        )
        fromFile = self.parse("--config", path)
        fromCommandLine = self.parse(
            "--port", "1100",
            "--listen", "tcp:1101:interface=127.0.0.1",
            "--relay", "up:5", "--relay", "down:6:active-low", "--relay", "fan:22",
            "--gpio", "memory", "--gpio-chip", "/dev/gpiochip0",
            "--interlock", "up,down", "--state-file", state,
            "--power-on", "restore", "--on-exit", "keep", "--max-line", "2048",
            "--idle-timeout", "0.5", "--max-connections", "50",
            "--token-file", token, "--allow", "127.0.0.1", "--allow", "10.0.0.0/8",
            "--metrics", "tcp:9108:interface=127.0.0.1", "--close-after-reply",
        )  # fmt: skip
        built = {"config", "endpoints", "metrics-endpoint"}

        def settings(options: Options) -> dict[str, object]:
            return {key: value for key, value in options.items() if key not in built}

        self.assertEqual(settings(fromFile), settings(fromCommandLine))
        self.assertEqual(fromFile["config"], path)
        self.assertEqual(fromFile["token"], b"s3cret")
        self.assertEqual(fromFile["idle-timeout"], 0.5)
        self.assertEqual(
            fromFile["listen"],
            ["tcp:1101:interface=127.0.0.1", "tcp:1100:backlog=1024"],
        )
        self.assertEqual(len(fromFile["endpoints"]), 2)

    def test_commandLineReplaces(self) -> None:
        """
        An option on the command line replaces the file's value of it; for
        a repeatable option, all of the file's values; the file's other
        options stay.
        """
        path = self.write(
            """
            gpio = "memory"
            max-line = 2048
            relay = ["pump:17", "valve:27"]
            allow = ["10.0.0.0/8"]
            close-after-reply = true
            """
        )
        options = self.parse("--config", path, "--max-line", "100", "--relay", "a:4")
        self.assertEqual(options["max-line"], 100)
        self.assertEqual(options["relays"], [RelaySpec("a", 4, False)])
        self.assertEqual(options["allow"], [ipaddress.ip_network("10.0.0.0/8")])
        self.assertTrue(options["close-after-reply"])
        self.assertEqual(options["gpio"], "memory")
        # Abbreviated and short options count as what they stand for.
        options = self.parse("--config", path, "--rel", "b:5", "--allow=::1")
        self.assertEqual(options["relays"], [RelaySpec("b", 5, False)])
        self.assertEqual(options["allow"], [ipaddress.ip_network("::1")])

    def test_whereToListenReplaced(self) -> None:
        """
        C{--port} or C{--listen} on the command line replaces both the
        file's C{port} and its C{listen}: both say where to listen.
        """
        path = self.write('port = 1100\nlisten = ["unix:/run/eofrelay.sock"]\n')
        options = self.parse("--config", path, "--listen", "tcp:0:interface=127.0.0.1")
        self.assertEqual(options["listen"], ["tcp:0:interface=127.0.0.1"])
        options = self.parse("--config", path, "-p", "0")
        self.assertEqual(options["listen"], ["tcp:0:backlog=1024"])
        options = self.parse("--config", path)
        self.assertEqual(
            options["listen"], ["unix:/run/eofrelay.sock", "tcp:1100:backlog=1024"]
        )

    def test_handlersCheckTheFile(self) -> None:
        """
        A value of the file that its option refuses is refused with that
        option's message, saying that it comes from the file; the same
        value from the command line is not said to.
        """
        path = self.write('relay = ["all:3"]\nport = 70000\n')
        message = self.refused("--config", path)
        self.assertEqual(
            message,
            "--relay 'all:3': bad relay name 'all': 'all' is reserved "
            f"(in config file {path})",
        )
        message = self.refused("--config", path, "--relay", "pump:3")
        self.assertEqual(
            message,
            "--port '70000': expected an integer from 0 to 65535 "
            f"(in config file {path})",
        )
        message = self.refused("--config", path, "--relay", "all:4", "--port", "1")
        self.assertNotIn("config file", message)
        # A value that starts with "-" is a value, not an option.
        message = self.refused("--config", self.write('relay = ["-a:1"]'))
        self.assertTrue(message.startswith("--relay '-a:1': "), message)

    def test_wrongType(self) -> None:
        """
        A value of the wrong type is refused in one line that names the
        file, the key, what is expected and what was found, in TOML's
        words.
        """
        for text, expected in (
            ('port = "1100"', "port: expected an integer, not a string"),
            (
                "close-after-reply = 1",
                "close-after-reply: expected true or false, not an integer",
            ),
            (
                'gpio = ""',
                "gpio: expected a string that is not empty, not an empty string",
            ),
            (
                "relay = [17]",
                'relay: expected an array of strings, e.g. relay = ["..."], '
                "not an array holding an integer",
            ),
            ("[relay]\npump = 17", "relay: expected an array of strings"),
            (
                "idle-timeout = 1979-05-27",
                "idle-timeout: expected a number, not a date or time",
            ),
        ):
            path = self.write(text)
            message = self.refused("--config", path)
            self.assertTrue(
                message.startswith(f"config file {path}: {expected}"), message
            )

    def test_section(self) -> None:
        """
        A section (a TOML table) is refused as such, not as a misspelt key.
        """
        path = self.write("[eofrelay]\nport = 1100")
        self.assertEqual(
            self.refused("--config", path),
            f"config file {path}: [eofrelay]: the file has no sections (tables); "
            "give each option at the top, as port = 1100",
        )

    def test_unknownKey(self) -> None:
        """
        A key that is no option is refused, with the key meant when it is
        close to one, and otherwise with the keys there are; a file cannot
        name another.
        """
        path = self.write("prot = 1100")
        self.assertEqual(
            self.refused("--config", path),
            f"config file {path}: unknown key 'prot' (did you mean 'port'?)",
        )
        path = self.write("close_after_reply = true")
        self.assertIn(
            "(did you mean 'close-after-reply'?)", self.refused("--config", path)
        )
        path = self.write("zzz = 1")
        message = self.refused("--config", path)
        self.assertTrue(
            message.startswith(
                f"config file {path}: unknown key 'zzz'; the keys are: port, listen"
            ),
            message,
        )
        path = self.write('config = "/etc/other.toml"')
        self.assertIn(
            "a config file cannot name another", self.refused("--config", path)
        )

    def test_unreadable(self) -> None:
        """
        A missing file, a directory and a file that is not UTF-8 are each
        refused in one line naming the file.
        """
        missing = os.path.abspath(self.mktemp())
        self.assertEqual(
            self.refused("--config", missing),
            f"config file {missing}: cannot read it: No such file or directory",
        )
        directory = os.path.abspath(self.mktemp())
        os.mkdir(directory)
        self.assertEqual(
            self.refused("--config", directory),
            f"config file {directory}: cannot read it: Is a directory",
        )
        path = self.write(b'gpio = "\xff"')
        self.assertEqual(
            self.refused("--config", path),
            f"config file {path}: not UTF-8 text (byte 9 is not)",
        )

    def test_syntaxError(self) -> None:
        """
        A file that is not TOML is refused with tomllib's reason, which
        names the line and column.
        """
        path = self.write('gpio = "memory"\nport = \n')
        self.assertEqual(
            self.refused("--config", path),
            f"config file {path}: not valid TOML: Invalid value (at line 2, column 8)",
        )

    def test_onlyOnce(self) -> None:
        """
        C{--config} given twice is refused, rather than one file ignored;
        so is an empty path.
        """
        path = self.write('gpio = "memory"')
        self.assertEqual(
            self.refused("--config", path, f"--config={path}"),
            "--config: give one config file, not several",
        )
        self.assertEqual(
            self.refused("--config="), "--config: expected the path of a TOML file"
        )

    def test_helpReadsNoFile(self) -> None:
        """
        With C{--help}, the file is not read: the help is shown even when
        the file is missing.
        """
        output = io.StringIO()
        self.patch(sys, "stdout", output)
        with self.assertRaises(SystemExit) as raised:
            self.parse("--config", self.mktemp(), "--help")
        self.assertEqual(raised.exception.code, 0)
        self.assertIn("--config=", output.getvalue())

    def test_twistd(self) -> None:
        """
        C{twistd eofrelay --config FILE} reads the file too.
        """
        path = self.write('gpio = "memory"\nrelay = ["a:5", "b:6"]\n')
        options = ServerOptions()
        options.parseOptions(["eofrelay", "--config", path])
        self.assertEqual(
            [spec.name for spec in options.subOptions["relays"]], ["a", "b"]
        )
        self.assertEqual(options.subOptions["gpio"], "memory")
