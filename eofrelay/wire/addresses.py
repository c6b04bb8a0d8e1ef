# -*- test-case-name: tests.test_protocol -*-
"""
How a peer is named in the log and in messages: C{host:port}.
"""

from __future__ import annotations

import ipaddress

from twisted.internet.interfaces import IAddress


def describePeer(address: IAddress) -> str:
    """
    A short text naming a peer in the log: C{host:port} for IP addresses
    (C{[host]:port} for IPv6), C{unix:PATH} for UNIX sockets.
    """
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    if host is None:
        name = getattr(address, "name", None)
        if isinstance(name, bytes):
            name = name.decode("utf-8", errors="backslashreplace")
        # A socket's path is the peer's choice: no line breaks or other
        # control characters into the log.
        return "unix:" + "".join(
            char if char.isprintable() else ascii(char)[1:-1] for char in name or ""
        )
    return hostPort(host, port)


def hostPort(host: str, port: object) -> str:
    """
    C{host:port}, or C{[host]:port} for an IPv6 address.
    """
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def isIPAddress(host: object) -> bool:
    """
    Whether C{host} is an IPv4 or IPv6 address, as text.
    """
    if not isinstance(host, str):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
