# -*- test-case-name: tests.test_bank,tests.test_tap -*-
"""
The checks of a relay configuration, done once for every way of
configuring relays (C{twistd eofrelay}'s options, L{RelayBank
<eofrelay.core.bank.RelayBank>}): relay names and interlock groups.
"""

from __future__ import annotations

from collections.abc import Iterable

from eofrelay.wire.names import checkRelayName


def checkRelayNames(names: Iterable[str]) -> list[str]:
    """
    Check a configuration's relay names: at least one, each valid
    (L{checkRelayName}), no two the same but for case.

    @return: The names, lower-cased, in order.
    @raise ValueError: if they are not, saying why.
    """
    keys: list[str] = []
    for name in names:
        key = checkRelayName(name).lower()
        if key in keys:
            raise ValueError(f"relay {name!r} is configured twice")
        keys.append(key)
    if not keys:
        raise ValueError("at least one relay is needed")
    return keys


def checkInterlocks(
    groups: Iterable[Iterable[str]], names: Iterable[str]
) -> list[list[str]]:
    """
    Check interlock groups against the configured relay C{names}: each a
    list (not a string) of at least two names of configured relays, none
    named twice.

    @return: The groups with their names lower-cased.
    @raise ValueError: if one is not, saying why.
    """
    known = {name.lower() for name in names}
    checked = []
    for group in groups:
        if isinstance(group, str):
            raise ValueError("an interlock is a list of relay names, not a string")
        lowered = [name.lower() for name in group]
        for name in group:
            if name.lower() not in known:
                raise ValueError(f"no relay named {name!r}")
        if len(set(lowered)) < len(lowered):
            raise ValueError("a relay is named twice")
        if len(lowered) < 2:
            raise ValueError("an interlock needs at least two different relays")
        checked.append(lowered)
    return checked
