"""
Tests for L{eofrelay.mqtt.topics}: topics, payloads and discovery configs.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.mqtt.topics import (
    Topics,
    discoveryConfig,
    parsePulse,
    parseSet,
    statePayload,
)


class TopicsTests(SynchronousTestCase):
    """
    Tests for L{Topics}.
    """

    def test_topics(self) -> None:
        """
        The topics of DESIGN section 5, the relay's name as configured.
        """
        topics = Topics("eofrelay/pi1", "pi1", "homeassistant")
        self.assertEqual(topics.availability, "eofrelay/pi1/availability")
        self.assertEqual(topics.state("Pump"), "eofrelay/pi1/Pump/state")
        self.assertEqual(topics.set("Pump"), "eofrelay/pi1/Pump/set")
        self.assertEqual(topics.pulse("Pump"), "eofrelay/pi1/Pump/pulse")
        self.assertEqual(topics.config("Pump"), "homeassistant/switch/pi1/Pump/config")
        self.assertEqual(topics.status, "homeassistant/status")

    def test_noDiscovery(self) -> None:
        """
        Without a discovery prefix there is no config or status topic.
        """
        topics = Topics("b", "n")
        self.assertIsNone(topics.config("pump"))
        self.assertIsNone(topics.status)


class PayloadTests(SynchronousTestCase):
    """
    Payloads in and out.
    """

    def test_state(self) -> None:
        """
        A state is C{ON} or C{OFF}.
        """
        self.assertEqual((statePayload(True), statePayload(False)), (b"ON", b"OFF"))

    def test_set(self) -> None:
        """
        C{ON}, C{OFF}, C{TOGGLE}, any case, whitespace around.
        """
        for payload, verb in (
            (b"ON", "on"),
            (b"off", "off"),
            (b" Toggle\r\n", "toggle"),
            (b"\ton ", "on"),
        ):
            self.assertEqual(parseSet(payload), verb)
        for payload in (b"", b"1", b"true", b"on off", b"o n", b"\xffon", b"ONN"):
            self.assertIsNone(parseSet(payload), payload)

    def test_pulse(self) -> None:
        """
        Milliseconds from 1 to 86400000, whitespace around, leading zeros.
        """
        for payload, milliseconds in (
            (b"1", 1),
            (b" 500\n", 500),
            (b"086400000", 86400000),
            (b"0" * 100 + b"7", 7),
        ):
            self.assertEqual(parsePulse(payload), milliseconds)
        for payload in (b"", b"0", b"86400001", b"-1", b"1.5", b"1e3", b"9" * 100):
            self.assertIsNone(parsePulse(payload), payload)

    @given(st.binary(max_size=40))
    def test_anyPayload(self, payload: bytes) -> None:
        """
        Any payload parses to nothing or to a valid command, never raises.
        """
        self.assertIn(parseSet(payload), (None, "on", "off", "toggle"))
        milliseconds = parsePulse(payload)
        self.assertTrue(milliseconds is None or 1 <= milliseconds <= 86400000)


class DiscoveryTests(SynchronousTestCase):
    """
    Tests for L{discoveryConfig}.
    """

    def test_config(self) -> None:
        """
        The config holds what DESIGN section 5 lists.
        """
        topics = Topics("eofrelay/pi1", "pi1", "homeassistant")
        config = json.loads(discoveryConfig(topics, "pump", "0.2.0"))
        self.assertEqual(
            {key: config[key] for key in (
                "name", "unique_id", "command_topic", "state_topic",
                "payload_on", "payload_off", "availability_topic",
            )},
            {
                "name": "pump",
                "unique_id": "eofrelay_pi1_pump",
                "command_topic": "eofrelay/pi1/pump/set",
                "state_topic": "eofrelay/pi1/pump/state",
                "payload_on": "ON",
                "payload_off": "OFF",
                "availability_topic": "eofrelay/pi1/availability",
            },
        )  # fmt: skip
        self.assertEqual(
            config["device"],
            {
                "identifiers": ["eofrelay_pi1"],
                "name": "eofrelay pi1",
                "manufacturer": "eofrelay",
                "model": "GPIO relay controller",
                "sw_version": "0.2.0",
            },
        )
        self.assertIs(config["retain"], False)
        self.assertEqual(config["qos"], 1)
