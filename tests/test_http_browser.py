"""
The web page in a real browser: headless Chromium driven by selenium,
against the service of C{twistd eofrelay --http} running on trial's
reactor (the browser is driven from a thread, C{deferToThread}).

Without Chromium, its driver or selenium these tests are skipped, saying
how to install them; under C{CI=true} they fail instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, Optional, TypeVar

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from eofrelay.client import connect
from eofrelay.http.service import HTTPService
from eofrelay.wiring.build import makeService
from eofrelay.wiring.options import Options
from eofrelay.wiring.service import RelayService

T = TypeVar("T")

DOCS = Path(__file__).resolve().parent.parent / "docs"

#: What Chromium needs to run headless as root on a machine without a
#: network beyond loopback (without the background-networking flags it
#: tries to reach Google's services at start).
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--window-size=1000,760",
)

INSTALL = (
    "install Chromium and its driver (Debian: apt-get install chromium "
    "chromium-driver) and selenium (pip install selenium, or pip install "
    "-e '.[test]')"
)

#: The longest wait for anything the page does, in seconds.
WAIT = 15.0
#: How soon a change made elsewhere must show in the page, in seconds.
LIVE = 1.0


def browserMissing() -> Optional[str]:
    """
    Why the browser tests cannot run here, or C{None} if they can.
    """
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            return f"{program} is not on PATH"
    return None


def requireBrowser() -> None:
    """
    Skip the test, or under C{CI=true} fail it, if the browser is missing.
    """
    missing = browserMissing()
    if missing is None:
        return
    message = f"browser tests need a browser: {missing}; {INSTALL}"
    if os.environ.get("CI") == "true":
        raise AssertionError(message)
    raise SkipTest(message)


def startBrowser(width: int = 1000, height: int = 760) -> Any:
    """
    A new headless Chromium, with a fresh profile, its console log kept.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options as ChromeOptions
    from selenium.webdriver.chrome.service import Service

    # Selenium must not look for drivers or browsers on the network.
    os.environ["SE_OFFLINE"] = "true"
    options = ChromeOptions()
    options.binary_location = str(shutil.which("chromium"))
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="eofrelay-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(shutil.which("chromedriver")))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_window_size(width, height)
    driver._eofrelayProfile = profile  # type: ignore[attr-defined]  # for stopBrowser
    return driver


def stopBrowser(driver: Any) -> None:
    driver.quit()
    shutil.rmtree(driver._eofrelayProfile, ignore_errors=True)


def waitFor(driver: Any, condition: Callable[[Any], T], timeout: float = WAIT) -> T:
    """
    Wait until C{condition(driver)} is true, at most C{timeout} seconds.
    """
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        result: T = WebDriverWait(driver, timeout, poll_frequency=0.02).until(condition)
    except TimeoutException:
        page = driver.execute_script("return document.body.innerText")
        console = driver.get_log("browser")
        raise AssertionError(
            f"not within {timeout} seconds; the page shows: {page!r}; "
            f"its console: {console!r}"
        ) from None
    return result


def relayState(driver: Any, name: str) -> Optional[str]:
    """
    The state the page shows for relay C{name}, or C{None} if it shows no
    such relay.
    """
    state: Optional[str] = driver.execute_script(
        "const row = document.querySelector('li.relay[data-relay=\"' + "
        "arguments[0] + '\"]');"
        "return row ? row.querySelector('.state').textContent : null;",
        name,
    )
    return state


def shown(driver: Any, name: str, state: str) -> bool:
    return relayState(driver, name) == state


def visible(driver: Any, elementId: str) -> bool:
    from selenium.webdriver.common.by import By

    return bool(driver.find_element(By.ID, elementId).is_displayed())


def control(driver: Any, label: str) -> Any:
    """
    The control whose accessible name is C{label}.
    """
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'[aria-label="{label}"]')


def pointAway(driver: Any) -> None:
    """
    Move the mouse onto the page's title, so that no control is hovered.
    """
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    title = driver.find_element(By.TAG_NAME, "h1")
    ActionChains(driver).move_to_element(title).perform()


def pumpMessage(driver: Any) -> str:
    """
    The message the page shows beside the relay C{pump}.
    """
    text: str = driver.execute_script(
        "return document.querySelector('li[data-relay=pump] .message').textContent"
    )
    return text


def severeConsoleEntries(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


class BrowserTestCase(TestCase):
    """
    A running service and a browser for each test.
    """

    timeout = 120

    def setUp(self) -> None:
        requireBrowser()

    def startService(self, *arguments: str) -> RelayService:
        options = Options()
        options.parseOptions(
            [
                "--gpio",
                "memory",
                "--listen",
                "tcp:0:interface=127.0.0.1",
                "--http",
                "tcp:0:interface=127.0.0.1",
                "--relay",
                "pump:17",
                "--relay",
                "garden-lights:27",
                "--relay",
                "fan:22",
                *arguments,
            ]
        )
        service = makeService(options)
        service.startService()
        self.addCleanup(lambda: service.running and service.stopService())
        self.service = service
        [self.http] = [c for c in service if isinstance(c, HTTPService)]
        [relay] = [c for c in service if not isinstance(c, HTTPService)][:1]
        self.relayPort = relay._waitingForPort.result.getHost().port
        [listener] = list(self.http)
        self.httpPort = listener._waitingForPort.result.getHost().port
        self.url = f"http://127.0.0.1:{self.httpPort}/"
        return service

    @inlineCallbacks
    def browser(
        self, width: int = 1000, height: int = 760
    ) -> Generator[Deferred[Any], Any, Any]:
        driver = yield deferToThread(startBrowser, width, height)
        self.addCleanup(deferToThread, stopBrowser, driver)
        return driver

    @inlineCallbacks
    def tcpClient(self) -> Generator[Deferred[Any], Any, Any]:
        client = yield connect(reactor, f"tcp:127.0.0.1:{self.relayPort}")
        self.addCleanup(client.disconnect)
        return client

    def relay(self, name: str) -> Any:
        return self.service.factory.bank.relay(name)


class PageTests(BrowserTestCase):
    """
    The page, without a token.
    """

    @inlineCallbacks
    def test_page(self) -> Generator[Deferred[Any], Any, None]:
        """
        The page lists every relay in order with its state; clicking a
        control switches the relay (as a TCP client sees); a change made
        over TCP, or by a pulse's timer, shows within a second without a
        reload; the console has no error; and it makes the screenshot of
        the docs.
        """
        self.startService()
        client = yield self.tcpClient()
        yield client.on("fan")
        driver = yield self.browser()
        yield deferToThread(driver.get, self.url)
        yield deferToThread(waitFor, driver, lambda d: shown(d, "fan", "on"))
        names = yield deferToThread(
            driver.execute_script,
            "return [...document.querySelectorAll('li.relay h2')]"
            ".map(e => e.textContent);",
        )
        self.assertEqual(names, ["pump", "garden-lights", "fan"])
        self.assertEqual(relayState(driver, "pump"), "off")
        yield deferToThread(waitFor, driver, lambda d: visible(d, "link"))
        self.assertEqual(driver.find_element("id", "link").text, "Live")

        # A click switches the relay.
        button = control(driver, "Switch garden-lights on")
        yield deferToThread(button.click)
        yield deferToThread(waitFor, driver, lambda d: self.relay("garden-lights").isOn)
        self.assertEqual((yield client.status("garden-lights")), True)
        yield deferToThread(waitFor, driver, lambda d: shown(d, "garden-lights", "on"))
        yield deferToThread(control(driver, "Toggle pump").click)
        yield deferToThread(waitFor, driver, lambda d: self.relay("pump").isOn)
        yield deferToThread(control(driver, "Switch pump off").click)
        yield deferToThread(waitFor, driver, lambda d: not self.relay("pump").isOn)

        # A change over TCP shows within a second.
        for state in (True, False, True):
            started = time.monotonic()
            yield client.on("pump") if state else client.off("pump")
            yield deferToThread(
                waitFor,
                driver,
                lambda d, s=state: shown(d, "pump", "on" if s else "off"),
                LIVE,
            )
            self.assertLess(time.monotonic() - started, LIVE)

        # A pulse, and its timer's switch-off.
        pulse = control(driver, "Pulse length of fan in seconds")
        yield deferToThread(pulse.clear)
        yield deferToThread(pulse.send_keys, "0.3")
        yield client.off("fan")
        yield deferToThread(waitFor, driver, lambda d: shown(d, "fan", "off"))
        yield deferToThread(control(driver, "Pulse fan").click)
        yield deferToThread(waitFor, driver, lambda d: shown(d, "fan", "on"))
        yield deferToThread(waitFor, driver, lambda d: shown(d, "fan", "off"), 3)
        self.assertFalse(self.relay("fan").isOn)

        self.assertEqual((yield deferToThread(severeConsoleEntries, driver)), [])

        # The screenshot of docs/webui.rst: pump and fan on, lights off,
        # nothing focused.
        yield deferToThread(pulse.clear)
        yield deferToThread(pulse.send_keys, "1")
        yield deferToThread(driver.execute_script, "document.activeElement.blur()")
        yield deferToThread(pointAway, driver)
        yield client.off("garden-lights")
        yield client.on("fan")
        yield deferToThread(waitFor, driver, lambda d: shown(d, "fan", "on"))
        yield deferToThread(waitFor, driver, lambda d: shown(d, "garden-lights", "off"))
        yield deferToThread(driver.save_screenshot, str(DOCS / "webui.png"))

    @inlineCallbacks
    def test_errorInWords(self) -> Generator[Deferred[Any], Any, None]:
        """
        A command that fails is explained in words beside its relay.
        """
        self.startService()
        driver = yield self.browser()
        yield deferToThread(driver.get, self.url)
        yield deferToThread(waitFor, driver, lambda d: shown(d, "pump", "off"))
        pulse = control(driver, "Pulse length of pump in seconds")
        yield deferToThread(pulse.clear)
        yield deferToThread(pulse.send_keys, "100000")
        yield deferToThread(control(driver, "Pulse pump").click)
        message = yield deferToThread(waitFor, driver, pumpMessage)
        self.assertIn("0.001 to 86400 seconds", message)

        def broken(pin: int, on: bool) -> None:
            raise OSError("the relay board does not answer")

        self.patch(self.relay("pump").driver._pins, "write", broken)
        yield deferToThread(control(driver, "Switch pump on").click)
        message = yield deferToThread(
            waitFor, driver, lambda d: "hardware" in pumpMessage(d) and pumpMessage(d)
        )
        self.assertEqual(
            message,
            "Could not switch pump on: the relay's hardware did not respond "
            "(hardware failure).",
        )
        self.flushLoggedErrors()

    @inlineCallbacks
    def test_connectionLost(self) -> Generator[Deferred[Any], Any, None]:
        """
        When the server goes away the page says so; when it comes back the
        page reconnects by itself and is live again.
        """
        self.startService()
        client = yield self.tcpClient()
        driver = yield self.browser()
        yield deferToThread(driver.get, self.url)
        yield deferToThread(waitFor, driver, lambda d: shown(d, "pump", "off"))
        self.assertFalse(visible(driver, "lost"))
        yield self.http.stopService()
        yield deferToThread(waitFor, driver, lambda d: visible(d, "lost"))
        self.assertIn("Connection lost", driver.find_element("id", "lost").text)
        # The server comes back, on the same port; meanwhile a relay
        # changed.
        yield client.on("pump")
        [listener] = list(self.http)
        listener.endpoint = TCP4ServerEndpoint(
            reactor, self.httpPort, interface="127.0.0.1"
        )
        # A stopped listener keeps the port it had; it listens anew only
        # without it.
        listener._waitingForPort = None
        self.http.startService()
        yield deferToThread(waitFor, driver, lambda d: not visible(d, "lost"))
        yield deferToThread(waitFor, driver, lambda d: shown(d, "pump", "on"))
        yield client.off("pump")
        yield deferToThread(waitFor, driver, lambda d: shown(d, "pump", "off"), LIVE)

    @inlineCallbacks
    def test_phone(self) -> Generator[Deferred[Any], Any, None]:
        """
        At 360 px wide, the page does not overflow sideways, and every
        control is on screen and big enough to tap.
        """
        self.startService()
        driver = yield self.browser()
        yield deferToThread(
            driver.execute_cdp_cmd,
            "Emulation.setDeviceMetricsOverride",
            {"width": 360, "height": 780, "deviceScaleFactor": 2, "mobile": True},
        )
        yield deferToThread(driver.get, self.url)
        yield deferToThread(waitFor, driver, lambda d: shown(d, "fan", "off"))
        layout = yield deferToThread(
            driver.execute_script,
            "const controls = [...document.querySelectorAll('button, input')]"
            "  .filter(e => e.offsetParent !== null);"
            "return {width: window.innerWidth,"
            " scroll: document.documentElement.scrollWidth,"
            " right: Math.max(...controls.map(e => e.getBoundingClientRect().right)),"
            " left: Math.min(...controls.map(e => e.getBoundingClientRect().left)),"
            " short: controls.filter(e => e.getBoundingClientRect().height < 40)"
            "  .length,"
            " count: controls.length};",
        )
        self.assertEqual(layout["width"], 360)
        self.assertLessEqual(layout["scroll"], 360)
        self.assertLessEqual(layout["right"], 360)
        self.assertGreaterEqual(layout["left"], 0)
        self.assertEqual(layout["short"], 0)
        self.assertEqual(layout["count"], 3 * 5)
        yield deferToThread(driver.save_screenshot, str(DOCS / "webui-phone.png"))


class TokenTests(BrowserTestCase):
    """
    The page of a server with C{--token-file}.
    """

    @inlineCallbacks
    def test_prompt(self) -> Generator[Deferred[Any], Any, None]:
        """
        The page asks for the token when the server answers 401, says so
        when a wrong one is given, and with the right one lists and
        switches the relays; the token is kept in C{sessionStorage}, never
        in a URL.
        """
        path = self.mktemp()
        with open(path, "w") as file:
            file.write("s3cret-token\n")
        os.chmod(path, 0o600)
        self.startService("--token-file", path)
        driver = yield self.browser()
        yield deferToThread(driver.get, self.url)
        yield deferToThread(waitFor, driver, lambda d: visible(d, "login"))
        self.assertIsNone(relayState(driver, "pump"))
        token = driver.find_element("id", "token")
        yield deferToThread(token.send_keys, "wrong\n")
        yield deferToThread(waitFor, driver, lambda d: visible(d, "login-error"))
        self.assertIn("not accepted", driver.find_element("id", "login-error").text)
        token = driver.find_element("id", "token")
        yield deferToThread(token.send_keys, "s3cret-token\n")
        yield deferToThread(waitFor, driver, lambda d: shown(d, "pump", "off"))
        self.assertFalse(visible(driver, "login"))
        yield deferToThread(control(driver, "Switch pump on").click)
        yield deferToThread(waitFor, driver, lambda d: self.relay("pump").isOn)
        stored = driver.execute_script(
            "return sessionStorage.getItem('eofrelay-token')"
        )
        self.assertEqual(stored, "s3cret-token")
        self.assertNotIn("s3cret", driver.current_url)
        # A reload in the same tab keeps the token.
        yield deferToThread(driver.refresh)
        yield deferToThread(waitFor, driver, lambda d: shown(d, "pump", "on"))
        self.assertFalse(visible(driver, "login"))


class RequireBrowserTests(SynchronousTestCase):
    """
    Without a browser, the browser tests are skipped, saying how to install
    one; under C{CI=true} they fail.
    """

    def setUp(self) -> None:
        self.patch(shutil, "which", lambda program: None)

    def test_skipped(self) -> None:
        """
        Outside CI, a missing browser skips the test, saying what to
        install.
        """
        self.patch(os, "environ", {k: v for k, v in os.environ.items() if k != "CI"})
        error = self.assertRaises(SkipTest, requireBrowser)
        self.assertIn("apt-get install chromium chromium-driver", str(error))

    def test_failsInCI(self) -> None:
        """
        Under C{CI=true}, a missing browser is a failure.
        """
        self.patch(os, "environ", {**os.environ, "CI": "true"})
        error = self.assertRaises(AssertionError, requireBrowser)
        self.assertIn("chromium is not on PATH", str(error))
