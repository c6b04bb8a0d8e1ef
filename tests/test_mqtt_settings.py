"""
Tests for L{eofrelay.mqtt.settings} and the C{--mqtt} options of
C{twistd eofrelay}.
"""

from __future__ import annotations

import os
import sys

from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.mqtt.settings import (
    Broker,
    MQTTSettings,
    checkNodeId,
    checkTopicRoot,
    defaultNodeId,
    parseBrokerURL,
)
from eofrelay.tap import Options


def parse(*arguments: str) -> Options:
    options = Options()
    options.parseOptions(["--gpio", "memory", *arguments])
    return options


class BrokerURLTests(SynchronousTestCase):
    """
    Tests for L{parseBrokerURL}.
    """

    def test_urls(self) -> None:
        """
        C{mqtt://} defaults to port 1883, C{mqtts://} to 8883 with TLS; a
        user name is taken (percent-decoded), IPv6 addresses too.
        """
        self.assertEqual(parseBrokerURL("mqtt://pi.lan"), Broker("pi.lan", 1883))
        self.assertEqual(
            parseBrokerURL("MQTTS://eofrelay@broker:9883/"),
            Broker("broker", 9883, True, "eofrelay"),
        )
        self.assertEqual(
            parseBrokerURL("mqtt://a%40b@[::1]:1884"), Broker("::1", 1884, False, "a@b")
        )
        self.assertEqual(str(Broker("::1", 1884)), "[::1]:1884")
        self.assertEqual(str(Broker("pi.lan", 1883)), "pi.lan:1883")

    def test_refused(self) -> None:
        """
        Another scheme, no host, a bad port, a path or a password in the URL
        are refused, saying why.
        """
        for url, reason in (
            ("http://pi.lan", "expected mqtt://"),
            ("pi.lan:1883", "expected mqtt://"),
            ("mqtt://", "expected mqtt://"),
            ("mqtt://pi.lan:99999", "a port from 1 to 65535"),
            ("mqtt://pi.lan:0", "a port from 1 to 65535"),
            ("mqtt://pi.lan:x", "a port from 1 to 65535"),
            ("mqtt://pi.lan/topic", "without a path"),
            ("mqtt://pi.lan?x=1", "without a path"),
            ("mqtt://me:secret@pi.lan", "--mqtt-password-file"),
            ("mqtt://@pi.lan", "the user name before @ is empty"),
        ):
            with self.assertRaises(ValueError) as raised:
                parseBrokerURL(url)
            self.assertIn(reason, str(raised.exception), url)
            self.assertNotIn("secret", str(raised.exception))


class NamesTests(SynchronousTestCase):
    """
    Node ids and topic roots.
    """

    def test_defaultNodeId(self) -> None:
        """
        The host name, lower-cased, each character outside C{a-z0-9_-}
        replaced by C{_}.
        """
        self.assertEqual(defaultNodeId("Pi-Garage.local"), "pi-garage_local")
        self.assertEqual(defaultNodeId("r\u00e9seau"), "r_seau")
        self.assertEqual(checkNodeId(defaultNodeId()), defaultNodeId())

    def test_nodeId(self) -> None:
        """
        A node id is 1 to 64 letters, digits, C{_} or C{-}.
        """
        self.assertEqual(checkNodeId("Pi_1-a"), "Pi_1-a")
        for bad in ("", "pi 1", "pi/1", "pi+", "x" * 65):
            self.assertRaises(ValueError, checkNodeId, bad)

    def test_topicRoot(self) -> None:
        """
        A topic root is not empty and has no wildcard, NUL, or empty level.
        """
        self.assertEqual(checkTopicRoot("home/relays"), "home/relays")
        for bad in ("", "a/+", "a/#", "/a", "a/", "a//b", "a\0"):
            self.assertRaises(ValueError, checkTopicRoot, bad)

    def test_reprHidesPassword(self) -> None:
        """
        The settings' C{repr} never shows the password.
        """
        settings = MQTTSettings(Broker("h", 1, False, "u"), "n", "b", password="s3cret")
        self.assertNotIn("s3cret", repr(settings))
        self.assertEqual(settings.clientId, "eofrelay-n")


class OptionsTests(SynchronousTestCase):
    """
    C{--mqtt} and its companion options.
    """

    def passwordFile(self, content: str = "s3cret\n", mode: int = 0o600) -> str:
        path = self.mktemp()
        with open(path, "w") as file:
            file.write(content)
        os.chmod(path, mode)
        return str(path)

    def test_none(self) -> None:
        """
        Without C{--mqtt}, no bridge.
        """
        self.assertIsNone(parse()["mqtt-settings"])

    def test_defaults(self) -> None:
        """
        The node id is the host's, the topics are under C{eofrelay/NODE},
        discovery under C{homeassistant}.
        """
        settings = parse("--mqtt", "mqtt://pi.lan")["mqtt-settings"]
        node = defaultNodeId()
        self.assertEqual(
            settings,
            MQTTSettings(Broker("pi.lan", 1883), node, f"eofrelay/{node}"),
        )

    def test_everything(self) -> None:
        """
        Every option, as given; C{--mqtt-discovery-prefix ''} turns
        discovery off.
        """
        path = self.passwordFile("pass word\r\nsecond line\n")
        settings = parse(
            "--mqtt", "mqtt://pi@pi.lan:1884",
            "--mqtt-password-file", path,
            "--mqtt-node-id", "garage",
            "--mqtt-topic", "home/garage",
            "--mqtt-discovery-prefix", "",
        )["mqtt-settings"]  # fmt: skip
        self.assertEqual(
            settings,
            MQTTSettings(
                Broker("pi.lan", 1884, False, "pi"),
                "garage",
                "home/garage",
                None,
                "pass word",
            ),
        )

    def test_refused(self) -> None:
        """
        Bad values are refused with the option's name and the reason; the
        password never appears.
        """
        readable = self.passwordFile(mode=0o644)
        empty = self.passwordFile("")
        for arguments, reason in (
            (("--mqtt", "http://x"), "--mqtt 'http://x': expected mqtt://"),
            (("--mqtt-node-id", "pi1"), "--mqtt-node-id needs --mqtt URL"),
            (("--mqtt", "mqtt://x", "--mqtt-node-id", "a b"), "--mqtt-node-id 'a b'"),
            (("--mqtt", "mqtt://x", "--mqtt-topic", "a/#"), "--mqtt-topic 'a/#'"),
            (
                ("--mqtt", "mqtt://x", "--mqtt-discovery-prefix", "/ha"),
                "--mqtt-discovery-prefix '/ha'",
            ),
            (
                ("--mqtt", "mqtt://x", "--mqtt-password-file", empty),
                "needs a user name in the URL",
            ),
            (
                ("--mqtt", "mqtt://u@x", "--mqtt-password-file", readable),
                f"--mqtt-password-file: permissions 0644 for {readable!r} are too open",
            ),
            (
                ("--mqtt", "mqtt://u@x", "--mqtt-password-file", empty),
                "the file is empty",
            ),
            (
                ("--mqtt", "mqtt://u@x", "--mqtt-password-file", "/nonexistent"),
                "cannot read it: No such file or directory",
            ),
            (("--mqtt", "mqtt://x", "--mqtt-ca", empty), "is for an mqtts:// broker"),
            (("--mqtt", "mqtts://x", "--mqtt-ca", "/nonexistent"), "--mqtt-ca"),
            (("--mqtt", "mqtts://x", "--mqtt-ca", empty), "no CA certificate"),
        ):
            with self.assertRaises(UsageError) as raised:
                parse(*arguments)
            self.assertIn(reason, str(raised.exception), arguments)
            self.assertNotIn("s3cret", str(raised.exception))

    def test_withoutPaho(self) -> None:
        """
        Without paho-mqtt, C{--mqtt} says in one line how to install the
        extra.
        """
        saved = {name: sys.modules.get(name) for name in ("paho", "paho.mqtt")}

        def restore() -> None:
            for name, old in saved.items():
                if old is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = old

        self.addCleanup(restore)
        for name in saved:
            sys.modules[name] = None  # type: ignore[assignment]
        with self.assertRaises(UsageError) as raised:
            parse("--mqtt", "mqtt://pi.lan")
        self.assertEqual(
            str(raised.exception),
            "--mqtt needs paho-mqtt: pip install '.[mqtt]' in eofrelay's checkout "
            "(or pip install 'eofrelay[mqtt]' where an index has eofrelay)",
        )

    def test_optionsImportNoPaho(self) -> None:
        """
        The options, and the settings and topics of the bridge, load no MQTT
        library: twistd eofrelay without C{--mqtt} does not need it.
        """
        import subprocess

        loaded = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, eofrelay.tap, eofrelay.mqtt.topics; "
                "print('paho' in sys.modules)",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.assertEqual(loaded, "False")
