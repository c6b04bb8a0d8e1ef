# -*- test-case-name: tests.test_tap -*-
"""
The eofrelay service built from C{twistd eofrelay}'s options: GPIO
adapter, relays, relay bank, front ends and what happens at stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Optional

from twisted.logger import Logger

from eofrelay.core.bank import RelayBank
from eofrelay.core.buttons import Button
from eofrelay.core.statefile import StateFile, restoredStates
from eofrelay.core.switchlog import stateName
from eofrelay.gpio import GPIOUnavailable, openPins
from eofrelay.gpio.pinrelay import PinRelay
from eofrelay.interfaces import IPins
from eofrelay.tcp.factory import RelayFactory
from eofrelay.wiring.options import ButtonSpec, Options, RelaySpec
from eofrelay.wiring.service import RelayService

if TYPE_CHECKING:
    from eofrelay.mqtt.bridge import MQTTBridge
    from eofrelay.mqtt.settings import MQTTSettings

_log = Logger(namespace="eofrelay.tap")


def buildRelays(
    pins: IPins,
    specs: list[RelaySpec],
    initial: Mapping[str, bool],
    setUp: bool = True,
) -> list[PinRelay]:
    """
    One L{PinRelay} per spec, each in its initial state, its pin set up now
    (L{setUpPins}) unless C{setUp} is false.

    @raise GPIOUnavailable: if a pin cannot be set up; the pins set up
        before are released.
    """
    relays = [
        PinRelay(spec.name, pins, spec.pin, spec.activeLow, initial[spec.name], False)
        for spec in specs
    ]
    if setUp:
        setUpPins(pins, relays)
    return relays


def setUpPins(pins: IPins, relays: list[PinRelay]) -> None:
    """
    Set up the pin of each relay as an output already driving its state.

    @raise GPIOUnavailable: if a pin cannot be set up; the pins set up
        before are released.
    """
    try:
        for relay in relays:
            relay.setUpPin()
    except BaseException:
        pins.release()
        raise


def setUpPinsKept(pins: IPins, relays: list[PinRelay], bank: RelayBank) -> None:
    """
    Set up the pin of each relay keeping the level it already has
    (C{--power-on keep}), and take the levels read as the relays' states;
    a pin that was not an output yet starts off.  One line logs which
    relays were read and which were not.

    Where several relays of one interlock group are read on, every relay
    of that group is switched off (logged as a warning), as C{restore}
    restores none of them: eofrelay cannot know which of them should win.
    Groups that share a relay are each judged by what was read.

    @raise GPIOUnavailable: if a pin cannot be set up; the pins set up
        before are released.
    """
    try:
        read = {relay.name: relay.setUpPinKept() for relay in relays}
    except BaseException:
        pins.release()
        raise
    states = " ".join(
        f"{name}={stateName(on)}" for name, on in read.items() if on is not None
    )
    unread = ", ".join(name for name, on in read.items() if on is None)
    if not unread:
        _log.info(
            "--power-on keep: relay states read from their pins: {read}", read=states
        )
    elif not states:
        _log.info(
            "--power-on keep: no relay's pin was an output yet, so every relay "
            "starts off: {unread}",
            unread=unread,
        )
    else:
        _log.info(
            "--power-on keep: relay states read from their pins: {read}; pins "
            "not outputs yet, so starting off: {unread}",
            read=states,
            unread=unread,
        )
    byName = {relay.name: relay for relay in relays}
    clash: list[PinRelay] = []
    for group in bank.interlocks:
        on = [member.name for member in group if read[member.name]]
        if len(on) > 1:
            _log.warn(
                "--power-on keep: interlocked relays {relays} are all on: "
                "switching them off",
                relays=", ".join(on),
            )
            clash.extend(byName[name] for name in on)
    for relay in clash:
        relay.switch(False)
    bank.adoptDriverStates()


def buildButtons(
    bank: RelayBank, specs: list[ButtonSpec], debounceMs: int
) -> list[tuple[ButtonSpec, Button]]:
    """
    One L{Button} per C{--button}, toggling its relay of C{bank}, debounced
    by C{debounceMs}; nothing is set up yet (L{setUpButtons}).
    """
    return [
        (spec, Button(bank.relay(spec.relay), spec.pin, debounceMs / 1000))
        for spec in specs
    ]


def setUpButtons(pins: IPins, buttons: list[tuple[ButtonSpec, Button]]) -> None:
    """
    Set up the input of each button: wired to ground with its pull-up on
    (pressed is low), or, C{active-high}, to 3.3 V with its pull-down on;
    its edges go to the button.  One line logs the buttons.

    @raise GPIOUnavailable: if an input cannot be set up; every pin set up
        before is released.
    """
    try:
        for spec, button in buttons:
            pins.setupInput(
                spec.pin, not spec.activeHigh, not spec.activeHigh, button.edge
            )
    except BaseException:
        pins.release()
        raise
    if buttons:
        _log.info(
            "buttons: {buttons}",
            buttons=", ".join(
                f"GPIO {spec.pin} toggles {button.relay.name} (wired to "
                + ("3.3 V, pull-down" if spec.activeHigh else "ground, pull-up")
                + ")"
                for spec, button in buttons
            ),
        )


def powerOnStates(options: Options, stateFile: Optional[StateFile]) -> dict[str, bool]:
    """
    The state of each relay at start, by C{--power-on}.
    """
    names = [spec.name for spec in options["relays"]]
    policy = options["power-on"]
    if policy == "keep":
        # Read from the pins once they are set up (setUpPinsKept); until
        # then no client can have asked.
        return dict.fromkeys(names, False)
    if policy == "restore":
        assert stateFile is not None
        states = restoredStates(stateFile.load(), names, options["interlocks"])
        _log.info(
            "restoring relay states from {path}: {states}",
            path=stateFile.path,
            states=" ".join(f"{name}={stateName(on)}" for name, on in states.items()),
        )
        return states
    return {name: policy == "on" for name in names}


#: Open files the process needs beside its client connections: listening
#: sockets, the log, the state file, GPIO chips, Python's own.
OWN_FILES = 64


def descriptorBudget(options: Options) -> int:
    """
    How many connections the service may have open at once, all listeners
    together: C{--max-connections} for the relay port, and the limit of the
    metrics listener, if any, and that of each C{--http} listener.
    """
    budget: int = options["max-connections"]
    if options["metrics-endpoint"] is not None:
        from eofrelay.metrics import MAX_CONNECTIONS

        budget += MAX_CONNECTIONS
    if options["http-endpoints"]:
        from eofrelay.http.service import MAX_CONNECTIONS as HTTP_CONNECTIONS

        budget += HTTP_CONNECTIONS * len(options["http-endpoints"])
    return budget


def raiseFileLimit(connections: int) -> None:
    """
    Raise the soft limit of open files so that C{connections} client
    connections fit (with room for the process's own files), as far as the
    hard limit allows; say so in the log if it does not.
    """
    import resource

    needed = connections + OWN_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        _log.warn(
            "{connections} connections (--max-connections, and the metrics "
            "listener's if any) need {needed} open files but the limit is "
            "{limit}: raise it (LimitNOFILE= in systemd)",
            connections=connections,
            needed=needed,
            limit=target,
        )


def makeService(options: Options) -> RelayService:
    """
    Build the eofrelay service from parsed options.

    The GPIO backend is opened now, but no pin is set up (driven) before
    every port listens: a service that cannot listen (another one holds
    its port) leaves the relays alone.  Then each pin is set up as an
    output already driving its power-on state (or, with C{--power-on
    keep}, keeping the level it has), and each button's input.

    @raise SystemExit: with a one-line message if the GPIO backend cannot
        be used, so that twistd prints that line and not a traceback.
    """
    raiseFileLimit(descriptorBudget(options))
    stateFile = StateFile(options["state-file"]) if options["state-file"] else None
    initial = powerOnStates(options, stateFile)
    try:
        pins = openPins(options["gpio"], options["gpio-chip"])
        relays = buildRelays(pins, options["relays"], initial, setUp=False)
    except GPIOUnavailable as error:
        raise SystemExit(f"eofrelay: {error}") from None
    bank = RelayBank(
        relays,
        interlocks=options["interlocks"],
        stateFile=stateFile,
        maxOn=options["max-on"],
        interlockDelay=options["interlock-delay"] / 1000,
    )
    factory = RelayFactory(
        bank,
        maxLine=options["max-line"],
        closeAfterReply=bool(options["close-after-reply"]),
        maxConnections=options["max-connections"],
        idleTimeout=options["idle-timeout"],
        allow=options["allow"] or None,
        token=options["token"],
    )
    buttons = buildButtons(bank, options["buttons"], options["button-debounce"])

    def setUpAll() -> None:
        if options["power-on"] == "keep":
            setUpPinsKept(pins, relays, bank)
        else:
            setUpPins(pins, relays)
        setUpButtons(pins, buttons)

    service = RelayService(
        factory,
        options["endpoints"],
        pins,
        options["on-exit"],
        stopOnHangUp=True,
        setUpPins=setUpAll,
        buttons=[button for spec, button in buttons],
    )
    if options["metrics-endpoint"] is not None:
        from eofrelay.metrics import metricsService

        metricsService(factory, options["metrics-endpoint"]).setServiceParent(service)
    if options["mqtt-settings"] is not None:
        service.addStateReporter(mqttBridge(factory, options["mqtt-settings"]))
    if options["http-endpoints"]:
        from eofrelay.http.service import httpService

        def refused(reason: str) -> None:
            factory.refusedCounts[reason] += 1

        http = httpService(
            factory.commands, options["http-endpoints"], factory.allow, refused
        )
        http.setServiceParent(service)
    return service


def mqttBridge(factory: RelayFactory, settings: MQTTSettings) -> MQTTBridge:
    """
    The MQTT bridge of C{--mqtt}, sharing the TCP front end's command
    interpreter.
    """
    from twisted.internet import reactor

    from eofrelay import __version__
    from eofrelay.mqtt.bridge import MQTTBridge
    from eofrelay.mqtt.client import PahoConnector
    from eofrelay.mqtt.topics import OFFLINE, Topics

    topics = Topics(settings.base, settings.node, settings.discoveryPrefix)
    connect = PahoConnector(reactor, settings, topics.availability, OFFLINE)
    return MQTTBridge(factory.commands, topics, connect, __version__)
