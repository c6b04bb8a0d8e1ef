"""
eofrelay's other front ends, busy beside a TCP load: the MQTT bridge
connected to a local mosquitto, and the HTTP API with one open event
stream, as a web page keeps it open.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Optional

from benchmarks import load

#: The MQTT node id of the benchmarks' eofrelay.
NODE = "bench"


def startBroker(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    """
    Start mosquitto on a free port of 127.0.0.1, without persistence.

    @raise RuntimeError: if it is not installed or does not start.
    """
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        raise RuntimeError("no mosquitto: apt-get install mosquitto")
    port = load.freePort()
    config = directory / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "user root\n"
    )
    broker = subprocess.Popen(
        [binary, "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            load._connect(port, timeout=0.1).close()
            return broker, port
        except OSError:
            time.sleep(0.05)
    broker.kill()
    raise RuntimeError("mosquitto did not start")


def availability(port: int) -> bytes:
    """
    What the benchmarks' eofrelay last said on its availability topic.

    @raise RuntimeError: if paho-mqtt is not installed.
    """
    try:
        from paho.mqtt import subscribe
    except ImportError:
        raise RuntimeError("no paho-mqtt: pip install '.[mqtt]'") from None
    message = subscribe.simple(
        f"eofrelay/{NODE}/availability", hostname="127.0.0.1", port=port
    )
    assert not isinstance(message, list)
    return bytes(message.payload)


def waitUntilOnline(port: int, seconds: float = 10.0) -> None:
    """
    Wait until the bridge of the benchmarks' eofrelay said C{online}.

    @raise RuntimeError: if it did not within C{seconds}.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if availability(port) == b"online":
            return
        time.sleep(0.05)
    raise RuntimeError("the MQTT bridge did not connect")


class EventStream:
    """
    An open C{/api/events} stream (L{benchmarks.eventstream}), in a process
    of its own, until L{stop}.
    """

    def __init__(self, port: int, root: Path) -> None:
        """
        Open the stream of eofrelay's HTTP API on C{port} and wait until
        its headers have arrived.

        @raise RuntimeError: if it does not open.
        """
        self.output: IO[bytes] = tempfile.TemporaryFile(prefix="eofrelay-events-")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.eventstream", str(port)],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=self.output,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != b"reading":
            raise RuntimeError(f"the event stream did not open: {self._errors()}")

    def _errors(self) -> str:
        self.output.seek(0)
        return self.output.read()[-400:].decode(errors="replace")

    def stop(self) -> dict[str, object]:
        """
        Close the stream; return what it read (L{benchmarks.eventstream}).
        """
        self.process.terminate()
        stdout, _ = self.process.communicate(timeout=10)
        self.output.close()
        lines = stdout.decode().splitlines()
        return json.loads(lines[-1]) if lines else {"events": 0}


class FrontEnds:
    """
    A mosquitto for the MQTT bridge, while this is open (C{with}).
    """

    broker: Optional[subprocess.Popen[bytes]] = None
    brokerPort = 0

    def __enter__(self) -> FrontEnds:
        self._directory = tempfile.TemporaryDirectory()
        try:
            self.broker, self.brokerPort = startBroker(Path(self._directory.name))
        except BaseException:
            self._directory.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.broker is not None:
            self.broker.terminate()
            self.broker.wait(10)
        self._directory.cleanup()

    def options(self, httpPort: int) -> list[str]:
        """
        The options that give eofrelay its other front ends: C{--mqtt} to
        the broker, C{--http} on C{httpPort}.
        """
        return [
            "--mqtt",
            f"mqtt://127.0.0.1:{self.brokerPort}",
            "--mqtt-node-id",
            NODE,
            "--http",
            f"tcp:{httpPort}:interface=127.0.0.1",
        ]
