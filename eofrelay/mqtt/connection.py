# -*- test-case-name: tests.test_mqtt_bridge,tests.test_mqtt_client -*-
"""
What the bridge needs of a connection to an MQTT broker, whatever drives
it: L{eofrelay.mqtt.client} provides it with paho-mqtt, the tests with a
fake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from twisted.internet.defer import Deferred
from zope.interface import Attribute, Interface


class ConnectFailed(Exception):
    """
    A connection to the broker could not be made, or the broker refused it;
    the message says why in a few words.
    """


class ConnectionLost(Exception):
    """
    The connection to the broker is gone; a publish or subscription it
    carried may or may not have reached the broker.
    """


class IMQTTReceiver(Interface):
    """
    What hears from one connection to a broker: the bridge.
    """

    def messageReceived(topic: str, payload: bytes, retained: bool) -> None:
        """
        A message arrived on a subscribed topic.

        @param retained: Whether the broker delivered it with the retain
            flag set: a retained message replayed at subscription, not one
            published while subscribed.
        """

    def connectionLost(reason: str) -> None:
        """
        The connection is gone, not by L{IMQTTConnection.disconnect}; the
        reason in a few words.
        """


class IMQTTConnection(Interface):
    """
    One connection to a broker, from the attempt to make it to its end;
    QoS 1 for everything.  L{publish} and L{subscribe} are for a connection
    the broker accepted.
    """

    broker = Attribute("What the log names the broker by, e.g. C{'pi.lan:1883'}.")
    accepted = Attribute(
        "A Deferred firing with the connection once the broker accepted it "
        "(its C{CONNACK}), or failing with L{ConnectFailed}."
    )

    def whenClosed() -> Deferred[None]:
        """
        A new Deferred firing once the connection is over and nothing of it
        is left running, accepted or not, whatever ended it (at once if it
        is over already).
        """

    def publish(topic: str, payload: bytes, retain: bool) -> Deferred[None]:
        """
        Publish a message with QoS 1.

        @return: A Deferred firing once the broker acknowledged it, or
            failing with L{ConnectionLost}.
        """

    def subscribe(topics: Sequence[str]) -> Deferred[None]:
        """
        Subscribe to C{topics} with QoS 1.

        @return: A Deferred firing once the broker acknowledged it, or
            failing with L{ConnectionLost}.
        """

    def disconnect() -> Deferred[None]:
        """
        Say goodbye to the broker (so that it does not publish the last
        will) and close the connection.

        @return: A Deferred firing once the connection is over (see
            L{whenClosed}).
        """

    def abort() -> None:
        """
        Close the connection without a goodbye: the broker publishes the
        last will.  An attempt still connecting is given up.
        """


#: Starts one connection for a receiver, and gives it at once (see its
#: C{accepted}).
Connector = Callable[[IMQTTReceiver], IMQTTConnection]
