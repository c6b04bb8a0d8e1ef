# -*- test-case-name: tests.test_tap -*-
"""
The options of C{twistd eofrelay}, parsed and checked.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Sequence
from typing import NamedTuple, Optional

from twisted.python import usage

from eofrelay.commands.access import parseNetwork
from eofrelay.core.bank import MAX_INTERLOCK_DELAY
from eofrelay.core.buttons import DEFAULT_DEBOUNCE_MS, MAX_DEBOUNCE_MS
from eofrelay.core.checks import checkInterlocks, checkRelayNames
from eofrelay.core.relay import MAX_ON_RANGE
from eofrelay.gpio import BACKENDS
from eofrelay.mqtt.settings import (
    DEFAULT_DISCOVERY_PREFIX,
    Broker,
    MQTTSettings,
    checkNodeId,
    checkTopicRoot,
    defaultNodeId,
    parseBrokerURL,
)
from eofrelay.wire.extras import installHint
from eofrelay.wire.names import checkRelayName
from eofrelay.wire.secretfiles import SecretFileTooOpen, checkSecretFile
from eofrelay.wire.tokens import TokenFileError, readTokenFile
from eofrelay.wiring import config
from eofrelay.wiring.descriptions import serverEndpoint
from eofrelay.wiring.optionerrors import optionErrorMessage

#: The command that runs these options as twistd's subcommand, as its
#: option errors name it.
TWISTD_COMMAND = "twistd eofrelay"
DEFAULT_PORT = 1100
#: The listen backlog of C{--port}: a burst of one-shot clients must not
#: wait on SYN retries.
BACKLOG = 1024
MAX_PIN = 53
MAX_LINE_LIMIT = 1024 * 1024
POWER_ON = ("off", "on", "restore", "keep")
ON_EXIT = ("off", "keep")


class RelaySpec(NamedTuple):
    """
    One C{--relay NAME:PIN[:active-low]}.
    """

    name: str
    pin: int
    activeLow: bool


DEFAULT_RELAY = RelaySpec("relay", 17, False)


class ButtonSpec(NamedTuple):
    """
    One C{--button RELAY:PIN[:active-high]}.

    @ivar activeHigh: Wired to 3.3 V with the pin's pull-down (pressed is
        high), instead of to ground with its pull-up (pressed is low).
    """

    relay: str
    pin: int
    activeHigh: bool


def parseButtonSpec(spec: str) -> ButtonSpec:
    """
    Parse C{RELAY:PIN[:active-high]}; the relay is checked against the
    configured ones later.

    @raise usage.UsageError: with a message saying what is wrong.
    """
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise usage.UsageError(
            f"--button {spec!r}: expected RELAY:PIN or RELAY:PIN:active-high"
        )
    if not (parts[1].isascii() and parts[1].isdigit()) or int(parts[1]) > MAX_PIN:
        raise usage.UsageError(
            f"--button {spec!r}: PIN must be a BCM GPIO number from 0 to {MAX_PIN}"
        )
    activeHigh = False
    if len(parts) == 3:
        if parts[2].lower() not in ("active-high", "active-low"):
            raise usage.UsageError(
                f"--button {spec!r}: the third part must be 'active-high' (a "
                "button wired to 3.3 V; without it, to ground)"
            )
        activeHigh = parts[2].lower() == "active-high"
    return ButtonSpec(parts[0], int(parts[1]), activeHigh)


def parseRelaySpec(spec: str) -> RelaySpec:
    """
    Parse C{NAME:PIN[:active-low]}.

    @raise usage.UsageError: with a message saying what is wrong.
    """
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise usage.UsageError(
            f"--relay {spec!r}: expected NAME:PIN or NAME:PIN:active-low"
        )
    try:
        name = checkRelayName(parts[0])
    except ValueError as error:
        raise usage.UsageError(f"--relay {spec!r}: {error}") from None
    if not (parts[1].isascii() and parts[1].isdigit()) or int(parts[1]) > MAX_PIN:
        raise usage.UsageError(
            f"--relay {spec!r}: PIN must be a BCM GPIO number from 0 to {MAX_PIN}"
        )
    activeLow = False
    if len(parts) == 3:
        if parts[2].lower() not in ("active-low", "active-high"):
            raise usage.UsageError(
                f"--relay {spec!r}: the third part must be 'active-low' "
                "(or 'active-high', the default)"
            )
        activeLow = parts[2].lower() == "active-low"
    return RelaySpec(name, int(parts[1]), activeLow)


def _bounded(
    option: str,
    value: str,
    convert: Callable[[str], float],
    lowest: float,
    highest: float,
    expected: str,
) -> float:
    """
    Parse an option's value with C{convert} and check it is within bounds.

    @raise usage.UsageError: if it cannot be converted or is out of range
        (NaN included).
    """
    try:
        number = convert(value)
    except ValueError:
        number = float("nan")
    if not lowest <= number <= highest:
        raise usage.UsageError(
            f"--{option} {value!r}: expected {expected} from {lowest} to {highest}"
        )
    return number


def _integer(option: str, value: str, lowest: int, highest: int) -> int:
    """
    Parse an option's integer value within bounds.

    @raise usage.UsageError: if it is not an integer in that range.
    """
    return int(_bounded(option, value, int, lowest, highest, "an integer"))


def _seconds(option: str, value: str, highest: int) -> float:
    """
    Parse an option's duration in seconds: a decimal number from 0 to
    C{highest}, fractions allowed.  A whole number comes back as an
    C{int}, so that the log says C{600 seconds}, not C{600.0}.

    @raise usage.UsageError: if it is not such a number.
    """
    seconds = _bounded(option, value, float, 0, highest, "a number of seconds")
    return int(seconds) if seconds.is_integer() else seconds


class Options(config.OptionsWithConfigFile):
    """
    The options of C{twistd eofrelay} and of the C{eofrelay} command, also
    from a C{--config} file.

    L{parseOptions} raises L{usage.UsageError} for any option error, as
    every L{usage.Options} does, except when run as twistd's subcommand.
    """

    synopsis = "[options]"
    longdesc = (
        "Switch relays wired to GPIO pins when a client sends on<EOF> or "
        "off<EOF> over TCP (see the protocol reference in the docs)."
    )

    optParameters = [
        [
            "port",
            "p",
            None,
            f"TCP port on all IPv4 interfaces [default: {DEFAULT_PORT}, "
            "unless --listen is given]",
        ],
        [
            "gpio",
            None,
            "auto",
            "GPIO backend: auto (libgpiod, then RPi.GPIO, where they work, "
            "else simulated, with a warning), gpiod, rpi or memory (simulated)",
        ],
        [
            "gpio-chip",
            None,
            None,
            "GPIO chip for --gpio gpiod [default: the chip of the Raspberry "
            "Pi's header, found by its label, or /dev/gpiochip0]",
        ],
        ["max-line", None, "1024", "longest message accepted, in bytes"],
        [
            "button-debounce",
            None,
            str(DEFAULT_DEBOUNCE_MS),
            f"milliseconds (0 to {MAX_DEBOUNCE_MS}) after a button's accepted "
            "edge during which its other edges are ignored (contact bounce)",
        ],
        [
            "interlock-delay",
            None,
            "0",
            "milliseconds (0 to 60000) to wait after an interlock switched a "
            "partner off before switching the relay on (motor reversal)",
        ],
        [
            "state-file",
            None,
            None,
            "record the relays' commanded states in this file, atomically, "
            "on every change",
        ],
        [
            "power-on",
            None,
            "off",
            "state the relays start in: off, on, restore (from --state-file), or "
            "keep (read from the pins, which are not driven: no click on a "
            "restart)",
        ],
        [
            "on-exit",
            None,
            "off",
            "what the relays are driven to when the service stops: off or keep",
        ],
        [
            "idle-timeout",
            None,
            "600",
            "close a connection that sent no complete message for this many "
            "seconds (0: never; watchers are exempt)",
        ],
        ["max-connections", None, "1024", "most connections open at once"],
        [
            "metrics",
            None,
            None,
            "serve Prometheus metrics at /metrics on this Twisted endpoint, "
            "e.g. tcp:9108:interface=127.0.0.1 (needs the metrics extra: "
            "pip install '.[metrics]')",
        ],
        [
            "token-file",
            None,
            None,
            "require 'auth TOKEN' with the token in this file before other "
            "commands; refused if other users may read it (chmod o-rwx)",
        ],
        [
            "mqtt",
            None,
            None,
            "bridge the relays to the MQTT broker at mqtt://[USER@]HOST[:PORT] "
            "or mqtts://[USER@]HOST[:PORT] (TLS), with Home Assistant "
            "discovery (needs the mqtt extra: pip install '.[mqtt]')",
        ],
        [
            "mqtt-password-file",
            None,
            None,
            "the broker's password for the URL's USER, in this file (keep it "
            "unreadable by other users)",
        ],
        [
            "mqtt-ca",
            None,
            None,
            "verify an mqtts:// broker's certificate against the CA "
            "certificates in this PEM file [default: the system's CAs]",
        ],
        [
            "mqtt-node-id",
            None,
            None,
            "this node's id in MQTT topics and Home Assistant's unique ids "
            "[default: the host name, lower-cased, with each character "
            "outside a-z0-9_- replaced by _]",
        ],
        [
            "mqtt-topic",
            None,
            None,
            "the root of this node's MQTT topics [default: eofrelay/NODE]",
        ],
        [
            "mqtt-discovery-prefix",
            None,
            "homeassistant",
            "the root of Home Assistant's discovery topics; '' for no discovery",
        ],
    ]
    optFlags = [
        [
            "close-after-reply",
            None,
            "close each connection after its first reply, for clients that "
            "read until the server closes",
        ],
    ]

    #: How a C{--config} file gives each option.
    configKinds = {
        "port": config.integer,
        "listen": config.strings,
        "relay": config.strings,
        "gpio": config.string,
        "gpio-chip": config.string,
        "interlock": config.groups,
        "interlock-delay": config.integer,
        "max-on": config.strings,
        "button": config.strings,
        "button-debounce": config.integer,
        "state-file": config.string,
        "power-on": config.string,
        "on-exit": config.string,
        "max-line": config.integer,
        "idle-timeout": config.number,
        "max-connections": config.integer,
        "token-file": config.string,
        "allow": config.strings,
        "metrics": config.string,
        "http": config.strings,
        "close-after-reply": config.flag,
        "mqtt": config.string,
        "mqtt-password-file": config.string,
        "mqtt-ca": config.string,
        "mqtt-node-id": config.string,
        "mqtt-topic": config.string,
        "mqtt-discovery-prefix": config.string,
    }
    #: C{--port} or C{--listen} on the command line says where to listen:
    #: the file's C{port} and C{listen} are both left out.
    configGroups = (frozenset({"port", "listen"}),)

    def __init__(self) -> None:
        super().__init__()
        # The help of an option method is its docstring; as one paragraph,
        # not with the docstring's line breaks and indentation.
        self.docs = {
            name: " ".join(doc.split()) if doc else doc
            for name, doc in self.docs.items()
        }
        self["listen"] = []
        self["relays"] = []
        self["interlocks"] = []
        self["max-on"] = {}
        self["buttons"] = []
        self["allow"] = []
        self["http"] = []

    def parseOptions(self, options: Optional[Sequence[str]] = None) -> None:
        """
        Parse C{options} (by default, the command line).

        Run as twistd's subcommand, an option error exits with status 1
        (as twistd's own errors do) and prints L{optionErrorMessage
        <eofrelay.wiring.optionerrors.optionErrorMessage>}, instead
        of letting twistd print its whole usage text before the error.

        @raise usage.UsageError: for an option error, unless run as
            twistd's subcommand.
        @raise SystemExit: for an option error, when run as twistd's
            subcommand.
        """
        try:
            super().parseOptions(options)
        except usage.UsageError as error:
            if not self._isTwistdSubcommand():
                raise
            raise SystemExit(optionErrorMessage(TWISTD_COMMAND, error)) from None

    def _isTwistdSubcommand(self) -> bool:
        """
        Whether these options are parsed as the subcommand of twistd's own.
        """
        if self.parent is None:
            return False
        from twisted.application.app import ServerOptions

        return isinstance(self.parent, ServerOptions)

    def opt_listen(self, description: str) -> None:
        """
        Twisted endpoint to listen on (repeatable); with --port too, both
        are listened on.
        """
        self["listen"].append(description)

    def opt_http(self, description: str) -> None:
        """
        serve the web page and the JSON API on this Twisted endpoint, e.g.
        tcp:8080 or ssl:8443:privateKey=key.pem (repeatable).
        """
        self["http"].append(description)

    def opt_relay(self, spec: str) -> None:
        """
        NAME:PIN[:active-low], PIN a BCM GPIO number; repeatable, the first is
        the default relay [default: relay:17]
        """
        self["relays"].append(parseRelaySpec(spec))

    def opt_interlock(self, names: str) -> None:
        """
        NAME,NAME[,...]: at most one of these relays is on at any instant;
        switching one on first switches the others off (repeatable).
        """
        group = [name.strip() for name in names.split(",")]
        if len(group) < 2 or not all(group):
            raise usage.UsageError(
                f"--interlock {names!r}: expected two or more relay names "
                "separated by commas"
            )
        self["interlocks"].append(group)

    def opt_max_on(self, spec: str) -> None:
        """
        NAME:SECONDS: switch relay NAME off at most SECONDS (0.1 to 86400)
        after it was switched on, however it was (repeatable).
        """
        name, colon, seconds = spec.rpartition(":")
        if not colon or not name:
            raise usage.UsageError(f"--max-on {spec!r}: expected NAME:SECONDS")
        lowest, highest = MAX_ON_RANGE
        self["max-on"][name] = _bounded(
            f"max-on {name}", seconds, float, lowest, highest, "a number of seconds"
        )

    def opt_button(self, spec: str) -> None:
        """
        RELAY:PIN[:active-high]: a push button on BCM GPIO PIN that toggles
        RELAY at each press, wired to ground (the pin's pull-up on), or to
        3.3 V with active-high (its pull-down on); repeatable.
        """
        self["buttons"].append(parseButtonSpec(spec))

    def opt_allow(self, cidr: str) -> None:
        """
        accept connections only from this IPv4 or IPv6 network, e.g.
        192.168.1.0/24 (repeatable) [default: everyone].
        """
        try:
            self["allow"].append(parseNetwork(cidr))
        except ValueError as error:
            raise usage.UsageError(f"--allow {cidr!r}: {error}") from None

    def parseArgs(self, *arguments: str) -> None:
        """
        Refuse arguments that are not options.

        @raise usage.UsageError: naming the first of them.
        """
        if arguments:
            raise usage.UsageError(
                f"unexpected argument {arguments[0]!r}: every setting is an "
                "option, such as --port 1100"
            )

    def postOptions(self) -> None:
        """
        Check the options together and fill in defaults.
        """
        if self["gpio"] not in BACKENDS:
            raise usage.UsageError(
                f"--gpio {self['gpio']!r}: choose one of {', '.join(BACKENDS)}"
            )
        self["max-line"] = _integer("max-line", self["max-line"], 1, MAX_LINE_LIMIT)
        self["button-debounce"] = _integer(
            "button-debounce", self["button-debounce"], 0, MAX_DEBOUNCE_MS
        )
        self["interlock-delay"] = _integer(
            "interlock-delay",
            self["interlock-delay"],
            0,
            round(MAX_INTERLOCK_DELAY * 1000),
        )
        self["idle-timeout"] = _seconds("idle-timeout", self["idle-timeout"], 10**7)
        self["max-connections"] = _integer(
            "max-connections", self["max-connections"], 1, 10**6
        )
        self["token"] = None
        if self["token-file"]:
            try:
                checkSecretFile(self["token-file"])
            except SecretFileTooOpen as error:
                raise usage.UsageError(f"--token-file: {error}") from None
            try:
                self["token"] = readTokenFile(self["token-file"])
            except TokenFileError as error:
                raise usage.UsageError(str(error)) from None
        if self["port"] is not None:
            port = _integer("port", self["port"], 0, 65535)
            self["listen"].append(f"tcp:{port}:backlog={BACKLOG}")
        elif not self["listen"]:
            self["listen"].append(f"tcp:{DEFAULT_PORT}:backlog={BACKLOG}")
        self._checkRelays()
        self._checkPolicies()
        self._buildEndpoints()
        self._checkMQTT()

    def _checkRelays(self) -> None:
        """
        Check the relays and their interlocks (C{--relay}, C{--interlock}).
        """
        if not self["relays"]:
            self["relays"].append(DEFAULT_RELAY)
        names = [spec.name for spec in self["relays"]]
        try:
            checkRelayNames(names)
        except ValueError:
            # Each name is valid (parseRelaySpec): one is given twice.
            raise usage.UsageError("--relay: each relay needs its own name") from None
        pins = [spec.pin for spec in self["relays"]]
        if len(set(pins)) < len(pins):
            raise usage.UsageError("--relay: each relay needs its own pin")
        for group in self["interlocks"]:
            try:
                checkInterlocks([group], names)
            except ValueError as error:
                raise usage.UsageError(
                    f"--interlock {','.join(group)}: {error}"
                ) from None
        for name in self["max-on"]:
            if name.lower() not in names:
                raise usage.UsageError(
                    f"--max-on {name}: no relay named {name!r} "
                    f"(the relays are {', '.join(names)})"
                )
        self._checkButtons(names, pins)

    def _checkButtons(self, names: list[str], relayPins: list[int]) -> None:
        """
        Check C{--button}: known relays, pins of their own.
        """
        buttonPins: list[int] = []
        for button in self["buttons"]:
            described = f"--button {button.relay}:{button.pin}"
            if button.relay.lower() not in [name.lower() for name in names]:
                raise usage.UsageError(
                    f"{described}: no relay named {button.relay!r} "
                    f"(the relays are {', '.join(names)})"
                )
            if button.pin in relayPins:
                raise usage.UsageError(
                    f"{described}: GPIO {button.pin} is a relay's pin; a button "
                    "needs a pin of its own"
                )
            if button.pin in buttonPins:
                raise usage.UsageError(
                    f"{described}: GPIO {button.pin} is another button's pin; "
                    "each button needs a pin of its own"
                )
            buttonPins.append(button.pin)

    def _checkPolicies(self) -> None:
        """
        Check C{--power-on}, C{--on-exit} and C{--state-file}, together.
        """
        for option, choices in (("power-on", POWER_ON), ("on-exit", ON_EXIT)):
            if self[option] not in choices:
                raise usage.UsageError(
                    f"--{option} {self[option]!r}: choose one of {', '.join(choices)}"
                )
        if self["state-file"]:
            directory = os.path.dirname(os.path.abspath(self["state-file"]))
            if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
                raise usage.UsageError(
                    f"--state-file {self['state-file']}: directory {directory} "
                    "does not exist or is not writable"
                )
        if self["power-on"] == "restore" and not self["state-file"]:
            raise usage.UsageError("--power-on restore needs --state-file")
        if self["power-on"] == "on" and self["interlocks"]:
            raise usage.UsageError(
                "--power-on on would switch interlocked relays on together"
            )

    def _buildEndpoints(self) -> None:
        """
        Make the endpoints of C{--listen}, C{--port}, C{--metrics} and
        C{--http}.
        """
        self["metrics-endpoint"] = None
        if self["metrics"]:
            try:
                import prometheus_client  # noqa: F401
            except ImportError:
                raise usage.UsageError(
                    f"--metrics needs prometheus_client: {installHint('metrics')}"
                ) from None
            self["metrics-endpoint"] = serverEndpoint("metrics", self["metrics"])
        self["endpoints"] = [
            serverEndpoint("listen", description) for description in self["listen"]
        ]
        self["http-endpoints"] = [
            serverEndpoint("http", description) for description in self["http"]
        ]

    def _checkMQTT(self) -> None:
        """
        Check C{--mqtt} and its companion options, and read the password.
        """
        self["mqtt-settings"] = None
        companions = [
            f"--{option}"
            for option in (
                "mqtt-password-file",
                "mqtt-ca",
                "mqtt-node-id",
                "mqtt-topic",
            )
            if self[option] is not None
        ]
        if not self["mqtt"]:
            if companions:
                raise usage.UsageError(f"{', '.join(companions)} needs --mqtt URL")
            return
        try:
            import paho.mqtt  # noqa: F401
        except ImportError:
            raise usage.UsageError(
                f"--mqtt needs paho-mqtt: {installHint('mqtt')}"
            ) from None
        self["mqtt-settings"] = mqttSettings(
            self["mqtt"],
            self["mqtt-password-file"],
            self["mqtt-ca"],
            self["mqtt-node-id"],
            self["mqtt-topic"],
            self["mqtt-discovery-prefix"],
        )


def mqttSettings(
    url: str,
    passwordFile: Optional[str] = None,
    caFile: Optional[str] = None,
    node: Optional[str] = None,
    base: Optional[str] = None,
    discoveryPrefix: str = DEFAULT_DISCOVERY_PREFIX,
) -> MQTTSettings:
    """
    The L{MQTTSettings} of C{--mqtt} and its companion options.

    @raise usage.UsageError: for a bad URL, node id or topic; a password
        file that cannot be read, is empty, is readable by every user, or
        comes without a user name in the URL; a CA file that cannot be
        used, or comes without C{mqtts://}.
    """
    try:
        broker = parseBrokerURL(url)
    except ValueError as error:
        raise usage.UsageError(f"--mqtt {url!r}: {error}") from None
    if node is None:
        node = defaultNodeId()
    else:
        try:
            checkNodeId(node)
        except ValueError as error:
            raise usage.UsageError(f"--mqtt-node-id {node!r}: {error}") from None
    if base is None:
        base = f"eofrelay/{node}"
    for option, topic in (
        ("mqtt-topic", base),
        ("mqtt-discovery-prefix", discoveryPrefix or "x"),
    ):
        try:
            checkTopicRoot(topic)
        except ValueError as error:
            raise usage.UsageError(f"--{option} {topic!r}: {error}") from None
    password = None
    if passwordFile is not None:
        password = _readPassword(passwordFile, broker)
    if caFile is not None:
        if not broker.tls:
            raise usage.UsageError("--mqtt-ca is for an mqtts:// broker")
        try:
            certificates = ssl.create_default_context(cafile=caFile).get_ca_certs()
        except ssl.SSLError:
            raise usage.UsageError(
                f"--mqtt-ca {caFile}: no CA certificate in it"
            ) from None
        except OSError as error:
            raise usage.UsageError(
                f"--mqtt-ca {caFile}: cannot read it: {error.strerror}"
            ) from None
        if not certificates:
            raise usage.UsageError(f"--mqtt-ca {caFile}: no CA certificate in it")
    return MQTTSettings(broker, node, base, discoveryPrefix or None, password, caFile)


def _readPassword(path: str, broker: Broker) -> str:
    """
    The password in C{path}: its first line, without its line end.

    @raise usage.UsageError: if it cannot be used.
    """
    if broker.username is None:
        raise usage.UsageError(
            "--mqtt-password-file needs a user name in the URL: mqtt://USER@HOST[:PORT]"
        )
    try:
        checkSecretFile(path)
    except SecretFileTooOpen as error:
        raise usage.UsageError(f"--mqtt-password-file: {error}") from None
    try:
        with open(path, encoding="utf-8") as file:
            password = file.readline().rstrip("\r\n")
    except OSError as error:
        raise usage.UsageError(
            f"--mqtt-password-file {path}: cannot read it: {error.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise usage.UsageError(
            f"--mqtt-password-file {path}: the password is not UTF-8 text"
        ) from None
    if not password:
        raise usage.UsageError(f"--mqtt-password-file {path}: the file is empty")
    return password
