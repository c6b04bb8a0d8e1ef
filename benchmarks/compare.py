"""
eofrelay at another revision side by side with the working tree: the
before-and-after figures of a change.

Run from the repository root::

    python -m benchmarks.compare REVISION [--quick] [--repeat N]

REVISION (e.g. C{HEAD~1}) is checked out into a temporary git worktree,
which is removed afterwards.  Both run as C{twistd -n eofrelay --gpio
memory}, taking turns within each round; the medians of the one-shot,
round-trip, pipelined and idle scenarios are printed with the working
tree's ratios to REVISION, and written as JSON to
C{benchmarks/results/compare.json}.  One-shot, round-trip and pipelined
run twice: with C{on<EOF>} every time (after the first command the relay
does not change any more), and with C{on<EOF>} and C{off<EOF>} in turn, so
that the commands really switch the relay (the rows ending with
C{(on/off)}).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from benchmarks.run import EOFRELAY, QUICK, ROOT, Settings, rowLabel
from benchmarks.sidebyside import Row, Variant, sideBySide

ROWS: tuple[Row, ...] = tuple(
    (scenario, key, rowLabel(scenario, label))
    for scenario, key, label in (
        ("one-shot", "rate", "connections/s"),
        ("one-shot-switching", "rate", "connections/s"),
        ("round-trip", "rate", "replies/s"),
        ("round-trip", "p99_ms", "p99 ms"),
        ("round-trip-switching", "rate", "replies/s"),
        ("round-trip-switching", "p99_ms", "p99 ms"),
        ("pipelined", "rate", "commands/s"),
        ("pipelined-switching", "rate", "commands/s"),
        ("idle", "bytes_per_connection", "bytes/connection"),
    )
)


def git(*arguments: str) -> str:
    """
    Run git in the repository; return its output.
    """
    return subprocess.run(
        ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> None:
    """
    C{python -m benchmarks.compare REVISION [--quick] [--repeat N]}.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="the git revision to compare with")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--repeat", type=int, help="rounds (default 3, --quick 1)")
    arguments = parser.parse_args()
    revision = git("rev-parse", "--short", arguments.revision)
    with tempfile.TemporaryDirectory(prefix="eofrelay-compare-") as directory:
        tree = Path(directory) / revision
        git("worktree", "add", "--detach", str(tree), revision)
        try:
            sideBySide(
                [
                    Variant(revision, EOFRELAY, tree),
                    Variant("working tree", EOFRELAY, ROOT),
                ],
                ROWS,
                QUICK if arguments.quick else Settings(),
                arguments.repeat or (1 if arguments.quick else 3),
                ROOT / "benchmarks" / "results" / "compare.json",
            )
        finally:
            git("worktree", "remove", "--force", str(tree))


if __name__ == "__main__":
    main()
