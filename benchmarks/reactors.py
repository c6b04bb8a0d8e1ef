"""
eofrelay on Twisted's default (epoll) reactor, on its asyncio reactor, and
on its asyncio reactor over uvloop, side by side.

Run from the repository root, with uvloop installed
(C{.venv/bin/pip install uvloop})::

    python -m benchmarks.reactors [--quick] [--repeat N]

The three take turns within each round (in a rotated order); the medians
of the one-shot, round-trip and pipelined scenarios are printed with the
ratios to the default reactor, and written as JSON to
C{benchmarks/results/reactors.json}.
"""

from __future__ import annotations

import argparse

from benchmarks.run import EOFRELAY, QUICK, ROOT, Settings
from benchmarks.sidebyside import Row, Variant, sideBySide

VARIANTS = (EOFRELAY, f"{EOFRELAY}-asyncio", f"{EOFRELAY}-uvloop")
ROWS: tuple[Row, ...] = (
    ("one-shot", "rate", "one-shot connections/s"),
    ("round-trip", "rate", "round-trip replies/s"),
    ("round-trip", "p99_ms", "round-trip p99 ms"),
    ("pipelined", "rate", "pipelined commands/s"),
)


def main() -> None:
    """
    C{python -m benchmarks.reactors [--quick] [--repeat N]}.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--repeat", type=int, help="rounds (default 3, --quick 1)")
    arguments = parser.parse_args()
    sideBySide(
        [Variant(name, name) for name in VARIANTS],
        ROWS,
        QUICK if arguments.quick else Settings(),
        arguments.repeat or (1 if arguments.quick else 3),
        ROOT / "benchmarks" / "results" / "reactors.json",
    )


if __name__ == "__main__":
    main()
