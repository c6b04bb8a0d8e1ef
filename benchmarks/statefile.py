"""
The cost of one persisted change (C{--state-file}).

Measures, in a directory given on the command line (default: a temporary
directory next to this file, i.e. on the repository's file system):

  - the blocking write (temp file, fsync, rename, fsync of the directory),
    which runs in a thread, off the reactor;
  - the part that runs in the reactor thread for each change (encoding the
    states and handing them to the thread), with the thread write stubbed.

Run from the repository root: python -m benchmarks.statefile [DIRECTORY] [COUNT]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from twisted.internet.defer import succeed

from eofrelay.core.statefile import StateFile, encodeStates, writeAtomically


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    states = {f"relay{index}": index % 2 == 0 for index in range(8)}
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        path = str(Path(scratch) / "state.json")
        writes = []
        for index in range(count):
            states["relay0"] = index % 2 == 0
            content = encodeStates(states)
            start = time.perf_counter()
            writeAtomically(path, content)
            writes.append(time.perf_counter() - start)

        stateFile = StateFile(path, lambda function, *args: succeed(None))
        inReactor = []
        for index in range(count * 10):
            states["relay0"] = index % 2 == 0
            start = time.perf_counter()
            stateFile.save(states)
            inReactor.append(time.perf_counter() - start)

    print(f"directory: {directory.resolve()}  changes: {count}")
    print(
        "blocking write (in a thread): "
        f"median {statistics.median(writes) * 1e3:.3f} ms, "
        f"p99 {percentile(writes, 0.99) * 1e3:.3f} ms"
    )
    print(
        "reactor thread per change:    "
        f"median {statistics.median(inReactor) * 1e6:.1f} us, "
        f"p99 {percentile(inReactor, 0.99) * 1e6:.1f} us"
    )


if __name__ == "__main__":
    main()
