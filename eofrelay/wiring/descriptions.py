# -*- test-case-name: tests.test_descriptions -*-
"""
The server endpoints of C{--listen} and C{--metrics}, made from Twisted
endpoint descriptions, and refused in words a user can act on: what is
wrong with the description, not what failed inside its parser
(C{invalid literal for int()}, a parser's argument names, C{list index out
of range}), and at option parsing, not when the service starts to listen.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Optional

from twisted.internet import endpoints
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.python import usage

from eofrelay.wire.extras import installHint
from eofrelay.wire.secretfiles import SecretFileTooOpen, checkSecretFile

#: The longest path of a UNIX socket, in bytes: C{sun_path} holds 108,
#: with the terminating NUL.
MAX_UNIX_PATH = 107
#: The largest listen backlog taken (the system caps it lower anyway).
MAX_BACKLOG = 65535
#: What a description may start with, for the hint to an unknown one.
KINDS = "tcp:PORT, tcp6:PORT, ssl:PORT:privateKey=..., unix:PATH or systemd:..."


def serverEndpoint(option: str, description: str) -> IStreamServerEndpoint:
    """
    The server endpoint that C{description} describes, for C{--option}.

    @raise usage.UsageError: if it describes none, or one that cannot
        listen whatever the machine (a TCP port outside 0 to 65535, a
        UNIX socket without a path), with a reason a user can act on.
    """
    from twisted.internet import reactor

    reason = descriptionError(description) or _keyError(description)
    if reason is None:
        try:
            endpoint: IStreamServerEndpoint = endpoints.serverFromString(
                reactor, description
            )
        except Exception as error:
            reason = _endpointError(description, error)
        else:
            return endpoint
    raise usage.UsageError(f"--{option} {description!r}: {reason}")


def _keyError(description: str) -> Optional[str]:
    """
    Why the private key of an C{ssl:} description must not be used: other
    users may read it (as for the token file, L{checkSecretFile
    <eofrelay.wire.secretfiles.checkSecretFile>}); or C{None}.
    """
    try:
        parts, keywords = splitDescription(description)
    except ValueError:
        return None
    if parts[0] != "ssl" or "privateKey" not in keywords:
        return None
    try:
        checkSecretFile(keywords["privateKey"])
    except SecretFileTooOpen as error:
        return f"the private key: {error}"
    return None


def splitDescription(description: str) -> tuple[list[str], dict[str, str]]:
    """
    Split a description as Twisted does: into parts at each colon, a part
    with an equals sign being C{keyword=value} (the value may hold more
    equals signs), a backslash taking the next character as it is.

    @return: The parts without a keyword (the first is the endpoint's
        type), and the keywords' values.
    @raise ValueError: if the description ends with a backslash, which
        escapes nothing.
    """
    parts: list[list[str]] = [[""]]
    escaped = False
    for character in description:
        if escaped:
            parts[-1][-1] += character
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == ":":
            parts.append([""])
        elif character == "=" and len(parts[-1]) == 1:
            parts[-1].append("")
        else:
            parts[-1][-1] += character
    if escaped:
        raise ValueError("a backslash at its end escapes nothing")
    positional = [part[0] for part in parts if len(part) == 1]
    keywords = {part[0]: part[1] for part in parts if len(part) == 2}
    return positional, keywords


def descriptionError(description: str) -> Optional[str]:
    """
    What is wrong with the parts of C{description} that Twisted's parser
    would take for numbers or need, for the endpoint types eofrelay
    documents; L{None} if nothing is (Twisted's parser may still refuse
    it).
    """
    try:
        positional, keywords = splitDescription(description)
    except ValueError as error:
        return str(error)
    kind = positional[0] if positional else ""
    if kind == "haproxy":
        # A wrapper: the rest is the description of what it wraps.
        return descriptionError(description.partition(":")[2])
    check = _CHECKS.get(kind)
    return None if check is None else check(kind, positional[1:], keywords)


def _number(value: str, base: int = 10) -> Optional[int]:
    """
    The integer Twisted's parser reads C{value} as, or L{None} if it
    reads none.
    """
    try:
        return int(value, base)
    except ValueError:
        return None


def _within(value: str, lowest: int, highest: int, base: int = 10) -> bool:
    """
    Whether Twisted's parser reads C{value} as an integer from C{lowest}
    to C{highest}.
    """
    number = _number(value, base)
    return number is not None and lowest <= number <= highest


def _given(positional: list[str], keywords: dict[str, str], name: str) -> Optional[str]:
    """
    The first argument of an endpoint, given as C{name=} or first without
    a keyword; L{None} if it is not given.
    """
    if name in keywords:
        return keywords[name]
    return positional[0] if positional else None


def _backlogError(keywords: dict[str, str]) -> Optional[str]:
    """
    What is wrong with C{backlog=}, if given.
    """
    backlog = keywords.get("backlog")
    if backlog is not None and not _within(backlog, 0, MAX_BACKLOG):
        return f"backlog= must be a number from 0 to {MAX_BACKLOG}"
    return None


def _tcpError(
    kind: str, positional: list[str], keywords: dict[str, str]
) -> Optional[str]:
    """
    What is wrong with a C{tcp:}, C{tcp6:} or C{ssl:} description.
    """
    port = _given(positional, keywords, "port")
    if port is None:
        return f"it needs a port: {kind}:PORT"
    if _number(port) is None:
        return "the port must be a number from 0 to 65535"
    if not _within(port, 0, 65535):
        return "the port must be from 0 to 65535"
    return _backlogError(keywords)


def _unixError(
    kind: str, positional: list[str], keywords: dict[str, str]
) -> Optional[str]:
    """
    What is wrong with a C{unix:} description.
    """
    path = _given(positional, keywords, "address")
    if not path:
        return (
            "it needs the socket's path: unix:PATH, "
            "e.g. unix:/run/eofrelay/eofrelay.sock"
        )
    length = len(os.fsencode(path))
    if length > MAX_UNIX_PATH:
        return (
            f"the path is {length} bytes long; a UNIX socket's path may have "
            f"at most {MAX_UNIX_PATH}: choose a shorter one"
        )
    mode = keywords.get("mode")
    if mode is not None and not _within(mode, 0, 0o7777, base=8):
        return "mode= must be an octal file mode, e.g. mode=660"
    lockfile = keywords.get("lockfile")
    if lockfile is not None and not _within(lockfile, 0, 1):
        return "lockfile= must be 0 or 1"
    return _backlogError(keywords)


def _systemdError(
    kind: str, positional: list[str], keywords: dict[str, str]
) -> Optional[str]:
    """
    What is wrong with a C{systemd:} description.
    """
    domain = _given(positional, keywords, "domain")
    if domain not in ("INET", "INET6", "UNIX"):
        return (
            "domain= must be INET, INET6 or UNIX (the address family of the "
            "socket that systemd passes), e.g. systemd:domain=INET:index=0"
        )
    index = keywords.get("index")
    if (index is None) == ("name" not in keywords):
        return (
            "give index= (the socket's place among those passed, from 0) or "
            "name= (its FileDescriptorName=), one of them"
        )
    if index is not None and not _within(index, 0, 2**31):
        return "index= must be a number from 0 (the socket's place among those passed)"
    return None


_CHECKS: dict[str, Callable[[str, list[str], dict[str, str]], Optional[str]]] = {
    "tcp": _tcpError,
    "tcp6": _tcpError,
    "ssl": _tcpError,
    "unix": _unixError,
    "systemd": _systemdError,
}


def _endpointError(description: str, error: Exception) -> str:
    """
    Why Twisted's parser refused C{description}, in words a user can act
    on.
    """
    reason = str(error) or error.__class__.__name__
    while description.startswith("haproxy:"):
        # What a wrapper wraps is what Twisted refused.
        description = description.partition(":")[2]
    kind = description.partition(":")[0]
    if isinstance(error, ImportError) and error.name == "OpenSSL":
        return f"TLS needs pyOpenSSL: {installHint('tls')}"
    if error.__class__.__module__.startswith("OpenSSL"):
        return (
            "cannot load the TLS key and certificate: privateKey= must name a "
            "PEM file with the private key, and certKey= (by default the same "
            "file) one with the certificate"
        )
    if kind == "ssl" and isinstance(error, AttributeError):
        return (
            "sslmethod= names no TLS method of OpenSSL: leave it out, for the "
            "best TLS version both sides support"
        )
    if description.startswith("systemd:"):
        return _systemdSocketError()
    if isinstance(error, ValueError) and "Unknown endpoint type" in reason:
        if not kind:
            return f"it is empty: give one of {KINDS}"
        return f"unknown endpoint type '{kind}': give one of {KINDS}"
    literal = re.search(r"invalid literal for int\(\) with base \d+: (.*)$", reason)
    if isinstance(error, ValueError) and literal:
        return f"{literal.group(1)} must be a number"
    if isinstance(error, TypeError):
        return _argumentsError(kind, reason)
    if isinstance(error, OSError) and error.filename:
        return f"cannot read {error.filename}: {error.strerror}"
    return reason


def _systemdSocketError() -> str:
    """
    Why the socket a C{systemd:} description names was not passed.

    Twisted reads (and, for this process, removes) C{LISTEN_FDS} and
    C{LISTEN_PID} from the environment once, when its endpoints are
    imported: the sockets it found are asked of it, and the environment
    tells only of sockets passed to another process.
    """
    from twisted.internet.endpoints import _SystemdParser

    found = _SystemdParser._sddaemon
    descriptors = found.inheritedDescriptors()
    if descriptors:
        names = ":".join(found.inheritedNamedDescriptors())
        return (
            f"systemd passed {len(descriptors)} socket(s), named {names}, none "
            "of them this one: check the index or name against the .socket unit"
        )
    passed = os.environ.get("LISTEN_FDS")
    owner = os.environ.get("LISTEN_PID", "")
    if passed is not None and owner != str(os.getpid()):
        return (
            f"systemd passed {passed} socket(s) to process {owner or '(none)'} "
            "(LISTEN_PID), not to this one: start eofrelay (or twistd) from the "
            "unit itself, or with exec from a script"
        )
    return (
        "systemd passed no socket that Twisted can use: LISTEN_FDS is not set, "
        "or the sockets came without their names (LISTEN_FDNAMES: systemd 227 "
        "or later sets them; with systemd-socket-activate, add --fdname=NAME); "
        "run it from a systemd .socket unit, or use tcp:PORT"
    )


def _argumentsError(kind: str, reason: str) -> str:
    """
    What a C{TypeError} of Twisted's parser (its function called with the
    parts of the description) says about the description.
    """
    escape = r"a colon inside a value, as in an IPv6 address, is written \:"
    unexpected = re.search(r"unexpected keyword argument '(\w+)'", reason)
    if unexpected:
        return f"{unexpected.group(1)}= is not an option of {kind}:"
    twice = re.search(r"multiple values for argument '(\w+)'", reason)
    if twice:
        return f"{twice.group(1)}= is given twice, or also without its name ({escape})"
    missing = re.search(r"missing \d+ required positional arguments?: '(\w+)'", reason)
    if missing:
        return f"it needs its {missing.group(1)}"
    if "positional argument" in reason:
        return f"it has more parts than {kind}: takes ({escape})"
    return "an option of it is unknown or given twice"
