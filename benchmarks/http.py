"""
What the web page and its event stream cost (C{--http}).

  - A page load and one click, in a real browser (headless Chromium, if
    selenium and Chromium are installed): the requests and the bytes each
    way, counted by the server on its connections.
  - The event stream's cost per change per open page, in the reactor
    thread, without I/O: K event streams against K TCP watchers, each fed
    the same changes, as time per change per stream and their ratio in one
    run; and the bytes of one event.

Run from the repository root: python -m benchmarks.http [--streams K] [--changes N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Generator
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import Clock, react
from twisted.internet.testing import StringTransport
from twisted.protocols.policies import ProtocolWrapper

from eofrelay import testing
from eofrelay.commands.interpreter import CommandInterpreter
from eofrelay.core.bank import RelayBank
from eofrelay.http.events import EventHub
from eofrelay.http.service import HTTPListenerFactory, HTTPService, httpSite
from eofrelay.tcp.factory import RelayFactory


class CountingWrapper(ProtocolWrapper):
    """
    Counts the bytes each way, and the requests, of one HTTP connection.
    """

    received = 0
    sent = 0
    requests = 0

    def dataReceived(self, data: bytes) -> None:
        CountingWrapper.received += len(data)
        CountingWrapper.requests += sum(
            data.count(method) for method in (b"GET /", b"POST /", b"HEAD /")
        )
        super().dataReceived(data)

    def write(self, data: bytes) -> None:
        CountingWrapper.sent += len(data)
        super().write(data)

    def writeSequence(self, data: list[bytes]) -> None:  # type: ignore[override]
        CountingWrapper.sent += sum(map(len, data))
        super().writeSequence(data)


def counts() -> tuple[int, int, int]:
    return CountingWrapper.requests, CountingWrapper.received, CountingWrapper.sent


@inlineCallbacks
def browserCosts(reactor: Any) -> Generator[Deferred[Any], Any, None]:
    """
    Load the page in headless Chromium and click once; print what each
    cost.
    """
    from twisted.internet.threads import deferToThread

    from eofrelay.wiring.build import makeService
    from eofrelay.wiring.options import Options

    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        print("page load and click: skipped (no chromium and chromedriver)")
        return
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options as ChromeOptions
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        print("page load and click: skipped (no selenium)")
        return
    options = Options()
    options.parseOptions(
        ["--gpio", "memory", "--listen", "tcp:0:interface=127.0.0.1"]
        + ["--http", "tcp:0:interface=127.0.0.1"]
        + ["--relay", "pump:17", "--relay", "lamp:27", "--relay", "fan:22"]
    )
    service = makeService(options)
    [http] = [child for child in service if isinstance(child, HTTPService)]
    for listener in http.listeners:
        listener.protocol = CountingWrapper
    service.startService()
    [endpoint] = list(http)
    port = endpoint._waitingForPort.result.getHost().port  # type: ignore[attr-defined]
    profile = tempfile.mkdtemp()
    chrome = ChromeOptions()
    chrome.binary_location = str(shutil.which("chromium"))
    for flag in (
        "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage "
        "--no-first-run --disable-background-networking "
        "--disable-component-update --disable-sync"
    ).split():
        chrome.add_argument(flag)
    chrome.add_argument(f"--user-data-dir={profile}")
    driver = yield deferToThread(
        webdriver.Chrome,
        options=chrome,
        service=Service(executable_path=str(shutil.which("chromedriver"))),
    )

    def wait(condition: Callable[[Any], Any]) -> Any:
        return WebDriverWait(driver, 15, poll_frequency=0.02).until(condition)

    try:
        yield deferToThread(driver.get, f"http://127.0.0.1:{port}/")
        yield deferToThread(
            wait,
            lambda d: (
                d.execute_script("return document.body.innerText").count("OFF") == 3
            ),
        )
        loaded = counts()
        button = driver.find_element("css selector", '[aria-label="Switch pump on"]')
        yield deferToThread(button.click)
        yield deferToThread(
            wait,
            lambda d: (
                d.execute_script(
                    "return document.querySelector('li[data-relay=pump] .state')"
                    ".textContent"
                )
                == "on"
            ),
        )
        clicked = counts()
    finally:
        yield deferToThread(driver.quit)
        shutil.rmtree(profile, ignore_errors=True)
        yield service.stopService()
    requests, received, sent = loaded
    print(
        f"page load (3 relays): {requests} requests (the page, the event "
        f"stream), {received} bytes from the browser, {sent} bytes to it"
    )
    print(
        f"one click: {clicked[0] - requests} request, "
        f"{clicked[1] - received} bytes from the browser, "
        f"{clicked[2] - sent} bytes to it (the answer, and the event on the "
        "open stream)"
    )


def streamCost(streams: int, changes: int) -> None:
    """
    Print the cost per change per open page of event streams, against TCP
    watchers, in one run.
    """
    clock = Clock()
    relays = [testing.MemoryRelay(name) for name in ("pump", "lamp")]
    bank = RelayBank(relays, clock=clock)
    commands = CommandInterpreter(bank, None, clock)
    relay = bank.relay("pump")

    def run() -> float:
        start = time.perf_counter()
        for _ in range(changes):
            relay.toggle()
        return time.perf_counter() - start

    base = statistics.median(run() for _ in range(5))
    # Event streams, one per open page.
    events = EventHub(bank, clock)
    factory = HTTPListenerFactory(
        httpSite(commands, events, clock), streams, None, print
    )
    transports = []
    for index in range(streams):
        transport = StringTransport(
            hostAddress=IPv4Address("TCP", "127.0.0.1", 8080),
            peerAddress=IPv4Address("TCP", "127.0.0.1", 40000 + index),
        )
        protocol = factory.buildProtocol(transport.getPeer())
        assert protocol is not None
        protocol.makeConnection(transport)
        protocol.dataReceived(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
        transports.append(transport)
    timings = []
    for _ in range(5):
        for transport in transports:
            transport.clear()
        timings.append(run())
    sse = statistics.median(timings) - base
    eventBytes = len(transports[0].value()) / changes
    events.finishAll()
    bank.relay("pump").changeListeners.remove(events._changed)
    # TCP watchers, as many.
    tcp = RelayFactory(bank, commands=commands, reactor=clock)
    watchers = []
    for _ in range(streams):
        protocol, transport = testing.connect(tcp)
        protocol.dataReceived(b"watch<EOF>")
        watchers.append(transport)
    timings = []
    for _ in range(5):
        for transport in watchers:
            transport.clear()
        timings.append(run())
    watch = statistics.median(timings) - base
    perSSE = sse / changes / streams * 1e6
    perTCP = watch / changes / streams * 1e6
    print(
        f"per change per open page ({streams} streams, {changes} changes, "
        f"median of 5): event stream {perSSE:.2f} us, TCP watcher "
        f"{perTCP:.2f} us, ratio {perSSE / perTCP:.2f}; "
        f"{eventBytes:.0f} bytes per event on the wire (chunked)"
    )


def main(reactor: Any, arguments: argparse.Namespace) -> Deferred[None]:
    streamCost(arguments.streams, arguments.changes)
    return browserCosts(reactor)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--changes", type=int, default=2000)
    react(main, [parser.parse_args()])
