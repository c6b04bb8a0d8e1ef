"""
eofrelay side by side with what a user would otherwise write.

Run from the repository root::

    python -m benchmarks.run [--quick] [--repeat N] [--json PATH] [--plot PATH]

Each scenario starts each server under test as a fresh subprocess on
127.0.0.1 and drives it with L{benchmarks.load}; the servers take turns
within each repeat (in a rotated order), and the table shows medians over
the repeats and the ratios eofrelay / reference.  eofrelay runs the way a
user runs it: C{twistd -n eofrelay}, default logging (to a file), simulated
GPIO, with the working tree's C{eofrelay} first on C{PYTHONPATH}.

The headline is the workload users have: commands that really switch the
relay, C{on<EOF>} and C{off<EOF>} in turn (the C{alternate} workload of
L{benchmarks.load}; the scenarios C{one-shot-switching},
C{round-trip-switching}, C{pipelined-switching} and C{idle-switching},
whose table rows end with C{(on/off)}).  The same scenarios sending
C{on<EOF>} every time, after which the relay does not change any more,
follow as the rows ending with C{(on only)}.  C{front-ends-switching}
runs the switching round trip against eofrelay with and without its
other front ends busy: C{--mqtt} with a local mosquitto, and C{--http}
with one open C{/api/events} stream (L{benchmarks.eventstream}).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Optional

from benchmarks import load
from benchmarks.frontends import EventStream, FrontEnds, waitUntilOnline
from benchmarks.load import freePort

ROOT = Path(__file__).resolve().parent.parent
EOFRELAY = "eofrelay"
#: The baseline of the start-up scenario: a bare Python importing the reactor.
IMPORT_REACTOR = "import-reactor"
#: eofrelay with its other front ends busy beside the TCP load: the MQTT
#: bridge publishing to a local mosquitto, and one open event stream of
#: the HTTP API (a web page).
FRONT_ENDS = "eofrelay+mqtt+page"
REFERENCES = ("lineonly", "asyncio", "socketserver", "floor", IMPORT_REACTOR)
#: The scenarios, in the order they run, and the servers each runs against.
#: A name ending with C{-switching} (L{load.SWITCHING}) runs its scenario
#: with on and off in turn (L{load.splitScenario}): the headline, first.
#: The reference servers do the same work for both commands.
SCENARIOS: dict[str, tuple[str, ...]] = {
    "one-shot-switching": (EOFRELAY, "lineonly", "asyncio", "socketserver", "floor"),
    "round-trip-switching": (EOFRELAY, "lineonly", "asyncio", "floor"),
    "pipelined-switching": (EOFRELAY, "lineonly", "asyncio", "floor"),
    "idle-switching": (EOFRELAY, "lineonly", "asyncio"),
    "one-shot": (EOFRELAY, "lineonly", "asyncio", "socketserver", "floor"),
    "round-trip": (EOFRELAY, "lineonly", "asyncio", "floor"),
    "pipelined": (EOFRELAY, "lineonly", "asyncio", "floor"),
    "idle": (EOFRELAY, "lineonly", "asyncio"),
    "start-up": (EOFRELAY, "lineonly", "asyncio", "socketserver", IMPORT_REACTOR),
    "front-ends-switching": (EOFRELAY, FRONT_ENDS),
}
#: The rows of each kind of scenario: (result field, label, higher is
#: better); the row is named by L{rowLabel}.
_LATENCIES = (("p50_ms", "p50 ms", False), ("p99_ms", "p99 ms", False))
_ROWS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "one-shot": (("rate", "connections/s", True), *_LATENCIES),
    "round-trip": (("rate", "replies/s", True), *_LATENCIES),
    "pipelined": (("rate", "commands/s", True),),
    "idle": (
        ("rss_before_kib", "RSS before, KiB", False),
        ("rss_after_kib", "RSS with idle conns, KiB", False),
        ("bytes_per_connection", "bytes/connection", False),
        ("rss_used_kib", "RSS after a command each, KiB", False),
        ("bytes_per_used_connection", "bytes/connection after a command", False),
    ),
    "start-up": (
        ("seconds", "s to first reply", False),
        ("rss_after_kib", "RSS at start, KiB", False),
    ),
    "front-ends": (
        ("rate", "round-trip replies/s", True),
        ("p99_ms", "round-trip p99 ms", False),
    ),
}
#: (scenario, result field, label, higher is better) for each table row.
METRICS: tuple[tuple[str, str, str, bool], ...] = tuple(
    (scenario, key, label, higher)
    for scenario in SCENARIOS
    for key, label, higher in _ROWS[load.splitScenario(scenario)[0]]
)


@dataclass
class Settings:
    """
    How big each scenario is.
    """

    oneShotTotal: int = 20_000
    concurrency: int = 50
    seconds: float = 5.0
    depth: int = 32
    idleConnections: int = 5_000
    settle: float = 1.0
    #: Seconds of the same load, not measured, before a round-trip or
    #: pipelined run, so that every server is measured warm.
    warmUp: float = 1.0


QUICK = Settings(
    oneShotTotal=2_000, seconds=1.0, idleConnections=500, settle=0.3, warmUp=0.3
)


def rowLabel(scenario: str, label: str) -> str:
    """
    The table's name for the row C{label} of C{scenario}: C{"round-trip
    replies/s (on/off)"} for C{round-trip-switching}, C{"round-trip
    replies/s (on only)"} for C{round-trip}; start-up sends no command.
    """
    base, commands = load.splitScenario(scenario)
    if base == "start-up":
        return f"{base} {label}"
    return f"{base} {label}" + (" (on/off)" if commands != "on" else " (on only)")


def serverCommand(
    name: str, port: int, idle: bool, extra: Sequence[str] = ()
) -> list[str]:
    """
    The command line that runs server C{name} on C{port}, with C{extra}
    options for eofrelay.
    """
    if name.startswith(EOFRELAY):
        twistd = [str(Path(sys.executable).parent / "twistd")]
        if name == f"{EOFRELAY}-asyncio":
            twistd.append("--reactor=asyncio")
        elif name == f"{EOFRELAY}-uvloop":
            twistd = [sys.executable, "-m", "benchmarks.twistd_uvloop"]
        command = [
            *twistd,
            "-n",
            "--pidfile=",
            "eofrelay",
            "--listen",
            f"tcp:{port}:interface=127.0.0.1:backlog=1024",
            "--gpio",
            "memory",
        ]
        return command + (["--max-connections", "6000"] if idle else []) + [*extra]
    return [sys.executable, "-m", "benchmarks.reference_servers", name, str(port)]


def environment(root: Path = ROOT) -> dict[str, str]:
    """
    The servers' environment: the source tree C{root} (the working tree by
    default) first on C{PYTHONPATH}.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(root)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    return env


class Server:
    """
    A server under test, running as a subprocess until L{stop}.

    @ivar startup: Seconds from starting the process to its first right
        reply.
    """

    def __init__(
        self,
        name: str,
        idle: bool = False,
        extra: Sequence[str] = (),
        root: Path = ROOT,
    ) -> None:
        """
        Start server C{name} from the source tree C{root} on a free port,
        with C{extra} options for eofrelay, and wait until it answers
        (C{ping} for eofrelay, C{on} for the others).

        @raise RuntimeError: if it does not start, with the tail of its
            output.
        """
        self.name = name
        message, reply = (
            (b"ping<EOF>", b"pong<EOF>")
            if name.startswith(EOFRELAY)
            else (load.REQUEST, load.REPLY)
        )
        for _attempt in range(3):
            self.port = freePort()
            self.command = serverCommand(name, self.port, idle, extra)
            self.output: IO[bytes] = tempfile.TemporaryFile(prefix="eofrelay-bench-")
            started = time.perf_counter()
            self.process = subprocess.Popen(
                self.command,
                cwd=root,
                env=environment(root),
                stdin=subprocess.DEVNULL,
                stdout=self.output,
                stderr=subprocess.STDOUT,
            )
            try:
                ready = load.probe(self.port, message, reply, alive=self.alive)
            except (OSError, ValueError) as error:
                tail = self.stop()
                if "Address already in use" in tail:
                    continue
                raise RuntimeError(f"{name} did not start: {error}\n{tail}") from None
            except BaseException:
                self.stop()
                raise
            self.startup = ready - started
            return
        raise RuntimeError(f"{name}: no free port after 3 attempts")

    @property
    def pid(self) -> int:
        """
        The server's process id.
        """
        return self.process.pid

    def alive(self) -> bool:
        """
        Whether the process is still running.
        """
        return self.process.poll() is None

    def stop(self) -> str:
        """
        Stop the process (SIGTERM, then SIGKILL after 10 s); return the
        last lines of its output.
        """
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.output.seek(0, os.SEEK_END)
        self.output.seek(max(0, self.output.tell() - 2000))
        tail = self.output.read().decode(errors="replace")
        self.output.close()
        return tail


def importReactorSeconds() -> load.Result:
    """
    The start-up baseline: C{python -c "import twisted.internet.reactor"}.
    """
    result = load.Result("start-up")
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", "import twisted.internet.reactor"],
        cwd=ROOT,
        env=environment(),
        check=False,
    )
    result.seconds = time.perf_counter() - started
    if completed.returncode:
        result.fail(f"exit status {completed.returncode}")
    return result


def runOne(
    scenario: str,
    name: str,
    settings: Settings,
    root: Path = ROOT,
    frontEnds: Optional[FrontEnds] = None,
) -> tuple[load.Result, str]:
    """
    Start server C{name} from the source tree C{root}, run C{scenario}
    against it, stop it; return the result and the server's command line.

    @param frontEnds: The broker for L{FRONT_ENDS}.
    """
    if name == IMPORT_REACTOR:
        return importReactorSeconds(), 'python -c "import twisted.internet.reactor"'
    if name == FRONT_ENDS:
        if frontEnds is None:
            raise RuntimeError("no broker for the MQTT bridge")
        return runFrontEnds(scenario, settings, root, frontEnds)
    base, commands = load.splitScenario(scenario)
    server = Server(name, idle=base == "idle", root=root)
    try:
        if base == "front-ends":
            result = roundTrip(server, settings, commands)
        elif base == "one-shot":
            result = load.oneShot(
                server.port,
                settings.oneShotTotal,
                settings.concurrency,
                server.pid,
                commands=commands,
            )
        elif base in ("round-trip", "pipelined"):
            depth = 1 if base == "round-trip" else settings.depth
            result = persistent(server, settings, depth, commands)
        elif base == "idle":
            result = load.idle(
                server.port,
                server.pid,
                settings.idleConnections,
                settle=settings.settle,
                commands=commands,
            )
        else:
            time.sleep(settings.settle)
            result = load.Result("start-up", seconds=server.startup)
            result.rss_after_kib = load.rssKiB(server.pid)
        if not server.alive():
            result.fail(f"server exited with status {server.process.returncode}")
    finally:
        tail = server.stop()
    if not result.ok:
        result.notes.append(f"server output ends: {tail[-600:]}")
    return result, " ".join(server.command)


def persistent(
    server: Server, settings: Settings, depth: int, commands: str
) -> load.Result:
    """
    The round-trip (C{depth} 1) or pipelined scenario against C{server},
    after the same load for L{Settings.warmUp} seconds, not measured.
    """
    for seconds in (settings.warmUp, settings.seconds):
        result = load.persistent(
            server.port, settings.concurrency, depth, seconds, server.pid, commands
        )
    return result


def roundTrip(server: Server, settings: Settings, commands: str) -> load.Result:
    """
    The round-trip scenario against C{server}.
    """
    return persistent(server, settings, 1, commands)


def runFrontEnds(
    scenario: str, settings: Settings, root: Path, frontEnds: FrontEnds
) -> tuple[load.Result, str]:
    """
    The round trip of C{scenario} against eofrelay with its other front
    ends busy: its MQTT bridge connected to the broker of C{frontEnds},
    and one event stream of its HTTP API open all along, which must see
    events.
    """
    commands = load.splitScenario(scenario)[1]
    httpPort = freePort()
    server = Server(FRONT_ENDS, extra=frontEnds.options(httpPort), root=root)
    stream: Optional[EventStream] = None
    try:
        waitUntilOnline(frontEnds.brokerPort)
        stream = EventStream(httpPort, root)
        result = roundTrip(server, settings, commands)
        read = stream.stop()
        stream = None
        events = read.get("events")
        if not isinstance(events, int) or events < 2:
            result.fail(f"the event stream read {read}")
        else:
            result.notes.append(f"event stream: {events} events")
        if not server.alive():
            result.fail(f"server exited with status {server.process.returncode}")
    finally:
        if stream is not None:
            stream.stop()
        tail = server.stop()
    if not result.ok:
        result.notes.append(f"server output ends: {tail[-600:]}")
    return result, " ".join(server.command)


def median(runs: list[dict[str, object]], scenario: str, name: str, key: str) -> object:
    """
    The median of C{key} over the successful runs of C{name} in C{scenario};
    C{None} where there is none, C{"FAILED"} where every run failed.
    """
    mine = [
        run for run in runs if run["scenario"] == scenario and run["server"] == name
    ]
    values = [
        run["result"][key]  # type: ignore[index]
        for run in mine
        if run["ok"] and run["result"][key] is not None  # type: ignore[index]
    ]
    if values:
        return statistics.median(values)  # type: ignore[type-var]
    return "FAILED" if any(not run["ok"] for run in mine) else None


def summarise(runs: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    """
    Medians and ratios (eofrelay / reference) for each table row.
    """
    rows: dict[str, dict[str, object]] = {}
    for scenario, key, label, higherIsBetter in METRICS:
        medians = {
            name: median(runs, scenario, name, key) for name in SCENARIOS[scenario]
        }
        if scenario == "start-up" and key != "seconds":
            medians.pop(IMPORT_REACTOR)
        ours = medians.get(EOFRELAY)
        ratios = {
            name: ours / value
            for name, value in medians.items()
            if name != EOFRELAY
            and isinstance(ours, float | int)
            and isinstance(value, float | int)
            and value
        }
        rows[rowLabel(scenario, label)] = {
            "scenario": scenario,
            "key": key,
            "higherIsBetter": higherIsBetter,
            "medians": medians,
            "ratios": ratios,
        }
    return rows


#: The targets of issue 20, on the switching workload: name, table row,
#: what eofrelay's figure is compared with, and the bound, a minimum or a
#: maximum.  The comparison is a reference server's figure in the same row
#: (the row's ratio), C{None} (eofrelay's figure itself), C{"row:LABEL"}
#: (eofrelay's own figure in row LABEL) or C{"over:NAME"} (server NAME's
#: figure over eofrelay's, in the same row).
TARGETS: list[tuple[str, str, Optional[str], str, float]] = [
    ("round trip ≥ 1.0x lineonly", "round-trip replies/s (on/off)", "lineonly",
     "min", 1.0),
    ("round-trip p99 ≤ 1.2x lineonly", "round-trip p99 ms (on/off)", "lineonly",
     "max", 1.2),
    ("pipelined ≥ 0.5x lineonly", "pipelined commands/s (on/off)", "lineonly",
     "min", 0.5),
    ("pipelined ≥ 0.8x its on only", "pipelined commands/s (on/off)",
     "row:pipelined commands/s (on only)", "min", 0.8),
    ("one-shot ≥ 0.9x lineonly", "one-shot connections/s (on/off)", "lineonly",
     "min", 0.9),
    ("≤ 2.5 KB per used idle connection",
     "idle bytes/connection after a command (on/off)", None, "max", 2500),
    ("idle RSS ≤ 1.15x lineonly", "idle RSS before, KiB (on/off)", "lineonly",
     "max", 1.15),
    ("with MQTT and a page ≥ 0.8x without",
     "front-ends round-trip replies/s (on/off)", f"over:{FRONT_ENDS}", "min", 0.8),
]  # fmt: skip
#: Also reported: the stretch target of issue 20, and the idle RSS with
#: the used connections held (the target takes the idle server's RSS, as
#: issue 6 did).
ALSO = [
    ("stretch: pipelined ≥ 1.0x lineonly", "pipelined commands/s (on/off)",
     "lineonly", "min", 1.0),
    ("RSS with used idle conns ≤ 1.15x", "idle RSS after a command each, KiB (on/off)",
     "lineonly", "max", 1.15),
]  # fmt: skip


def targetValue(
    rows: dict[str, dict[str, object]], row: str, against: Optional[str]
) -> object:
    """
    The figure reached for a target on C{row} (see L{TARGETS}), or
    C{None} where a figure is missing.
    """
    if row not in rows:
        return None
    medians: dict[str, object] = rows[row]["medians"]  # type: ignore[assignment]
    ours = medians.get(EOFRELAY)
    if against is None:
        return ours
    if against.startswith("row:"):
        other = rows.get(against[len("row:") :], {}).get("medians", {})
        theirs = other.get(EOFRELAY)  # type: ignore[attr-defined]
        pair = (ours, theirs)
    elif against.startswith("over:"):
        pair = (medians.get(against[len("over:") :]), ours)
    else:
        return rows[row]["ratios"].get(against)  # type: ignore[attr-defined]
    top, bottom = pair
    if isinstance(top, float | int) and isinstance(bottom, float | int) and bottom:
        return top / bottom
    return None


def targets(
    rows: dict[str, dict[str, object]],
    goals: Sequence[tuple[str, str, Optional[str], str, float]] = TARGETS,
) -> list[dict[str, object]]:
    """
    The targets (L{TARGETS}), each with the figure reached.
    """
    reached = []
    for name, row, against, kind, bound in goals:
        value = targetValue(rows, row, against)
        met = isinstance(value, float | int) and (
            value >= bound if kind == "min" else value <= bound
        )
        reached.append({"target": name, "value": value, "met": met})
    return reached


def formatNumber(value: object) -> str:
    """
    A table cell: about 3 significant figures, thousands as C{k}, millions
    as C{M}.
    """
    if not isinstance(value, float | int):
        return "-" if value is None else str(value)
    for size, suffix in ((1e6, "M"), (1e3, "k"), (1.0, "")):
        scaled = value / size
        if abs(scaled) >= 1 or not suffix:
            digits = 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
            return f"{scaled:.{digits}f}{suffix}"
    raise AssertionError("unreachable")


def table(rows: dict[str, dict[str, object]], runs: list[dict[str, object]]) -> str:
    """
    The printed table: medians per server (C{!}: a run failed and is left
    out), then the ratios eofrelay / reference.
    """
    names = (EOFRELAY, *REFERENCES)
    short = {"socketserver": "socketsrv", IMPORT_REACTOR: "import"}
    width = max(len(row) for row in rows) + 1
    lines = [
        "median".ljust(width)
        + "".join(short.get(name, name).rjust(10) for name in names)
        + " |"
        + "".join(("/" + short.get(name, name)).rjust(11) for name in REFERENCES)
    ]
    for label, row in rows.items():
        if FRONT_ENDS in row["medians"]:  # type: ignore[operator]
            continue
        medians: dict[str, object] = row["medians"]  # type: ignore[assignment]
        ratios: dict[str, float] = row["ratios"]  # type: ignore[assignment]
        failed = {
            run["server"]
            for run in runs
            if run["scenario"] == row["scenario"] and not run["ok"]
        }
        cells = [
            (
                formatNumber(medians[name]) + ("!" if name in failed else "")
                if name in medians
                else ""
            )
            for name in names
        ]
        ratioCells = [
            f"{ratios[name]:.2f}" if name in ratios else "" for name in REFERENCES
        ]
        lines.append(
            label.ljust(width)
            + "".join(cell.rjust(10) for cell in cells)
            + " |"
            + "".join(cell.rjust(11) for cell in ratioCells)
        )
    return "\n".join(lines)


def frontEndsTable(rows: dict[str, dict[str, object]]) -> str:
    """
    The front-ends rows: eofrelay without and with its other front ends
    busy (L{FRONT_ENDS}), and their ratio.
    """
    lines = [
        f"eofrelay without and with --mqtt (a local mosquitto) and one open "
        f"/api/events stream ({FRONT_ENDS}):"
    ]
    for label, row in rows.items():
        medians: dict[str, object] = row["medians"]  # type: ignore[assignment]
        if FRONT_ENDS not in medians:
            continue
        without, withThem = medians.get(EOFRELAY), medians.get(FRONT_ENDS)
        ratio = (
            f"{withThem / without:.2f}x"
            if isinstance(without, float | int)
            and isinstance(withThem, float | int)
            and without
            else "-"
        )
        lines.append(
            f"  {label}: {formatNumber(without)} without, "
            f"{formatNumber(withThem)} with: {ratio}"
        )
    return "\n".join(lines)


def ceiling(rows: dict[str, dict[str, object]], runs: list[dict[str, object]]) -> str:
    """
    How far above eofrelay's figure the load generator drove the fastest
    reference server, for each throughput scenario.
    """
    lines = []
    for label, row in rows.items():
        medians: dict[str, object] = row["medians"]  # type: ignore[assignment]
        if row["key"] != "rate" or FRONT_ENDS in medians:
            continue
        numbers = {
            name: value
            for name, value in medians.items()
            if name != EOFRELAY and isinstance(value, float | int)
        }
        ours = medians.get(EOFRELAY)
        if not numbers or not isinstance(ours, float | int) or not ours:
            continue
        fastest = max(numbers, key=lambda name: numbers[name])
        cpu = [
            run["result"]["clientCpu"]  # type: ignore[index]
            for run in runs
            if run["scenario"] == row["scenario"] and run["server"] == fastest
        ]
        lines.append(
            f"  {label}: {fastest} {formatNumber(numbers[fastest])} = "
            f"{numbers[fastest] / ours:.1f}x eofrelay's {formatNumber(ours)} "
            f"(load generator CPU {statistics.median(cpu):.0%} of a core)"
        )
    return "load generator ceiling (fastest reference vs eofrelay):\n" + "\n".join(
        lines
    )


def plot(rows: dict[str, dict[str, object]], path: Path, title: str) -> None:
    """
    One bar chart per headline metric: for each server the median with
    the switching workload (solid) and with C{on} only (hatched, lighter),
    with the ratio eofrelay / reference of the switching workload written
    over each reference's bar.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [
        "one-shot connections/s",
        "one-shot p99 ms",
        "round-trip replies/s",
        "round-trip p99 ms",
        "pipelined commands/s",
        "idle RSS after a command each, KiB",
        "idle bytes/connection after a command",
        "front-ends round-trip replies/s",
    ]
    figure, axes = plt.subplots(2, 4, figsize=(17, 7.5))
    for axis, label in zip(axes.flat, shown, strict=True):
        switching = rows.get(f"{label} (on/off)", {})
        onOnly = rows.get(f"{label} (on only)", {})
        medians: dict[str, object] = switching.get("medians", {})  # type: ignore[assignment]
        ratios: dict[str, float] = switching.get("ratios", {})  # type: ignore[assignment]
        others: dict[str, object] = onOnly.get("medians", {})  # type: ignore[assignment]
        names = [
            name for name, value in medians.items() if isinstance(value, float | int)
        ]
        positions = range(len(names))
        values = [float(medians[name]) for name in names]  # type: ignore[arg-type]
        colours = [
            "tab:red" if name.startswith(EOFRELAY) else "tab:grey" for name in names
        ]
        width = 0.4 if others else 0.8
        offset = -width / 2 if others else 0.0
        bars = axis.bar(
            [p + offset for p in positions], values, width, color=colours,
            label="on/off",
        )  # fmt: skip
        if others:
            axis.bar(
                [p + width / 2 for p in positions],
                [float(v) if isinstance(v := others.get(name), float | int) else 0.0
                 for name in names],
                width, color=colours, alpha=0.4, hatch="//", label="on only",
            )  # fmt: skip
        for bar, name in zip(bars, names, strict=True):
            ratio = ratios.get(name)
            if label.startswith("front-ends") and name != EOFRELAY:
                ours = medians.get(EOFRELAY)
                ratio = (
                    float(medians[name]) / ours  # type: ignore[arg-type]
                    if isinstance(ours, float | int) and ours
                    else None
                )
            if ratio is not None:
                axis.annotate(
                    f"{ratio:.2f}x",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
        axis.set_xticks(list(positions), names)
        higher = switching.get("higherIsBetter", True)
        better = "higher" if higher else "lower"
        axis.set_title(f"{label} ({better} is better)", fontsize=10)
        axis.tick_params(axis="x", labelrotation=20, labelsize=8)
        if others:
            axis.legend(fontsize=7)
    figure.suptitle(
        title + "\nsolid: on/off in turn (every command switches); hatched: on only;"
        " front ends: with / without --mqtt and an open /api/events page",
        fontsize=10,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def progress(result: load.Result) -> str:
    """
    The headline figures of one run, for the progress lines.
    """
    if load.splitScenario(result.scenario)[0] == "idle":
        return (
            f"RSS {formatNumber(result.rss_before_kib)} -> "
            f"{formatNumber(result.rss_after_kib)} KiB, "
            f"{formatNumber(result.bytes_per_connection)} B/connection"
        )
    if result.scenario == "start-up":
        return f"{result.seconds:.3f} s, RSS {formatNumber(result.rss_after_kib)} KiB"
    return (
        f"{formatNumber(result.rate)}/s, p50 {formatNumber(result.p50_ms)} ms, "
        f"p99 {formatNumber(result.p99_ms)} ms, CPU server "
        f"{formatNumber(result.serverCpu)} client {formatNumber(result.clientCpu)}"
    )


def gitRevision() -> str:
    """
    The commit of the code under test, with C{+dirty} if C{eofrelay/} or
    the plugin has uncommitted changes.
    """

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--", "eofrelay", "twisted")
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")


def codeFingerprint() -> str:
    """
    A hash of eofrelay's source files, to notice a change during a run.
    """
    digest = hashlib.sha256()
    for path in sorted([*ROOT.glob("eofrelay/**/*.py"), *ROOT.glob("twisted/**/*.py")]):
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def runAll(
    scenarios: Sequence[str],
    repeat: int,
    settings: Settings,
    frontEnds: Optional[FrontEnds],
    runs: list[dict[str, object]],
    commands: dict[str, str],
) -> None:
    """
    Run C{repeat} rounds of C{scenarios}, each server of each in an order
    rotated from round to round, adding each run to C{runs} and each
    server's command line to C{commands}, and printing its figures.
    """
    for rounds in range(repeat):
        for scenario in scenarios:
            names = list(SCENARIOS[scenario])
            shift = rounds % len(names)
            for name in names[shift:] + names[:shift]:
                try:
                    result, command = runOne(
                        scenario, name, settings, frontEnds=frontEnds
                    )
                except Exception as error:
                    result, command = load.Result(scenario), name
                    result.fail(f"{type(error).__name__}: {error}")
                idle = load.splitScenario(scenario)[0] == "idle"
                commands[f"{name} (idle)" if idle else name] = command
                outcome = result.asDict()
                runs.append(
                    {
                        "round": rounds,
                        "scenario": scenario,
                        "server": name,
                        "ok": result.ok,
                        "result": outcome,
                    }
                )
                status = (
                    "ok" if result.ok else f"FAILED: {'; '.join(result.notes)[:500]}"
                )
                print(
                    f"[{rounds + 1}/{repeat}] {scenario:20} {name:18} "
                    f"{progress(result)}  {status}",
                    flush=True,
                )
                time.sleep(0.2)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """
    Run every scenario against every server, print the table, write the
    JSON and the plot; exit with 1 if any run failed.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--repeat", type=int, help="rounds (default 3, --quick 1)")
    parser.add_argument("--json", type=Path, help="where to write the results")
    parser.add_argument("--plot", type=Path, help="where to write the PNG")
    parser.add_argument(
        "--scenario", action="append", choices=list(SCENARIOS), help="only these"
    )
    arguments = parser.parse_args(argv)
    settings = QUICK if arguments.quick else Settings()
    repeat = arguments.repeat or (1 if arguments.quick else 3)
    results = ROOT / "benchmarks" / "results"
    jsonPath = arguments.json or results / (
        "quick.json" if arguments.quick else "latest.json"
    )
    plotPath = arguments.plot or (
        results / "quick.png" if arguments.quick else ROOT / "docs" / "benchmarks.png"
    )
    scenarios = arguments.scenario or list(SCENARIOS)
    load.raiseFileLimit()
    loadBefore = os.getloadavg()
    fingerprint = codeFingerprint()
    started = time.time()
    runs: list[dict[str, object]] = []
    commands: dict[str, str] = {}
    with ExitStack() as stack:
        frontEnds: Optional[FrontEnds] = None
        if any(SCENARIOS[scenario].count(FRONT_ENDS) for scenario in scenarios):
            try:
                frontEnds = stack.enter_context(FrontEnds())
            except RuntimeError as error:
                print(f"no front-ends scenario: {error}", flush=True)
        runAll(scenarios, repeat, settings, frontEnds, runs, commands)
    changed = codeFingerprint() != fingerprint
    rows = summarise(runs)
    goals = targets(rows) if not arguments.scenario else []
    failures = [run for run in runs if not run["ok"]]
    title = (
        f"eofrelay {gitRevision()} vs reference servers, medians of {repeat} "
        f"({'quick' if arguments.quick else 'full'}), {time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} cores, load {loadBefore[0]:.1f}; "
        "over the bars: eofrelay / reference"
    )
    print()
    print(title)
    print(table(rows, runs))
    print()
    print(ceiling(rows, runs))
    if any(FRONT_ENDS in row["medians"] for row in rows.values()):  # type: ignore[operator]
        print()
        print(frontEndsTable(rows))
    also = targets(rows, ALSO) if goals else []
    for heading, listed in (
        ("targets (issue 20, the switching workload, on/off):", goals),
        ("also reported:", also),
    ):
        if listed:
            print(heading)
        for goal in listed:
            print(
                f"  {'met    ' if goal['met'] else 'NOT MET'}  {goal['target']:36} "
                f"{formatNumber(goal['value'])}"
            )
    if changed:
        print("WARNING: eofrelay's source changed during the run; run it again")
    for run in failures:
        print(
            f"FAILED: {run['scenario']} {run['server']} (round {run['round']}): "
            f"{run['result']['notes']}"  # type: ignore[index]
        )
    jsonPath.parent.mkdir(parents=True, exist_ok=True)
    jsonPath.write_text(
        json.dumps(
            {
                "meta": {
                    "title": title,
                    "revision": gitRevision(),
                    "sourceFingerprint": fingerprint,
                    "sourceChangedDuringRun": changed,
                    "python": sys.version,
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "loadavgBefore": loadBefore,
                    "loadavgAfter": os.getloadavg(),
                    "seconds": time.time() - started,
                    "repeat": repeat,
                    "settings": vars(settings),
                    "commands": commands,
                },
                "table": rows,
                "targets": goals,
                "alsoReported": also,
                "runs": runs,
            },
            indent=1,
        )
    )
    print(f"JSON: {jsonPath}")
    try:
        plot(rows, plotPath, title)
        print(f"plot: {plotPath}")
    except ImportError:
        print("no plot: pip install matplotlib")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
