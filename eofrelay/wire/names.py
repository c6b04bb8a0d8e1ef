# -*- test-case-name: tests.test_bank,tests.test_factory -*-
"""
What names a relay: the rule for relay names, which the server checks at
configuration and the client before it sends one.
"""

from __future__ import annotations

import re
from typing import Final

#: The relay name that means every relay, in C{on all} and C{off all}.
ALL: Final = "all"

#: A relay name, as a regular expression: a letter followed by up to 31
#: letters, digits, C{_} or C{-}.
NAME_PATTERN: Final = r"[A-Za-z][A-Za-z0-9_-]{0,31}"

_NAME: Final = re.compile(NAME_PATTERN + r"\Z")


def checkRelayName(name: str) -> str:
    """
    Check that C{name} may name a relay: a letter followed by up to 31
    letters, digits, C{_} or C{-}, and not the reserved word C{all} (in
    any case).

    @return: C{name}, unchanged.
    @raise ValueError: if it may not, with a message that says why.
    """
    if not (isinstance(name, str) and _NAME.match(name)):
        raise ValueError(
            f"bad relay name {name!r}: a relay name is a letter followed by "
            "up to 31 letters, digits, '_' or '-'"
        )
    if name.lower() == ALL:
        raise ValueError(f"bad relay name {name!r}: 'all' is reserved")
    return name
