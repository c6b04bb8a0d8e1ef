# -*- test-case-name: tests.test_access -*-
"""
Who may connect and who may command: the address allow-list, and the
authentication of C{auth TOKEN} with its throttle.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections import OrderedDict
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


def throttleKey(host: str) -> str:
    """
    What failed C{auth} attempts from C{host} are counted under: an IPv4
    address as it is, an IPv6 address by its /64 network (one host's
    interface, whose addresses a peer chooses freely within it).
    """
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        return host
    network = ipaddress.IPv6Network((int(address) >> 64 << 64, 64))
    return str(network)


class FailedAuthentications:
    """
    Slows down guessing: counts failed C{auth} attempts per peer host (see
    L{throttleKey}), and refuses every attempt from a host that failed
    L{LIMIT} times within L{WINDOW} seconds until L{WINDOW} seconds after
    its last failure.  A wrong token sent while refused is a failure too,
    so a host that keeps guessing stays refused.

    Hosts are kept in the order of their last failure, so that those whose
    last failure is older than L{WINDOW} are forgotten from the front: each
    failure costs the same, however many hosts failed.  At most
    L{MAX_HOSTS} are kept; beyond that the host whose last failure is the
    oldest is forgotten first.

    @cvar LIMIT: Failures allowed within the window.
    @cvar WINDOW: The window, and the time a host stays refused after its
        last failure, in seconds.
    @cvar MAX_HOSTS: The most hosts remembered.
    """

    LIMIT = 5
    WINDOW = 60.0
    MAX_HOSTS = 10_000

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        # Each host's last LIMIT failures, oldest host first.
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._locked: set[str] = set()

    def __len__(self) -> int:
        """
        How many hosts are remembered.
        """
        return len(self._failures)

    def _forgetOld(self, now: float) -> None:
        """
        Forget the hosts whose last failure is L{WINDOW} seconds old or
        older (their lock, if any, is over).
        """
        failures = self._failures
        while failures:
            host, times = next(iter(failures.items()))
            if now - times[-1] < self.WINDOW:
                return
            del failures[host]
            self._locked.discard(host)

    def refused(self, host: Optional[str]) -> bool:
        """
        Whether C{host} is refused for now.
        """
        if host is None:
            return False
        self._forgetOld(self._clock.seconds())
        return throttleKey(host) in self._locked

    def failed(self, host: Optional[str]) -> None:
        """
        Record a failed attempt from C{host}.
        """
        if host is None:
            return
        now = self._clock.seconds()
        self._forgetOld(now)
        key = throttleKey(host)
        failures = self._failures
        times = failures.pop(key, [])
        times = [t for t in times if now - t < self.WINDOW]
        times.append(now)
        # The last LIMIT failures are all that decide.
        del times[: -self.LIMIT]
        if len(failures) >= self.MAX_HOSTS:
            oldest, _ = failures.popitem(last=False)
            self._locked.discard(oldest)
        failures[key] = times
        if len(times) >= self.LIMIT:
            self._locked.add(key)


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
