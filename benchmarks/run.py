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

The one-shot, round-trip and pipelined scenarios run twice: sending
C{on<EOF>} every time (after the first command the relay does not change
any more), and as C{one-shot-switching}, C{round-trip-switching} and
C{pipelined-switching}, with C{on<EOF>} and C{off<EOF>} in turn (the
C{alternate} workload of L{benchmarks.load}), so that the commands really
switch the relay; their table rows end with C{(on/off)}.
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
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Optional

from benchmarks import load

ROOT = Path(__file__).resolve().parent.parent
EOFRELAY = "eofrelay"
#: The baseline of the start-up scenario: a bare Python importing the reactor.
IMPORT_REACTOR = "import-reactor"
REFERENCES = ("lineonly", "asyncio", "socketserver", "floor", IMPORT_REACTOR)
#: The scenarios, in the order they run, and the servers each runs against.
#: A name ending with C{-switching} (L{load.SWITCHING}) runs its scenario
#: with on and off in turn (L{load.splitScenario}); the reference servers
#: do the same work for both commands, so only two of them run it, as
#: yardsticks within the same round.
SCENARIOS: dict[str, tuple[str, ...]] = {
    "one-shot": (EOFRELAY, "lineonly", "asyncio", "socketserver", "floor"),
    "one-shot-switching": (EOFRELAY, "lineonly", "socketserver"),
    "round-trip": (EOFRELAY, "lineonly", "asyncio", "floor"),
    "round-trip-switching": (EOFRELAY, "lineonly", "asyncio"),
    "pipelined": (EOFRELAY, "lineonly", "asyncio", "floor"),
    "pipelined-switching": (EOFRELAY, "lineonly", "asyncio"),
    "idle": (EOFRELAY, "lineonly", "asyncio"),
    "start-up": (EOFRELAY, "lineonly", "asyncio", "socketserver", IMPORT_REACTOR),
}
#: (scenario, result field, label, higher is better) for each table row;
#: the row is named by L{rowLabel}.
METRICS: tuple[tuple[str, str, str, bool], ...] = (
    ("one-shot", "rate", "connections/s", True),
    ("one-shot", "p50_ms", "p50 ms", False),
    ("one-shot", "p99_ms", "p99 ms", False),
    ("one-shot-switching", "rate", "connections/s", True),
    ("one-shot-switching", "p50_ms", "p50 ms", False),
    ("one-shot-switching", "p99_ms", "p99 ms", False),
    ("round-trip", "rate", "replies/s", True),
    ("round-trip", "p50_ms", "p50 ms", False),
    ("round-trip", "p99_ms", "p99 ms", False),
    ("round-trip-switching", "rate", "replies/s", True),
    ("round-trip-switching", "p50_ms", "p50 ms", False),
    ("round-trip-switching", "p99_ms", "p99 ms", False),
    ("pipelined", "rate", "commands/s", True),
    ("pipelined-switching", "rate", "commands/s", True),
    ("idle", "rss_before_kib", "RSS before, KiB", False),
    ("idle", "rss_after_kib", "RSS with idle conns, KiB", False),
    ("idle", "bytes_per_connection", "bytes/connection", False),
    ("start-up", "seconds", "s to first reply", False),
    ("start-up", "rss_after_kib", "RSS at start, KiB", False),
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
    replies/s"}, and C{"round-trip replies/s (on/off)"} for
    C{round-trip-switching}.
    """
    base, commands = load.splitScenario(scenario)
    return f"{base} {label}" + (" (on/off)" if commands != "on" else "")


def freePort() -> int:
    """
    A port the kernel has just handed out for 127.0.0.1, now free again.
    """
    import socket

    with socket.socket() as sock:
        sock.bind((load.HOST, 0))
        return int(sock.getsockname()[1])


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
    scenario: str, name: str, settings: Settings, root: Path = ROOT
) -> tuple[load.Result, str]:
    """
    Start server C{name} from the source tree C{root}, run C{scenario}
    against it, stop it; return the result and the server's command line.
    """
    if name == IMPORT_REACTOR:
        return importReactorSeconds(), 'python -c "import twisted.internet.reactor"'
    base, commands = load.splitScenario(scenario)
    server = Server(name, idle=base == "idle", root=root)
    try:
        if base == "one-shot":
            result = load.oneShot(
                server.port,
                settings.oneShotTotal,
                settings.concurrency,
                server.pid,
                commands=commands,
            )
        elif base in ("round-trip", "pipelined"):
            depth = 1 if base == "round-trip" else settings.depth
            load.persistent(
                server.port,
                settings.concurrency,
                depth,
                settings.warmUp,
                server.pid,
                commands,
            )
            result = load.persistent(
                server.port,
                settings.concurrency,
                depth,
                settings.seconds,
                server.pid,
                commands,
            )
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


#: The targets of the issue: name, table row, the reference server the
#: ratio is taken against (C{None}: eofrelay's own figure), and the bound,
#: a minimum or a maximum.
TARGETS: list[tuple[str, str, Optional[str], str, float]] = [
    ("pipelined ≥ 1.0x asyncio", "pipelined commands/s", "asyncio", "min", 1.0),
    ("pipelined ≥ 2x lineonly", "pipelined commands/s", "lineonly", "min", 2.0),
    ("round trip ≥ 1.0x lineonly", "round-trip replies/s", "lineonly", "min", 1.0),
    ("round-trip p99 ≤ lineonly's", "round-trip p99 ms", "lineonly", "max", 1.0),
    ("one-shot ≥ 0.9x socketserver", "one-shot connections/s", "socketserver",
     "min", 0.9),
    ("idle RSS ≤ 1.15x lineonly", "idle RSS before, KiB", "lineonly", "max", 1.15),
    ("≤ 2.5 KB per idle connection", "idle bytes/connection", None, "max", 2500),
    ("start-up ≤ 1.5x import reactor", "start-up s to first reply", IMPORT_REACTOR,
     "max", 1.5),
]  # fmt: skip


def targets(rows: dict[str, dict[str, object]]) -> list[dict[str, object]]:
    """
    The targets of the issue (L{TARGETS}), each with the figure reached.
    """
    reached = []
    for name, row, reference, kind, bound in TARGETS:
        if reference is None:
            value = rows[row]["medians"].get(EOFRELAY)  # type: ignore[attr-defined]
        else:
            value = rows[row]["ratios"].get(reference)  # type: ignore[attr-defined]
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


def ceiling(rows: dict[str, dict[str, object]], runs: list[dict[str, object]]) -> str:
    """
    How far above eofrelay's figure the load generator drove the fastest
    reference server, for each throughput scenario.
    """
    lines = []
    for label, row in rows.items():
        if row["key"] != "rate":
            continue
        medians: dict[str, object] = row["medians"]  # type: ignore[assignment]
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
    One bar chart per headline metric: the median of each server, with the
    ratio eofrelay / reference written over each reference's bar.
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
        "idle RSS before, KiB",
        "idle bytes/connection",
        "start-up s to first reply",
    ]
    figure, axes = plt.subplots(2, 4, figsize=(16, 7))
    for axis, label in zip(axes.flat, shown, strict=True):
        row = rows[label]
        medians: dict[str, object] = row["medians"]  # type: ignore[assignment]
        ratios: dict[str, float] = row["ratios"]  # type: ignore[assignment]
        names = [
            name for name, value in medians.items() if isinstance(value, float | int)
        ]
        values = [float(medians[name]) for name in names]  # type: ignore[arg-type]
        colours = ["tab:red" if name == EOFRELAY else "tab:grey" for name in names]
        bars = axis.bar(names, values, color=colours)
        for bar, name in zip(bars, names, strict=True):
            if name in ratios:
                axis.annotate(
                    f"{ratios[name]:.2f}x",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
        better = "higher" if row["higherIsBetter"] else "lower"
        axis.set_title(f"{label} ({better} is better)", fontsize=10)
        axis.tick_params(axis="x", labelrotation=20, labelsize=8)
    figure.suptitle(title, fontsize=10)
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
    for rounds in range(repeat):
        for scenario in scenarios:
            names = list(SCENARIOS[scenario])
            shift = rounds % len(names)
            for name in names[shift:] + names[:shift]:
                try:
                    result, command = runOne(scenario, name, settings)
                except Exception as error:
                    result, command = load.Result(scenario), name
                    result.fail(f"{type(error).__name__}: {error}")
                commands[name if scenario != "idle" else f"{name} (idle)"] = command
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
                    f"[{rounds + 1}/{repeat}] {scenario:20} {name:14} "
                    f"{progress(result)}  {status}",
                    flush=True,
                )
                time.sleep(0.2)
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
    if goals:
        print("targets (issue 6):")
        for goal in goals:
            print(
                f"  {'met    ' if goal['met'] else 'NOT MET'}  {goal['target']:32} "
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
