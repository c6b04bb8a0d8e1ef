# -*- test-case-name: tests.test_mqtt_settings -*-
"""
What C{--mqtt URL} and its companion options mean: the broker, the node
name and the topics' roots, checked, without any MQTT library.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from typing import Final, Optional
from urllib.parse import unquote, urlsplit

#: The default port of C{mqtt://} and of C{mqtts://}.
DEFAULT_PORTS: Final = {"mqtt": 1883, "mqtts": 8883}

#: The default root of Home Assistant's discovery topics.
DEFAULT_DISCOVERY_PREFIX: Final = "homeassistant"

#: What a node id may hold: Home Assistant's rule for the node part of a
#: discovery topic (and of a C{unique_id}).
_NODE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")


@dataclass(frozen=True)
class Broker:
    """
    The broker of C{--mqtt URL}.

    @ivar host: Its host name or IP address.
    @ivar port: Its TCP port.
    @ivar tls: Whether the connection is TLS (C{mqtts://}), the broker's
        certificate verified.
    @ivar username: The user name to log in with, if any.
    """

    host: str
    port: int
    tls: bool = False
    username: Optional[str] = None

    def __str__(self) -> str:
        """
        C{HOST:PORT} (C{[ADDRESS]:PORT} for IPv6), as the log names it.
        """
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parseBrokerURL(url: str) -> Broker:
    """
    Parse C{mqtt://[USER@]HOST[:PORT]} or C{mqtts://[USER@]HOST[:PORT]}.

    @raise ValueError: with a message that says what is wrong, for another
        scheme, no host, a port outside 1 to 65535, a path, a query, or a
        password in the URL (it belongs in C{--mqtt-password-file}).
    """
    expected = "expected mqtt://[USER@]HOST[:PORT] or mqtts://[USER@]HOST[:PORT]"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(f"{expected}, with a port from 1 to 65535") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.netloc:
        raise ValueError(expected)
    if parts.password is not None:
        raise ValueError(
            "a password does not go in the URL, where every user of the "
            "machine can read it: put it in a file given to --mqtt-password-file"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{expected}, without a path or query")
    host = parts.hostname
    if not host:
        raise ValueError(f"{expected}: the host is missing")
    if port == 0:
        raise ValueError(f"{expected}, with a port from 1 to 65535")
    username = unquote(parts.username) if parts.username is not None else None
    if username == "":
        raise ValueError(f"{expected}: the user name before @ is empty")
    return Broker(host, port or DEFAULT_PORTS[scheme], scheme == "mqtts", username)


def defaultNodeId(hostname: Optional[str] = None) -> str:
    """
    The default C{--mqtt-node-id}: the host name, lower-cased, with every
    character outside C{a-z0-9_-} replaced by C{_}.

    @param hostname: The host name; this machine's by default.
    """
    name = (socket.gethostname() if hostname is None else hostname).lower()
    return re.sub(r"[^a-z0-9_-]", "_", name)[:64] or "eofrelay"


def checkNodeId(node: str) -> str:
    """
    Check a C{--mqtt-node-id}: 1 to 64 letters, digits, C{_} or C{-}, as
    Home Assistant's discovery topics need.

    @return: C{node}, unchanged.
    @raise ValueError: if it is not.
    """
    if not _NODE.match(node):
        raise ValueError(
            "a node id is 1 to 64 letters, digits, '_' or '-' (it names the "
            "node in discovery topics and unique ids)"
        )
    return node


def checkTopicRoot(topic: str) -> str:
    """
    Check the root of a family of topics (C{--mqtt-topic},
    C{--mqtt-discovery-prefix}): not empty, no wildcard (C{+}, C{#}), no
    NUL, no C{/} at either end, no empty level.

    @return: C{topic}, unchanged.
    @raise ValueError: if it is not such a root.
    """
    if not topic:
        raise ValueError("a topic is not empty")
    if any(character in topic for character in "+#\0"):
        raise ValueError("a topic holds no '+', '#' or NUL")
    if "" in topic.split("/"):
        raise ValueError("a topic neither starts nor ends with '/', nor has '//'")
    if len(topic.encode("utf-8")) > 512:
        raise ValueError("a topic root is at most 512 bytes")
    return topic


@dataclass(frozen=True)
class MQTTSettings:
    """
    Everything C{--mqtt} and its companion options say.

    @ivar broker: The broker.
    @ivar node: The node id (C{--mqtt-node-id}).
    @ivar base: The root of the node's own topics (C{--mqtt-topic}).
    @ivar discoveryPrefix: The root of Home Assistant's discovery topics,
        or C{None} for no discovery.
    @ivar password: The password, if any (never logged; not in C{repr}).
    @ivar caFile: The CA certificates that verify a C{mqtts://} broker,
        or C{None} for the system's.
    """

    broker: Broker
    node: str
    base: str
    discoveryPrefix: Optional[str] = DEFAULT_DISCOVERY_PREFIX
    password: Optional[str] = None
    caFile: Optional[str] = None

    def __repr__(self) -> str:
        """
        Like a dataclass's, but never showing the password.
        """
        password = "None" if self.password is None else "'********'"
        return (
            f"MQTTSettings(broker={self.broker!r}, node={self.node!r}, "
            f"base={self.base!r}, discoveryPrefix={self.discoveryPrefix!r}, "
            f"password={password}, caFile={self.caFile!r})"
        )

    @property
    def clientId(self) -> str:
        """
        The client id given to the broker: C{eofrelay-NODE}, the same at
        every connection, so that a restarted eofrelay takes over the
        session of the one before it (whose last will the broker then
        publishes before eofrelay says C{online}).
        """
        return f"eofrelay-{self.node}"
