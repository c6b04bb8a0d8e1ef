# -*- test-case-name: tests.test_tap -*-
"""
How to install an extra that is missing: said the same way by the server
and the client.
"""

from __future__ import annotations


def installHint(extra: str) -> str:
    """
    The command that installs eofrelay's extra C{extra}, from a checkout
    (where the README installs eofrelay from) and from a package index.
    """
    return (
        f"pip install '.[{extra}]' in eofrelay's checkout "
        f"(or pip install 'eofrelay[{extra}]' where an index has eofrelay)"
    )
