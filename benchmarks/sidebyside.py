"""
Variants of eofrelay measured side by side: the servers take turns within
each round, in an order rotated from round to round, and the medians are
printed as ratios to the first variant.  L{benchmarks.reactors} and
L{benchmarks.compare} are built on it.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from benchmarks import load
from benchmarks.run import ROOT, Settings, formatNumber, runOne


class Variant(NamedTuple):
    """
    One server under test.

    @ivar label: How the table names it.
    @ivar name: The server's name for L{runOne} (which command runs it).
    @ivar root: The source tree it runs from.
    """

    label: str
    name: str
    root: Path = ROOT


#: A table row: the scenario, the L{load.Result} attribute and the label.
#: A scenario named with C{-switching} (C{round-trip-switching}) runs with
#: on and off in turn (L{load.splitScenario}).
Row = tuple[str, str, str]


def sideBySide(
    variants: Sequence[Variant],
    rows: Sequence[Row],
    settings: Settings,
    repeat: int,
    jsonPath: Path,
) -> dict[str, dict[str, float]]:
    """
    Run the scenarios of C{rows} against every variant, C{repeat} rounds,
    print the progress and the table of medians with their ratios to the
    first variant, and write the medians as JSON to C{jsonPath}.

    @return: The medians, by row label and variant label.
    """
    load.raiseFileLimit()
    results: dict[tuple[str, str], list[load.Result]] = {}
    count = len(variants)
    scenarios = list(dict.fromkeys(row[0] for row in rows))
    scenarioWidth = max(10, *(len(scenario) for scenario in scenarios))
    for round in range(repeat):
        order = [*variants[round % count :], *variants[: round % count]]
        for scenario in scenarios:
            for variant in order:
                result, _ = runOne(scenario, variant.name, settings, variant.root)
                print(
                    f"[{round + 1}/{repeat}] {scenario:{scenarioWidth}} "
                    f"{variant.label:24} "
                    f"{result.rate:,.0f}/s {'ok' if result.ok else 'FAILED'}",
                    flush=True,
                )
                if result.ok:
                    results.setdefault((scenario, variant.label), []).append(result)
    labels = [variant.label for variant in variants]
    width = max(18, *(len(label) + 2 for label in labels))
    first = max(28, *(len(row[2]) + 1 for row in rows))
    summary: dict[str, dict[str, float]] = {}
    print(f"\n{'median':{first}}" + "".join(f"{label:>{width}}" for label in labels))
    for scenario, key, rowLabel in rows:
        medians = {
            label: statistics.median(
                getattr(result, key) for result in results[scenario, label]
            )
            for label in labels
            if results.get((scenario, label))
        }
        summary[rowLabel] = medians
        base = medians.get(labels[0])
        cells = []
        for label in labels:
            if label not in medians:
                cells.append(f"{'-':>{width}}")
                continue
            ratio = f" ({medians[label] / base:.2f}x)" if base else ""
            cells.append(f"{formatNumber(medians[label]) + ratio:>{width}}")
        print(f"{rowLabel:{first}}" + "".join(cells))
    jsonPath.parent.mkdir(exist_ok=True)
    jsonPath.write_text(json.dumps(summary, indent=2))
    print(f"JSON: {jsonPath}")
    return summary
