# -*- test-case-name: tests.test_mqtt_client -*-
"""
Connections to an MQTT broker through paho-mqtt, driven by the reactor.

paho's own network thread (C{loop_start}) is not used: its socket is
watched by the reactor (C{addReader}, C{addWriter}), which calls
C{loop_read} and C{loop_write} when it is ready, and C{loop_misc} (the
keepalive) runs on a L{LoopingCall}.  Only the blocking part of
connecting (name lookup, TCP connect, TLS handshake, sending C{CONNECT})
runs in a thread of the reactor's pool, on a paho client that nothing
else touches meanwhile; every callback of paho that reaches eofrelay, and
so every command, runs on the reactor thread.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Sequence
from typing import Any, Optional, cast

from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReadDescriptor, IWriteDescriptor
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python import threadable
from twisted.python.failure import Failure
from zope.interface import implementer

from eofrelay.mqtt.connection import (
    ConnectFailed,
    ConnectionLost,
    IMQTTConnection,
    IMQTTReceiver,
)
from eofrelay.mqtt.settings import MQTTSettings

#: Seconds between two messages to the broker at most (a ping when nothing
#: else is sent); a broker that stays silent for about twice as long is
#: taken to be gone.
KEEPALIVE = 30

#: Seconds the TCP connect and the TLS handshake may take.
CONNECT_TIMEOUT = 10.0


def _words(reason: ReasonCode) -> str:
    """
    A paho reason code in words a log reader can act on.
    """
    text = str(reason)
    if text == "Unspecified error":
        return "the connection was closed"
    return text[0].lower() + text[1:] if text else "no reason given"


def tlsContext(caFile: Optional[str]) -> ssl.SSLContext:
    """
    The TLS settings of a C{mqtts://} connection: the broker's certificate
    is verified, host name included, against C{caFile} or the system's
    CAs.

    @raise OSError: if C{caFile} cannot be read.
    @raise ssl.SSLError: if it holds no certificate.
    """
    return ssl.create_default_context(cafile=caFile)


@implementer(IReadDescriptor, IWriteDescriptor)
class _SocketDescriptor:
    """
    paho's socket as the reactor watches it: readiness is handed to the
    L{PahoConnection}.
    """

    def __init__(self, connection: PahoConnection, sock: Any) -> None:
        self._connection = connection
        self._fileno: int = sock.fileno()

    def fileno(self) -> int:
        return self._fileno

    def doRead(self) -> None:
        self._connection._readable()

    def doWrite(self) -> None:
        self._connection._writable()

    def connectionLost(self, reason: Failure) -> None:
        self._connection._descriptorLost(reason)

    def logPrefix(self) -> str:
        return "mqtt"


@implementer(IMQTTConnection)
class PahoConnection:
    """
    One connection to a broker, through one paho client.

    @ivar broker: The broker, as the log names it.
    @ivar accepted: Fires with this connection once the broker accepted it,
        or fails with L{ConnectFailed}.
    """

    log = Logger()

    def __init__(
        self,
        reactor: Any,
        client: mqtt.Client,
        broker: str,
        receiver: IMQTTReceiver,
    ) -> None:
        """
        @param reactor: The reactor (L{IReactorFDSet}, L{IReactorTime},
            L{IReactorThreads}, L{IReactorFromThreads}).
        @param client: A paho client, set up but never connected.
        """
        self._reactor = reactor
        self._client = client
        self.broker = broker
        self._receiver = receiver
        self._descriptor: Optional[_SocketDescriptor] = None
        self._reading = self._writing = self._wantsWrite = False
        self._misc = LoopingCall(self._loopMisc)
        self._misc.clock = reactor
        self.accepted: Deferred[IMQTTConnection] = Deferred()
        self._closed = False
        self._closeWaiters: list[Deferred[None]] = []
        self._published: dict[int, Deferred[None]] = {}
        self._subscribed: dict[int, Deferred[None]] = {}
        self._connecting = True
        self._socketOpen = False
        self._ending = False
        self._failure: Optional[str] = None
        self._wasAccepted = False
        client.on_socket_open = self._fromAnyThread(self._socketOpened)
        client.on_socket_register_write = self._fromAnyThread(self._wantWrite)
        client.on_socket_unregister_write = self._fromAnyThread(self._noMoreWrite)
        client.on_socket_close = self._fromAnyThread(self._socketClosed)
        client.on_connect = self._connected
        client.on_disconnect = self._disconnected
        client.on_message = self._message
        client.on_publish = self._publishAcknowledged
        client.on_subscribe = self._subscribeAcknowledged

    def _fromAnyThread(
        self, callback: Callable[[mqtt.Client, Any, Any], None]
    ) -> Callable[[mqtt.Client, Any, Any], None]:
        """
        C{callback}, run on the reactor thread when paho calls it from the
        thread that connects.
        """

        def onReactorThread(client: mqtt.Client, userdata: Any, sock: Any) -> None:
            if threadable.isInIOThread():
                callback(client, userdata, sock)
            else:
                self._reactor.callFromThread(callback, client, userdata, sock)

        return onReactorThread

    # Connecting

    def start(self, host: str, port: int) -> Deferred[IMQTTConnection]:
        """
        Connect, in a thread of the reactor's pool.

        @return: L{accepted}.
        """
        connecting = deferToThreadPool(
            self._reactor,
            self._reactor.getThreadPool(),
            self._client.connect,
            host,
            port,
            KEEPALIVE,
        )
        connecting.addCallbacks(self._connectSent, self._connectFailed)
        return self.accepted

    def _connectSent(self, result: MQTTErrorCode) -> None:
        """
        The thread connected and sent C{CONNECT}: the reactor takes over.
        """
        self._connecting = False
        if not self._socketOpen:
            self._fail("the connection was closed")
            self._closeDone()
            return
        # Only now does the reactor watch the socket: nothing of the
        # connection (its CONNACK) is handled while the thread may still
        # be using the client.
        self._watch()
        if result != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._fail(mqtt.error_string(result))
            self._shutdown()
        elif self._ending:
            self._fail("given up")
            self._shutdown()
        else:
            self._misc.start(1.0, now=False)

    def _connectFailed(self, failure: Failure) -> None:
        """
        The thread could not connect.
        """
        self._connecting = False
        error = failure.value
        if isinstance(error, ssl.SSLCertVerificationError):
            reason = f"TLS: {error.verify_message or error.reason}"
        elif isinstance(error, socket.timeout):
            reason = "timed out"
        elif isinstance(error, socket.gaierror):
            reason = f"cannot resolve the host name: {error.strerror}"
        elif isinstance(error, OSError) and error.strerror:
            reason = error.strerror
        else:
            reason = str(error) or error.__class__.__name__
        self._fail(reason)
        self._closeDone()

    def _fail(self, reason: str) -> None:
        """
        The connection will not be accepted: say why to whoever waits.
        """
        self._failure = reason
        if not self.accepted.called:
            self.accepted.errback(ConnectFailed(reason))

    def _connected(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason: ReasonCode,
        properties: Optional[Properties],
    ) -> None:
        """
        The broker answered C{CONNECT}.
        """
        if reason.is_failure:
            self._fail(f"refused by the broker: {_words(reason)}")
            self._shutdown()
        elif not self.accepted.called:
            self._wasAccepted = True
            self.accepted.callback(self)

    # Using it

    def publish(self, topic: str, payload: bytes, retain: bool) -> Deferred[None]:
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return fail(ConnectionLost(mqtt.error_string(info.rc)))
        published: Deferred[None] = Deferred()
        self._published[info.mid] = published
        return published

    def subscribe(self, topics: Sequence[str]) -> Deferred[None]:
        result, mid = self._client.subscribe([(topic, 1) for topic in topics])
        if result != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            return fail(ConnectionLost(mqtt.error_string(result)))
        subscribed: Deferred[None] = Deferred()
        self._subscribed[mid] = subscribed
        return subscribed

    def whenClosed(self) -> Deferred[None]:
        if self._closed:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._closeWaiters.append(waiter)
        return waiter

    def disconnect(self) -> Deferred[None]:
        self._ending = True
        if not self._connecting and self._socketOpen:
            if self._client.disconnect() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._shutdown()
        return self.whenClosed()

    def abort(self) -> None:
        self._ending = True
        if not self._connecting:
            self._shutdown()

    def _shutdown(self) -> None:
        """
        End the TCP connection without a goodbye; paho finds it closed at
        its next read.
        """
        sock = self._client.socket()
        if sock is None:
            self._closeDone()
            return
        try:
            cast(socket.socket, sock).shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _publishAcknowledged(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason: ReasonCode,
        properties: Optional[Properties],
    ) -> None:
        published = self._published.pop(mid, None)
        if published is not None and not published.called:
            published.callback(None)

    def _subscribeAcknowledged(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Optional[Properties],
    ) -> None:
        subscribed = self._subscribed.pop(mid, None)
        if subscribed is not None and not subscribed.called:
            subscribed.callback(None)

    def _message(
        self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage
    ) -> None:
        if self._ending:
            return
        try:
            self._receiver.messageReceived(
                message.topic, bytes(message.payload), bool(message.retain)
            )
        except Exception:
            self.log.failure("error handling a message on {topic}", topic=message.topic)

    def _disconnected(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason: ReasonCode,
        properties: Optional[Properties],
    ) -> None:
        """
        paho found the connection gone, or sent the goodbye.
        """
        words = _words(reason)
        waiting = list(self._published.values()) + list(self._subscribed.values())
        self._published.clear()
        self._subscribed.clear()
        for deferred in waiting:
            if not deferred.called:
                deferred.errback(ConnectionLost(words))
        if not self._wasAccepted:
            self._fail(self._failure or words)
        elif not self._ending:
            self._ending = True
            try:
                self._receiver.connectionLost(words)
            except Exception:
                self.log.failure("error handling the loss of the connection")

    # The reactor's side of the socket

    def _socketOpened(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._socketOpen = True
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass
        self._descriptor = _SocketDescriptor(self, sock)
        if not self._connecting:
            self._watch()

    def _wantWrite(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._wantsWrite = True
        if not self._connecting:
            self._watch()

    def _noMoreWrite(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._wantsWrite = False
        if self._descriptor is not None and self._writing:
            self._reactor.removeWriter(self._descriptor)
            self._writing = False

    def _watch(self) -> None:
        """
        Have the reactor watch the socket: for reading, and for writing
        while paho has something to write.
        """
        if self._descriptor is None:
            return
        if not self._reading:
            self._reactor.addReader(self._descriptor)
            self._reading = True
        if self._wantsWrite and not self._writing:
            self._reactor.addWriter(self._descriptor)
            self._writing = True

    def _socketClosed(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._socketOpen = False
        self._noMoreWrite(client, userdata, sock)
        if self._descriptor is not None and self._reading:
            self._reactor.removeReader(self._descriptor)
            self._reading = False
        self._descriptor = None
        if self._misc.running:
            self._misc.stop()
        if not self._connecting:
            self._reactor.callLater(0, self._closeDone)

    def _closeDone(self) -> None:
        if self._closed:
            return
        self._closed = True
        waiters, self._closeWaiters = self._closeWaiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _readable(self) -> None:
        client = self._client
        client.loop_read()
        # A TLS socket may hold decrypted bytes that the reactor cannot
        # see: read them now, or they would wait for the next packet.
        for _ in range(1000):
            sock = client.socket()
            pending = getattr(sock, "pending", None)
            if sock is None or pending is None or not pending():
                break
            client.loop_read()

    def _writable(self) -> None:
        self._client.loop_write()

    def _loopMisc(self) -> None:
        self._client.loop_misc()

    def _descriptorLost(self, reason: Failure) -> None:
        """
        The reactor gave up on the socket (it raised): make sure paho
        notices at its next read.
        """
        self._reading = self._writing = self._wantsWrite = False
        self._shutdown()


class PahoConnector:
    """
    Makes L{PahoConnection}s to the broker of some L{MQTTSettings}, each
    with a fresh paho client (nothing of a connection that is gone
    carries over to the next), the last will C{offline} on C{willTopic}.
    """

    def __init__(
        self,
        reactor: Any,
        settings: MQTTSettings,
        willTopic: str,
        willPayload: bytes,
        tls: Optional[ssl.SSLContext] = None,
    ) -> None:
        """
        @param tls: The TLS settings of a C{mqtts://} broker; by default
            those of L{tlsContext} with the settings' CA file.
        """
        self._reactor = reactor
        self._settings = settings
        self._will = (willTopic, willPayload)
        self._tls = tls
        if settings.broker.tls and tls is None:
            self._tls = tlsContext(settings.caFile)

    def __call__(self, receiver: IMQTTReceiver) -> PahoConnection:
        """
        Start one connection for C{receiver}.
        """
        settings = self._settings
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.clientId,
            clean_session=True,
            protocol=MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=False,
        )
        client.suppress_exceptions = False
        client.connect_timeout = CONNECT_TIMEOUT
        # paho's own bound on unacknowledged QoS 1 messages; the bridge
        # keeps fewer than this in flight.
        client.max_inflight_messages_set(64)
        topic, payload = self._will
        client.will_set(topic, payload, qos=1, retain=True)
        if settings.broker.username is not None:
            client.username_pw_set(settings.broker.username, settings.password)
        if self._tls is not None:
            client.tls_set_context(self._tls)
        connection = PahoConnection(
            self._reactor, client, str(settings.broker), receiver
        )
        connection.start(settings.broker.host, settings.broker.port)
        return connection
