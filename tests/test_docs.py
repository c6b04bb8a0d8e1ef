"""
The documentation cannot drift from the code: its examples run here, and
the protocol reference and option list are checked against the code.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from types import ModuleType

from twisted.application.service import IService, loadApplication
from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from eofrelay import testing
from eofrelay.client import connect
from eofrelay.commands.interpreter import VERBS
from eofrelay.tap import Options
from eofrelay.wire import replies as commands
from eofrelay.wiring.command import CommandOptions
from eofrelay.wiring.service import RelayService

DOCS = Path(__file__).resolve().parent.parent / "docs"


def loadExample(name: str) -> ModuleType:
    path = DOCS / "examples" / name
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ReferenceTests(SynchronousTestCase):
    """
    The protocol reference and the options page against the code.
    """

    def test_protocolReference(self) -> None:
        """
        Every reply text and every verb appears in the protocol reference,
        and its C{help} reply is the server's.
        """
        text = (DOCS / "protocol.rst").read_text()
        replies = {
            value.decode()
            for name, value in vars(commands).items()
            if isinstance(value, bytes)
            and name.isupper()
            and not name.startswith("_")
            and name != "WHITESPACE"
        }
        for reply in sorted(replies):
            self.assertIn(reply, text)
        verbs = list(VERBS)
        for verb in verbs:
            self.assertRegex(text, rf"``{verb}\b")
        self.assertIn("commands: " + " ".join(verbs), text)

    def test_options(self) -> None:
        """
        Every option of C{twistd eofrelay} and of the C{eofrelay} command is
        documented.
        """
        text = (DOCS / "options.rst").read_text()
        for options in (Options(), CommandOptions()):
            for name in {name.rstrip("=") for name in options.longOpt}:
                self.assertIn(f"--{name}", text)

    def test_exampleConfig(self) -> None:
        """
        C{docs/examples/eofrelay.toml} is accepted, and shows every key a
        config file may have, some of them commented out.
        """
        path = DOCS / "examples" / "eofrelay.toml"
        keys = set(re.findall(r"^#? ?([a-z-]+) = ", path.read_text(), re.MULTILINE))
        self.assertEqual(keys, set(Options.configKinds))
        options = Options()
        state = os.path.abspath(self.mktemp())
        options.parseOptions(["--config", str(path), "--state-file", state])
        self.assertEqual(
            [spec.name for spec in options["relays"]], ["pump", "lamp", "up", "down"]
        )
        self.assertEqual(options["interlocks"], [["up", "down"]])
        self.assertEqual(options["listen"], ["tcp:1100:backlog=1024"])
        self.assertEqual(options["gpio"], "gpiod")


class TacExampleTests(TestCase):
    """
    C{docs/examples/eofrelay.tac}.
    """

    timeout = 30

    @inlineCallbacks
    def test_tac(self):
        """
        The .tac file builds a service that serves its two interlocked
        relays.
        """
        os.environ["EOFRELAY_LISTEN"] = "tcp:0:interface=127.0.0.1"
        self.addCleanup(os.environ.pop, "EOFRELAY_LISTEN")
        application = loadApplication(str(DOCS / "examples" / "eofrelay.tac"), "python")
        [service] = list(IService(application))  # type: ignore[call-overload]
        self.assertIsInstance(service, RelayService)
        service.startService()
        [listener] = list(service)
        port = listener._waitingForPort.result
        client = yield connect(reactor, f"tcp:127.0.0.1:{port.getHost().port}")
        yield client.on("up")
        yield client.on("down")
        self.assertEqual((yield client.relays()), {"up": False, "down": True})
        yield client.disconnect()
        yield service.stopService()
        self.assertTrue(service.pins.released)


class NetworkRelayExampleTests(SynchronousTestCase):
    """
    C{docs/examples/network_relay.py}.
    """

    def test_networkRelay(self) -> None:
        """
        The custom IRelay answers later; replies wait for it, in order.
        """
        example = loadExample("network_relay.py")
        clock = Clock()
        factory = example.makeFactory(clock)
        protocol, transport = testing.connect(factory)
        protocol.dataReceived(b"on fan<EOF>status fan<EOF>ping<EOF>")
        self.assertEqual(transport.value(), b"")
        clock.advance(0.05)
        self.assertEqual(transport.value(), b"success<EOF>on<EOF>pong<EOF>")
        self.assertTrue(factory.bank.relay("fan").driver.on)
        self.assertTrue(re.search(r"IRelay", (DOCS / "embedding.rst").read_text()))
