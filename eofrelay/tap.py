# -*- test-case-name: tests.test_tap -*-
"""
C{twistd eofrelay}: its options, and the service built from them.
"""

from __future__ import annotations

from typing import NamedTuple

from twisted.internet import endpoints
from twisted.python import usage

from eofrelay.factory import RelayFactory
from eofrelay.gpio import BACKENDS, GPIOUnavailable, openPins
from eofrelay.interfaces import IPins
from eofrelay.names import checkRelayName
from eofrelay.pinrelay import PinRelay
from eofrelay.service import RelayService

DEFAULT_PORT = 1100
#: The listen backlog of C{--port}: a burst of one-shot clients must not
#: wait on SYN retries.
BACKLOG = 1024
MAX_PIN = 53
MAX_LINE_LIMIT = 1024 * 1024


class RelaySpec(NamedTuple):
    """
    One C{--relay NAME:PIN[:active-low]}.
    """

    name: str
    pin: int
    activeLow: bool


DEFAULT_RELAY = RelaySpec("relay", 17, False)


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


def _integer(option: str, value: str, lowest: int, highest: int) -> int:
    """
    Parse an option's integer value within bounds.

    @raise usage.UsageError: if it is not an integer in that range.
    """
    try:
        number = int(value)
    except ValueError:
        number = lowest - 1
    if not lowest <= number <= highest:
        raise usage.UsageError(
            f"--{option} {value!r}: expected an integer from {lowest} to {highest}"
        )
    return number


class Options(usage.Options):
    """
    The options of C{twistd eofrelay}.
    """

    synopsis = "[options]"
    longdesc = (
        "Switch relays wired to GPIO pins when a client sends on<EOF> or "
        "off<EOF> over TCP (see the protocol reference in the docs)."
    )

    optParameters = [
        ["port", "p", None, f"TCP port on all interfaces [default: {DEFAULT_PORT}]"],
        [
            "gpio",
            None,
            "auto",
            "GPIO backend: auto (RPi.GPIO where it works, else simulated, "
            "with a warning), rpi or memory (simulated)",
        ],
        ["max-line", None, "1024", "longest message accepted, in bytes"],
    ]
    optFlags = [
        [
            "close-after-reply",
            None,
            "close each connection after its first reply, for clients that "
            "read until the server closes",
        ],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["listen"] = []
        self["relays"] = []

    def opt_listen(self, description: str) -> None:
        """
        Twisted endpoint to listen on instead of --port (repeatable).
        """
        self["listen"].append(description)

    def opt_relay(self, spec: str) -> None:
        """
        NAME:PIN[:active-low], PIN a BCM GPIO number; repeatable, the first is
        the default relay [default: relay:17]
        """
        self["relays"].append(parseRelaySpec(spec))

    def postOptions(self) -> None:
        """
        Check the options together and fill in defaults.
        """
        if self["gpio"] not in BACKENDS:
            raise usage.UsageError(
                f"--gpio {self['gpio']!r}: choose one of {', '.join(BACKENDS)}"
            )
        self["max-line"] = _integer("max-line", self["max-line"], 1, MAX_LINE_LIMIT)
        if self["port"] is not None:
            port = _integer("port", self["port"], 0, 65535)
            self["listen"].append(f"tcp:{port}:backlog={BACKLOG}")
        elif not self["listen"]:
            self["listen"].append(f"tcp:{DEFAULT_PORT}:backlog={BACKLOG}")
        if not self["relays"]:
            self["relays"].append(DEFAULT_RELAY)
        names = [spec.name.lower() for spec in self["relays"]]
        pins = [spec.pin for spec in self["relays"]]
        if len(set(names)) < len(names):
            raise usage.UsageError("--relay: each relay needs its own name")
        if len(set(pins)) < len(pins):
            raise usage.UsageError("--relay: each relay needs its own pin")
        from twisted.internet import reactor

        self["endpoints"] = []
        for description in self["listen"]:
            try:
                endpoint = endpoints.serverFromString(reactor, description)
            except Exception as error:
                reason = str(error)
                if description.startswith("systemd:"):
                    reason = (
                        "no such socket was passed by systemd socket activation "
                        f"({error})"
                    )
                raise usage.UsageError(f"--listen {description!r}: {reason}") from None
            self["endpoints"].append(endpoint)


def buildRelays(pins: IPins, specs: list[RelaySpec]) -> list[PinRelay]:
    """
    Set up one L{PinRelay} per spec, all off.

    @raise GPIOUnavailable: if a pin cannot be set up; the pins set up
        before are released.
    """
    try:
        return [PinRelay(spec.name, pins, spec.pin, spec.activeLow) for spec in specs]
    except BaseException:
        pins.release()
        raise


def makeService(options: Options) -> RelayService:
    """
    Build the eofrelay service from parsed options.

    @raise SystemExit: with a one-line message if the GPIO backend cannot
        be used, so that twistd prints that line and not a traceback.
    """
    try:
        pins = openPins(options["gpio"])
        relays = buildRelays(pins, options["relays"])
    except GPIOUnavailable as error:
        raise SystemExit(f"eofrelay: {error}") from None
    factory = RelayFactory(
        relays,
        maxLine=options["max-line"],
        closeAfterReply=bool(options["close-after-reply"]),
    )
    return RelayService(factory, options["endpoints"], pins)
