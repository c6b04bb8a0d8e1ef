"""
What the MQTT bridge costs per change: eofrelay with and without
C{--mqtt}, side by side in one run, on the switching workload (every
command changes the relay, so every command is a change to publish).

Run from the repository root, with mosquitto installed (C{apt-get install
mosquitto}) and the C{mqtt} extra::

    python -m benchmarks.mqtt [--quick] [--repeat N]

It starts a mosquitto on a free loopback port, then, in each round and in
an order rotated from round to round, eofrelay without and with C{--mqtt}
(C{--gpio memory}, one relay) under the round-trip and pipelined
scenarios with C{on} and C{off} in turn (L{benchmarks.load}).  It prints
the median rates, their ratio, and the extra time per change with
C{--mqtt} (the difference of the inverse rates, in microseconds: the
server is busy all the time under both loads), and writes them to
C{benchmarks/results/mqtt.json}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from benchmarks import load
from benchmarks.frontends import NODE, startBroker, waitUntilOnline
from benchmarks.run import EOFRELAY, QUICK, ROOT, Server, Settings

SCENARIOS = ("round-trip-switching", "pipelined-switching")


def measure(
    scenario: str, extra: list[str], settings: Settings, port: int
) -> load.Result:
    """
    One run of C{scenario} against eofrelay with C{extra} options.
    """
    base, commands = load.splitScenario(scenario)
    depth = 1 if base == "round-trip" else settings.depth
    server = Server(EOFRELAY, extra=extra)
    try:
        if extra:
            waitUntilOnline(port)
        load.persistent(
            server.port, settings.concurrency, depth, settings.warmUp, server.pid,
            commands,
        )  # fmt: skip
        result = load.persistent(
            server.port, settings.concurrency, depth, settings.seconds, server.pid,
            commands,
        )  # fmt: skip
        if not server.alive():
            result.fail("server exited")
    finally:
        server.stop()
    return result


def main() -> None:
    """
    C{python -m benchmarks.mqtt [--quick] [--repeat N]}.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--repeat", type=int, help="rounds (default 3, --quick 1)")
    arguments = parser.parse_args()
    settings = QUICK if arguments.quick else Settings()
    repeat = arguments.repeat or (1 if arguments.quick else 3)
    load.raiseFileLimit()
    with tempfile.TemporaryDirectory() as directory:
        broker, port = startBroker(Path(directory))
        try:
            variants = [
                ("without --mqtt", []),
                ("with --mqtt", ["--mqtt", f"mqtt://127.0.0.1:{port}",
                                 "--mqtt-node-id", NODE]),
            ]  # fmt: skip
            rates: dict[tuple[str, str], list[float]] = {}
            for round in range(repeat):
                order = variants[round % 2 :] + variants[: round % 2]
                for scenario in SCENARIOS:
                    for label, extra in order:
                        result = measure(scenario, extra, settings, port)
                        print(
                            f"[{round + 1}/{repeat}] {scenario:22} {label:16} "
                            f"{result.rate:,.0f}/s {'ok' if result.ok else 'FAILED'}",
                            flush=True,
                        )
                        if result.ok:
                            rates.setdefault((scenario, label), []).append(result.rate)
        finally:
            broker.terminate()
            broker.wait(10)
    summary: dict[str, dict[str, float]] = {}
    print(
        f"\n{'median changes/s':26}{'without --mqtt':>16}{'with --mqtt':>16}"
        f"{'ratio':>8}{'extra per change':>18}"
    )
    for scenario in SCENARIOS:
        without = statistics.median(rates[scenario, "without --mqtt"])
        withMQTT = statistics.median(rates[scenario, "with --mqtt"])
        extraMicroseconds = 1e6 / withMQTT - 1e6 / without
        summary[scenario] = {
            "without": without,
            "with": withMQTT,
            "ratio": withMQTT / without,
            "extra_us_per_change": extraMicroseconds,
        }
        print(
            f"{scenario:26}{without:>16,.0f}{withMQTT:>16,.0f}"
            f"{withMQTT / without:>8.2f}{extraMicroseconds:>15.1f} us"
        )
    path = ROOT / "benchmarks" / "results" / "mqtt.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(summary, indent=2))
    print(f"JSON: {path}")


if __name__ == "__main__":
    main()
