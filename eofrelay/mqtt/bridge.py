# -*- test-case-name: tests.test_mqtt_bridge,tests.test_mqtt_broker -*-
"""
The MQTT bridge: a front end of the relay core that takes commands from
MQTT topics and publishes every change of every relay (DESIGN section 5).
"""

from __future__ import annotations

from typing import Final, Optional

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from eofrelay.commands.interpreter import CommandInterpreter, Reply
from eofrelay.commands.session import ISession
from eofrelay.core.clocks import clockOrReactor
from eofrelay.core.relay import RelayState
from eofrelay.mqtt.connection import (
    ConnectFailed,
    ConnectionLost,
    Connector,
    IMQTTConnection,
    IMQTTReceiver,
)
from eofrelay.mqtt.topics import (
    OFFLINE,
    ONLINE,
    Topics,
    discoveryConfig,
    parsePulse,
    parseSet,
    statePayload,
)
from eofrelay.wire import replies

#: The longest part of a refused payload that the log shows.
_SHOWN: Final = 64


class Backoff:
    """
    The delays between attempts to reach the broker: C{first} seconds,
    doubling at each attempt to at most C{most}.
    """

    def __init__(self, first: float = 1.0, most: float = 60.0) -> None:
        self.first = first
        self.most = most
        self._next = first

    def next(self) -> float:
        """
        The delay before the next attempt.
        """
        delay = self._next
        self._next = min(delay * 2, self.most)
        return delay

    def reset(self) -> None:
        """
        Start again from C{first}.
        """
        self._next = self.first


@implementer(ISession)
class MQTTSession:
    """
    The commands of one MQTT topic, as the command interpreter sees them:
    the topic names the sender in the switch log (C{mqtt:TOPIC}); the
    token of C{--token-file} does not apply (the broker's authentication
    and ACLs do).
    """

    host = None
    authenticated = True

    def __init__(self, topic: str) -> None:
        self.peer = f"mqtt:{topic}"

    def watch(self) -> None:
        """
        Not asked for: the bridge sends only switching commands.
        """

    def close(self) -> None:
        """
        Not asked for: the bridge sends only switching commands.
        """


@implementer(IMQTTReceiver)
class MQTTBridge(Service):
    """
    Connects the relay bank of a L{CommandInterpreter} to an MQTT broker,
    and keeps it connected.

    On every connection it publishes C{online} on the availability topic,
    the discovery config of every relay (unless discovery is off) and the
    state of every relay, all retained, and subscribes to the C{set} and
    C{pulse} topics of every relay and to Home Assistant's status topic.
    A message on a C{set} or C{pulse} topic is executed as the command
    C{on NAME}, C{off NAME}, C{toggle NAME} or C{pulse NAME MS} by the
    interpreter, which the TCP front end shares, so that it is ordered
    with theirs and everything a command does applies.  Every change of a
    relay, whoever made it, is published.  One publish at a time waits
    for the broker's acknowledgement on each topic, so a flood of changes
    costs one publish per acknowledgement and relay, and relays do not
    wait for each other; while a relay changes faster than the broker
    acknowledges its publishes, its intermediate states are skipped, never
    queued without bound, and its last state is always published.

    When the broker cannot be reached or the connection is lost, it tries
    again after a delay that doubles from 1 to 60 seconds; the outage and
    the recovery are logged once each.  When the service stops, it
    publishes what is pending and C{offline}, then says goodbye.

    @ivar commands: What executes the commands (with the bank).
    @ivar topics: The node's topics.
    @ivar clock: What times the attempts and the stop.
    @ivar statesPublished: How many states were published.
    @ivar connection: The connection to the broker, while there is one.
    @cvar STABLE: Seconds a connection must have lasted for the delay
        before the next attempt to start again from 1 second.
    @cvar STOP_TIMEOUT: Seconds the stop waits for the broker at most.
    """

    log = Logger()
    STABLE = 10.0
    STOP_TIMEOUT = 5.0

    def __init__(
        self,
        commands: CommandInterpreter,
        topics: Topics,
        connect: Connector,
        version: str,
        clock: Optional[IReactorTime] = None,
    ) -> None:
        """
        @param connect: Starts a connection to the broker.
        @param version: eofrelay's version, for the discovery configs.
        @param clock: What times the attempts; the bank's by default.
        """
        self.commands = commands
        self.topics = topics
        self.clock = clockOrReactor(clock or commands.bank.clock)
        self._connect = connect
        relays = commands.bank.relays
        self._inbound: dict[str, tuple[str, RelayState, MQTTSession]] = {}
        for relay in relays:
            for kind, topic in (
                ("set", topics.set(relay.name)),
                ("pulse", topics.pulse(relay.name)),
            ):
                self._inbound[topic] = (kind, relay, MQTTSession(topic))
        self._configs = {
            relay.name: discoveryConfig(topics, relay.name, version) for relay in relays
        }
        self.connection: Optional[IMQTTConnection] = None
        self._attempt: Optional[IMQTTConnection] = None
        self._retry: Optional[IDelayedCall] = None
        self._backoff = Backoff()
        self._connectedAt = 0.0
        self._outageSince: Optional[float] = None
        self._pending: dict[tuple[str, str], RelayState] = {}
        self._inFlight: set[tuple[str, str]] = set()
        self._flushing = False
        self.statesPublished = 0
        commands.bank.addListener(self._relayChanged)

    # Connecting, and again

    def startService(self) -> None:
        """
        Start connecting to the broker.
        """
        super().startService()
        self._connectNow()

    def _connectNow(self) -> None:
        self._retry = None
        attempt = self._attempt = self._connect(self)
        attempt.accepted.addCallbacks(
            self._accepted, self._notAccepted, errbackArgs=(attempt,)
        )

    def _accepted(self, connection: IMQTTConnection) -> None:
        """
        The broker accepted the connection: say C{online}, subscribe, and
        publish everything.
        """
        if not self.running or connection is not self._attempt:
            connection.abort()
            return
        self.connection = connection
        self._connectedAt = self.clock.seconds()
        if self._outageSince is None:
            self.log.info(
                "MQTT: connected to {broker}, topics under {base}",
                broker=connection.broker,
                base=self.topics.base,
            )
        else:
            self.log.info(
                "MQTT: connected to {broker} again, after {seconds:.0f} s without it",
                broker=connection.broker,
                seconds=self._connectedAt - self._outageSince,
            )
        self._outageSince = None
        self._forgetPending()
        connection.publish(self.topics.availability, ONLINE, True).addErrback(
            self._lostMeanwhile
        )
        subscribed = list(self._inbound)
        if self.topics.status is not None:
            subscribed.append(self.topics.status)
        connection.subscribe(subscribed).addErrback(self._lostMeanwhile)
        self._announce()

    def _notAccepted(self, failure: Failure, attempt: IMQTTConnection) -> None:
        """
        The broker could not be reached, or refused the connection: try
        again later.
        """
        if failure.check(ConnectFailed):
            reason = failure.getErrorMessage()
        else:
            self.log.failure("MQTT: unexpected error connecting", failure)
            reason = "unexpected error"
        if self.running:
            self._outage(
                "MQTT: cannot connect to {broker}: {reason}; trying again "
                "after 1 s, then ever less often, every 60 s at most",
                attempt.broker,
                reason,
            )
        attempt.whenClosed().addCallback(self._tryAgainLater, attempt)

    def connectionLost(self, reason: str) -> None:
        """
        The connection to the broker is gone: try again later.
        """
        connection, self.connection = self.connection, None
        self._forgetPending()
        if connection is None:
            return
        if self.clock.seconds() - self._connectedAt >= self.STABLE:
            self._backoff.reset()
        if self.running:
            self._outage(
                "MQTT: lost the connection to {broker}: {reason}; reconnecting",
                connection.broker,
                reason,
            )
        connection.whenClosed().addCallback(self._tryAgainLater, connection)

    def _outage(self, format: str, broker: str, reason: str) -> None:
        """
        Log the start of an outage, once.
        """
        if self._outageSince is not None:
            return
        self._outageSince = self.clock.seconds()
        self.log.warn(format, broker=broker, reason=reason)

    def _tryAgainLater(self, ignored: object, attempt: IMQTTConnection) -> None:
        """
        The last attempt is over: schedule the next one.
        """
        if attempt is not self._attempt:
            return
        self._attempt = None
        if self.running:
            self._retry = self.clock.callLater(self._backoff.next(), self._connectNow)

    def _lostMeanwhile(self, failure: Failure) -> None:
        """
        A publish or subscription whose connection was lost: the next
        connection publishes everything again.
        """
        failure.trap(ConnectionLost)

    # Publishing

    def _announce(self) -> None:
        """
        Publish every discovery config, then every state.
        """
        relays = self.commands.bank.relays
        if self.topics.discoveryPrefix is not None:
            for relay in relays:
                self._pending[("config", relay.name)] = relay
        for relay in relays:
            self._pending[("state", relay.name)] = relay
        self._flush()

    def _forgetPending(self) -> None:
        """
        A connection starts or ends: nothing is pending or in flight on it.
        """
        self._pending.clear()
        self._inFlight.clear()

    def _relayChanged(self, relay: RelayState, old: bool, new: bool) -> None:
        """
        A relay changed: publish its state.
        """
        self._publishState(relay)

    def _publishState(self, relay: RelayState) -> None:
        """
        Publish the state of C{relay} as soon as its topic has no publish
        in flight.
        """
        if self.connection is not None:
            self._pending[("state", relay.name)] = relay
            self._flush()

    def _flush(self) -> None:
        """
        Publish what is pending on every topic with no publish in flight.
        """
        if self._flushing:
            return
        self._flushing = True
        try:
            while self.connection is not None:
                key = next(
                    (key for key in self._pending if key not in self._inFlight), None
                )
                if key is None:
                    break
                self._inFlight.add(key)
                self._publish(self.connection, key).addBoth(
                    self._acknowledged, self.connection, key
                )
        finally:
            self._flushing = False

    def _publish(
        self, connection: IMQTTConnection, key: tuple[str, str]
    ) -> Deferred[None]:
        """
        Publish what is pending for C{key}, with its value of now.
        """
        relay = self._pending.pop(key)
        kind, name = key
        if kind == "config":
            topic = self.topics.config(name)
            assert topic is not None
            return connection.publish(topic, self._configs[name], True)
        self.statesPublished += 1
        return connection.publish(
            self.topics.state(name), statePayload(relay.isOn), True
        )

    def _acknowledged(
        self, result: object, connection: IMQTTConnection, key: tuple[str, str]
    ) -> None:
        """
        The broker acknowledged a publish (or the connection is gone).
        """
        if isinstance(result, Failure):
            result.trap(ConnectionLost)
        if connection is self.connection:
            self._inFlight.discard(key)
            self._flush()

    # Commands

    def messageReceived(self, topic: str, payload: bytes, retained: bool) -> None:
        """
        A message on a subscribed topic: a command, or Home Assistant
        saying it started.
        """
        if topic == self.topics.status:
            # A retained status is a replay at subscription: everything was
            # just published.
            if not retained and payload.strip().lower() == ONLINE:
                self._announce()
            return
        inbound = self._inbound.get(topic)
        if inbound is None:
            return
        kind, relay, session = inbound
        if retained:
            self.log.info(
                "MQTT: ignored a retained message on {topic}: a broker replays "
                "those at every connection, so commands must not be retained",
                topic=topic,
            )
            return
        if not (self.running and (self.parent is None or self.parent.running)):
            self.log.info("MQTT: ignored {topic}: the service is stopping", topic=topic)
            return
        if kind == "set":
            verb = parseSet(payload)
            if verb is None:
                self._refused(topic, payload, relay, "expected ON, OFF or TOGGLE")
                return
            message = f"{verb} {relay.name}"
        else:
            milliseconds = parsePulse(payload)
            if milliseconds is None:
                self._refused(
                    topic, payload, relay, "expected milliseconds from 1 to 86400000"
                )
                return
            message = f"pulse {relay.name} {milliseconds}"
        reply: Reply = self.commands.execute(session, message.encode("ascii"))
        if isinstance(reply, bytes):
            self._replied(reply, topic, relay)
        else:
            reply.addCallback(self._replied, topic, relay)

    def _refused(
        self, topic: str, payload: bytes, relay: RelayState, expected: str
    ) -> None:
        """
        A payload that means nothing: log it, and publish the relay's state
        again, for whoever took the payload for the state.
        """
        shown = payload[:_SHOWN]
        self.log.warn(
            "MQTT: ignored {payload} on {topic}: {expected}",
            payload=repr(shown) + ("..." if len(payload) > _SHOWN else ""),
            topic=topic,
            expected=expected,
        )
        self._publishState(relay)

    def _replied(self, reply: bytes, topic: str, relay: RelayState) -> None:
        """
        The command of a message was executed: if it failed, log it, and
        publish the relay's state again.
        """
        if reply == replies.SUCCESS:
            return
        self.log.warn(
            "MQTT: the command on {topic} failed: {reply}",
            topic=topic,
            reply=reply.decode("ascii", "replace"),
        )
        self._publishState(relay)

    # Stopping

    def stopService(self) -> Deferred[None]:
        """
        Publish what is pending and C{offline}, then say goodbye to the
        broker; or give up the attempt to reach it.  Waits for the broker
        L{STOP_TIMEOUT} seconds at most, then closes the connection.
        """
        super().stopService()
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        connection, self.connection = self.connection, None
        attempt, self._attempt = self._attempt, None
        if connection is not None:
            return self._goodbye(connection)
        if attempt is not None:
            attempt.abort()
            return attempt.whenClosed()
        return succeed(None)

    def _goodbye(self, connection: IMQTTConnection) -> Deferred[None]:
        """
        Publish the pending states and C{offline}, then disconnect.
        """
        for (kind, name), relay in self._pending.items():
            if kind == "state":
                self.statesPublished += 1
                connection.publish(
                    self.topics.state(name), statePayload(relay.isOn), True
                ).addErrback(self._lostMeanwhile)
        self._pending.clear()
        offline = connection.publish(self.topics.availability, OFFLINE, True)
        offline.addTimeout(self.STOP_TIMEOUT, self.clock)

        def published(ignored: object) -> Deferred[None]:
            goodbye = connection.disconnect()
            goodbye.addTimeout(self.STOP_TIMEOUT, self.clock)
            return goodbye

        def failed(failure: Failure) -> Deferred[None]:
            self.log.warn(
                "MQTT: could not say offline to {broker} before stopping: {reason}",
                broker=connection.broker,
                reason=(
                    f"no answer within {self.STOP_TIMEOUT:g} s"
                    if failure.check(TimeoutError, defer.TimeoutError)
                    else failure.getErrorMessage()
                ),
            )
            connection.abort()
            return connection.whenClosed()

        def done(ignored: object) -> None:
            self.log.info("MQTT: disconnected from {broker}", broker=connection.broker)

        offline.addCallback(published).addErrback(failed).addCallback(done)
        return offline
