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
import json
import statistics

from benchmarks import load
from benchmarks.run import EOFRELAY, QUICK, ROOT, Settings, runOne

VARIANTS = (EOFRELAY, f"{EOFRELAY}-asyncio", f"{EOFRELAY}-uvloop")
ROWS = (
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
    settings = QUICK if arguments.quick else Settings()
    repeat = arguments.repeat or (1 if arguments.quick else 3)
    load.raiseFileLimit()
    results: dict[tuple[str, str], list[load.Result]] = {}
    for round in range(repeat):
        order = VARIANTS[round % 3 :] + VARIANTS[: round % 3]
        for scenario in dict.fromkeys(row[0] for row in ROWS):
            for name in order:
                result, _ = runOne(scenario, name, settings)
                print(
                    f"[{round + 1}/{repeat}] {scenario:10} {name:17} "
                    f"{result.rate:,.0f}/s {'ok' if result.ok else 'FAILED'}",
                    flush=True,
                )
                if result.ok:
                    results.setdefault((scenario, name), []).append(result)
    summary: dict[str, dict[str, float]] = {}
    print(f"\n{'median':24}" + "".join(f"{name:>18}" for name in VARIANTS))
    for scenario, key, label in ROWS:
        medians = {
            name: statistics.median(getattr(r, key) for r in results[scenario, name])
            for name in VARIANTS
            if results.get((scenario, name))
        }
        summary[label] = medians
        base = medians.get(EOFRELAY)
        print(
            f"{label:24}"
            + "".join(
                f"{medians[name]:>10.4g}"
                + (f" ({medians[name] / base:.2f}x)" if base else "")
                if name in medians
                else f"{'-':>18}"
                for name in VARIANTS
            )
        )
    path = ROOT / "benchmarks" / "results" / "reactors.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(summary, indent=2))
    print(f"JSON: {path}")


if __name__ == "__main__":
    main()
