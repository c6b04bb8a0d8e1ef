# -*- test-case-name: tests.test_mqtt_topics -*-
"""
The topics and payloads of the MQTT bridge (DESIGN section 5), and the
discovery configs Home Assistant reads: plain functions of the
configuration, without any MQTT library.
"""

from __future__ import annotations

import json
from typing import Final, Optional

from eofrelay.core.pulse import MAX_PULSE_MS

ONLINE: Final = b"online"
OFFLINE: Final = b"offline"
ON: Final = b"ON"
OFF: Final = b"OFF"

#: What a C{set} payload may say, upper-cased, and the verb it means.
SET_VERBS: Final = {b"ON": "on", b"OFF": "off", b"TOGGLE": "toggle"}

#: The whitespace around a payload that does not count.
_WHITESPACE: Final = b" \t\r\n"


class Topics:
    """
    The topics of one eofrelay node.

    @ivar base: The root of the node's own topics.
    @ivar node: The node id.
    @ivar discoveryPrefix: The root of the discovery topics, or C{None}.
    @ivar availability: C{BASE/availability}.
    @ivar status: C{PREFIX/status}, where Home Assistant says C{online}
        when it starts, or C{None} without discovery.
    """

    def __init__(
        self, base: str, node: str, discoveryPrefix: Optional[str] = None
    ) -> None:
        self.base = base
        self.node = node
        self.discoveryPrefix = discoveryPrefix
        self.availability = f"{base}/availability"
        self.status = None if discoveryPrefix is None else f"{discoveryPrefix}/status"

    def state(self, relay: str) -> str:
        """
        C{BASE/RELAY/state}: the relay's state, C{ON} or C{OFF}.
        """
        return f"{self.base}/{relay}/state"

    def set(self, relay: str) -> str:
        """
        C{BASE/RELAY/set}: C{ON}, C{OFF} or C{TOGGLE} switches the relay.
        """
        return f"{self.base}/{relay}/set"

    def pulse(self, relay: str) -> str:
        """
        C{BASE/RELAY/pulse}: milliseconds pulse the relay.
        """
        return f"{self.base}/{relay}/pulse"

    def config(self, relay: str) -> Optional[str]:
        """
        C{PREFIX/switch/NODE/RELAY/config}: the relay's discovery config,
        or C{None} without discovery.
        """
        if self.discoveryPrefix is None:
            return None
        return f"{self.discoveryPrefix}/switch/{self.node}/{relay}/config"


def statePayload(on: bool) -> bytes:
    """
    The payload of a state: C{ON} or C{OFF}.
    """
    return ON if on else OFF


def parseSet(payload: bytes) -> Optional[str]:
    """
    The verb a C{set} payload means: C{"on"}, C{"off"} or C{"toggle"} for
    C{ON}, C{OFF} or C{TOGGLE} in any case, with whitespace around; C{None}
    for anything else.
    """
    return SET_VERBS.get(payload.strip(_WHITESPACE).upper())


def parsePulse(payload: bytes) -> Optional[int]:
    """
    The milliseconds a C{pulse} payload means: a decimal number from 1 to
    86400000, with whitespace around; C{None} for anything else.
    """
    text = payload.strip(_WHITESPACE)
    digits = text.lstrip(b"0")
    if not (text.isdigit() and len(digits) <= len(str(MAX_PULSE_MS))):
        return None
    milliseconds = int(digits or b"0")
    return milliseconds if 1 <= milliseconds <= MAX_PULSE_MS else None


def discoveryConfig(topics: Topics, relay: str, version: str) -> bytes:
    """
    The discovery config of one relay, as Home Assistant's MQTT switch
    reads it: a JSON object.

    @param relay: The relay's name, as configured.
    @param version: eofrelay's version, for the device's C{sw_version}.
    """
    node = topics.node
    config = {
        "name": relay,
        "unique_id": f"eofrelay_{node}_{relay}",
        "command_topic": topics.set(relay),
        "state_topic": topics.state(relay),
        "payload_on": ON.decode(),
        "payload_off": OFF.decode(),
        "state_on": ON.decode(),
        "state_off": OFF.decode(),
        "availability_topic": topics.availability,
        "payload_available": ONLINE.decode(),
        "payload_not_available": OFFLINE.decode(),
        "qos": 1,
        "retain": False,
        "optimistic": False,
        "device": {
            "identifiers": [f"eofrelay_{node}"],
            "name": f"eofrelay {node}",
            "manufacturer": "eofrelay",
            "model": "GPIO relay controller",
            "sw_version": version,
        },
        "origin": {"name": "eofrelay", "sw_version": version},
    }
    return json.dumps(config, separators=(",", ":")).encode("utf-8")
