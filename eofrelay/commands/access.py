# -*- test-case-name: tests.test_access -*-
"""
Who may connect and who may command: the address allow-list, and the
authentication of C{auth TOKEN} with its throttle.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from typing import Optional, Union

from twisted.internet.interfaces import IAddress, IReactorTime

from eofrelay.commands.session import ISession
from eofrelay.core.logs import CONNECTIONS, NamedLogger
from eofrelay.wire import replies
from eofrelay.wire.tokens import isToken

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def parseNetwork(cidr: str) -> Network:
    """
    Parse an IPv4 or IPv6 network (C{192.168.1.0/24}, C{fd00::/8}, or a
    single address).

    @raise ValueError: if it is not one.
    """
    network = ipaddress.ip_network(cidr.strip(), strict=False)
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_MAPPED):
        # Peers seen as IPv4-mapped addresses are matched as IPv4.
        mapped = network.network_address.ipv4_mapped
        assert mapped is not None
        return ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return network


def peerHost(address: IAddress) -> Optional[str]:
    """
    The host of an IP peer, an IPv4-mapped IPv6 address given as IPv4;
    C{None} for a peer without an IP address.
    """
    host = getattr(address, "host", None)
    if not isinstance(host, str):
        return None
    if host.startswith("::ffff:") and "." in host:
        return host[len("::ffff:") :]
    return host


def isAllowed(address: IAddress, networks: Iterable[Network]) -> bool:
    """
    Whether a peer at C{address} may connect: an IP peer must be in one of
    C{networks} (an IPv4 peer seen as an IPv4-mapped IPv6 address is
    matched as IPv4); a peer without an IP address (a UNIX socket, which
    file permissions protect) always may.
    """
    host = getattr(address, "host", None)
    if not isinstance(host, str):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def tokenMatches(expected: bytes, given: bytes) -> bool:
    """
    Compare a token in constant time.
    """
    return hmac.compare_digest(expected, given)


class FailedAuthentications:
    """
    Slows down guessing: counts failed C{auth} attempts per peer host, and
    refuses every attempt from a host that failed L{LIMIT} times within
    L{WINDOW} seconds until L{WINDOW} seconds after its last failure.  A
    wrong token sent while refused is a failure too, so a host that keeps
    guessing stays refused.

    @cvar LIMIT: Failures allowed within the window.
    @cvar WINDOW: The window, and the time a host stays refused after its
        last failure, in seconds.
    """

    LIMIT = 5
    WINDOW = 60.0
    MAX_HOSTS = 10_000

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._failures: dict[str, list[float]] = {}
        self._locked: set[str] = set()

    def _recent(self, host: str) -> list[float]:
        """
        The times of C{host}'s failures within the last L{WINDOW} seconds,
        forgetting older ones, and the host with them when there are none
        (its lock, if any, is over then).
        """
        now = self._clock.seconds()
        recent = [t for t in self._failures.get(host, []) if now - t < self.WINDOW]
        if recent:
            self._failures[host] = recent
        else:
            self._failures.pop(host, None)
            self._locked.discard(host)
        return recent

    def refused(self, host: Optional[str]) -> bool:
        """
        Whether C{host} is refused for now.
        """
        return host is not None and host in self._locked and bool(self._recent(host))

    def failed(self, host: Optional[str]) -> None:
        """
        Record a failed attempt from C{host}.
        """
        if host is None:
            return
        if len(self._failures) >= self.MAX_HOSTS:
            for known in list(self._failures):
                self._recent(known)
        recent = self._recent(host)
        recent.append(self._clock.seconds())
        # The last LIMIT failures are all that decide.
        del recent[: -self.LIMIT]
        self._failures[host] = recent
        if len(recent) >= self.LIMIT:
            self._locked.add(host)


class Authenticator:
    """
    Checks the token of C{auth}: in constant time, throttled by host
    (L{FailedAuthentications}), logged without the token.

    @ivar token: The token C{auth} must give, or C{None}: every session is
        authenticated from the start.
    @ivar throttle: The failed attempts, by host.
    """

    log = NamedLogger(CONNECTIONS)

    def __init__(self, token: Optional[bytes], clock: IReactorTime) -> None:
        """
        @raise ValueError: for a token that C{auth} could not carry (see
            L{isToken}).
        """
        if token is not None and not isToken(token):
            raise ValueError(
                "token: bytes, one word of 1 to 256 printable ASCII "
                "characters, without <EOF>"
            )
        self.token = token
        self.throttle = FailedAuthentications(clock)

    def authenticate(self, session: ISession, given: str) -> bytes:
        """
        C{auth TOKEN} from C{session}: unlock its other commands, or, for a
        wrong token or a host refused for now, close it.

        @return: The reply.
        """
        if self.token is None:
            return replies.SUCCESS
        host = session.host
        refused = self.throttle.refused(host)
        # Compared even while refused, in constant time: the right token
        # is still refused then, but does not prolong the refusal.
        matches = tokenMatches(self.token, given.encode())
        if matches and not refused:
            session.authenticated = True
            self.log.info("{peer} authenticated", peer=session.peer)
            return replies.SUCCESS
        if not matches:
            self.throttle.failed(host)
        self.log.warn(
            "{peer}: authentication failed{why}; closing",
            peer=session.peer,
            why=" (too many failures from this host, refused for now)"
            if refused
            else "",
        )
        session.close()
        return replies.AUTHENTICATION_FAILED
