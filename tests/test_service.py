"""
Tests for L{eofrelay.wiring.service}: the service listening on real sockets.
"""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.defer import maybeDeferred
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.error import CannotListenError
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import TestCase

from eofrelay.core.bank import RelayBank
from eofrelay.core.statefile import StateFile
from eofrelay.gpio.memory import MemoryPins
from eofrelay.gpio.pinrelay import PinRelay
from eofrelay.tcp.factory import RelayFactory
from eofrelay.wiring.listening import ListenFailed
from eofrelay.wiring.service import RelayService
from tests.sockets import occupiedPort


class RelayServiceTests(TestCase):
    """
    Tests for L{RelayService}.
    """

    def test_lifecycle(self) -> None:
        """
        Started, the service listens; stopped, it stops listening, drives
        every relay off and releases the pins.
        """
        pins = MemoryPins()
        factory = RelayFactory(
            RelayBank([PinRelay("a", pins, 5), PinRelay("b", pins, 6)])
        )
        endpoint = TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
        service = RelayService(factory, [endpoint], pins)
        service.startService()
        [listener] = list(service)
        port = listener._waitingForPort.result
        self.assertTrue(port.getHost().port)
        factory.bank.relay("b").switch(True)
        stopped = service.stopService()

        def check(ignored: object) -> None:
            self.assertEqual(
                pins.history,
                [(5, False), (6, False), (6, True), (5, False), (6, False)],
            )
            self.assertTrue(pins.released)
            self.assertFalse(factory.bank.relay("b").isOn)

        return stopped.addCallback(check)  # type: ignore[return-value]


class ListenFailureTests(TestCase):
    """
    A port the service cannot listen on.
    """

    def test_inUse(self) -> None:
        """
        Starting on a port in use (by L{RelayService.privilegedStartService},
        as twistd does, or L{RelayService.startService}) raises
        L{ListenFailed}, a L{CannotListenError}, and logs why in one
        critical line that names the address.
        """
        port = occupiedPort(self)
        for start in ("privilegedStartService", "startService"):
            factory = RelayFactory(RelayBank([PinRelay("a", MemoryPins(), 5)]))
            endpoint = TCP4ServerEndpoint(reactor, port, interface="127.0.0.1")
            service = RelayService(factory, [endpoint])
            with capturedLogs() as events:
                with self.assertRaises(CannotListenError) as raised:
                    getattr(service, start)()
            self.assertIsInstance(raised.exception, ListenFailed)
            [critical] = [e for e in events if e["log_level"].name == "critical"]
            self.assertEqual(formatEvent(critical), str(raised.exception))
            self.assertIn(
                f"cannot listen on tcp:{port} on 127.0.0.1: address already in use",
                str(raised.exception),
            )

    def test_pinsUntouched(self) -> None:
        """
        A service that cannot listen drives no pin: the pins are set up
        only once every endpoint listens.
        """
        pins = MemoryPins()
        relay = PinRelay("a", pins, 5, on=True, setUp=False)
        factory = RelayFactory(RelayBank([relay]))
        busy = TCP4ServerEndpoint(reactor, occupiedPort(self), interface="127.0.0.1")
        service = RelayService(factory, [busy], pins, setUpPins=relay.setUpPin)
        with capturedLogs():
            self.assertRaises(ListenFailed, service.privilegedStartService)
        self.assertEqual(pins.history, [])

    def test_pinsAfterListening(self) -> None:
        """
        Once every endpoint listens, the pins are set up, once.
        """
        pins = MemoryPins()
        relay = PinRelay("a", pins, 5, on=True, setUp=False)
        factory = RelayFactory(RelayBank([relay]))
        free = TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
        service = RelayService(factory, [free], pins, setUpPins=relay.setUpPin)
        service.privilegedStartService()
        service.startService()
        self.addCleanup(service.stopService)
        self.assertEqual(pins.history, [(5, True)])


class ExitPolicyTests(TestCase):
    """
    What happens to the relays, pulses and state file when the service
    stops.
    """

    def build(self, onExit: str) -> tuple[RelayService, MemoryPins, Clock, str]:
        pins = MemoryPins()
        clock = Clock()
        path = self.mktemp()
        stateFile = StateFile(
            path, lambda function, *args: maybeDeferred(function, *args)
        )
        factory = RelayFactory(
            RelayBank(
                [
                    PinRelay("a", pins, 5),
                    PinRelay("b", pins, 6),
                    PinRelay("c", pins, 7),
                ],
                clock=clock,
                stateFile=stateFile,
            )
        )
        service = RelayService(factory, [], pins, onExit)
        service.startService()
        factory.bank.relay("a").switch(True)
        factory.bank.relay("b").pulse(5000)
        return service, pins, clock, path

    def test_keepEndsBlinksAndLimits(self) -> None:
        """
        With C{keep}, a blink in progress ends back in its state before, and
        a relay on under a max-on limit is switched off: nothing could end
        them once the service is gone.
        """
        pins = MemoryPins()
        clock = Clock()
        bank = RelayBank(
            [PinRelay("a", pins, 5), PinRelay("b", pins, 6)],
            clock=clock,
            maxOn={"b": 60},
        )
        service = RelayService(RelayFactory(bank), [], pins, "keep")
        service.startService()
        bank.relay("a").blink(5, 1000)
        bank.relay("b").switch(True)
        self.successResultOf(service.stopService())
        self.assertEqual([relay.isOn for relay in bank.relays], [False, False])
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_off(self) -> None:
        """
        With C{off}, every relay is driven off, pulses are cancelled, the
        state file keeps what was commanded before, and the pins are
        released.
        """
        service, pins, clock, path = self.build("off")
        with capturedLogs() as events:
            self.successResultOf(service.stopService())
        self.assertEqual(pins.history[-3:], [(5, False), (6, False), (7, False)])
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertTrue(pins.released)
        self.assertEqual(StateFile(path).load(), {"a": True, "b": False, "c": False})
        self.assertEqual(
            [formatEvent(event) for event in events if "relay" in event],
            [
                "relay a switched off (was on) by shutdown: on-exit off",
                "relay b switched off (was on) by shutdown: on-exit off",
                "relay c switched off (was off) by shutdown: on-exit off",
            ],
        )

    def test_offFails(self) -> None:
        """
        With C{off}, a relay that cannot be switched off has its pulse
        cancelled all the same (and logged as such: the relay is still
        on), so that nothing drives it once the pins are released.
        """
        service, pins, clock, _path = self.build("off")

        def stuck(pin: int, on: bool) -> None:
            raise OSError("stuck")

        pins.write = stuck  # type: ignore[method-assign]
        with capturedLogs() as events:
            self.successResultOf(service.stopService())
        self.flushLoggedErrors(OSError)
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertIn(
            "relay b: pulse cancelled (stays on)",
            [formatEvent(event) for event in events],
        )

    def test_keep(self) -> None:
        """
        With C{keep}, relays stay as they are, and their pins keep driving
        them, but a pending pulse ends now, switching its relay off; the
        state file says so.
        """
        service, pins, clock, path = self.build("keep")
        self.successResultOf(service.stopService())
        self.assertEqual(pins.history[-1], (6, False))
        self.assertEqual(
            [r.isOn for r in service.factory.bank.relays], [True, False, False]
        )
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertFalse(pins.released)
        self.assertEqual(pins.levels, {5: True, 6: False, 7: False})
        self.assertEqual(StateFile(path).load(), {"a": True, "b": False, "c": False})

    def test_statesAtStartRecorded(self) -> None:
        """
        The states the relays start in are recorded at start, so that the
        file never holds states older than the running service's: a file
        left saying C{a} is on by an earlier run says off after a start
        with every relay off.
        """
        path = self.mktemp()
        stateFile = StateFile(path, lambda f, *args: maybeDeferred(f, *args))
        stateFile.save({"a": True, "b": True})
        pins = MemoryPins()
        factory = RelayFactory(
            RelayBank(
                [PinRelay("a", pins, 5), PinRelay("b", pins, 6, on=True)],
                clock=Clock(),
                stateFile=stateFile,
            )
        )
        service = RelayService(factory, [], pins)
        service.startService()
        self.assertEqual(StateFile(path).load(), {"a": False, "b": True})
        self.successResultOf(service.stopService())

    def test_keptStatesRecorded(self) -> None:
        """
        With C{--power-on keep}, whose states are known only once the pins
        are set up, the state file records the states read, also when the
        service is started by L{RelayService.startService} alone.
        """
        from eofrelay.wiring.build import setUpPinsKept

        path = self.mktemp()
        stateFile = StateFile(path, lambda f, *args: maybeDeferred(f, *args))
        pins = MemoryPins({5: True})
        relays = [
            PinRelay("a", pins, 5, setUp=False),
            PinRelay("b", pins, 6, setUp=False),
        ]
        bank = RelayBank(relays, clock=Clock(), stateFile=stateFile)
        factory = RelayFactory(bank)
        service = RelayService(
            factory,
            [],
            pins,
            "keep",
            setUpPins=lambda: setUpPinsKept(pins, relays, bank),
        )
        service.startService()
        self.assertEqual(StateFile(path).load(), {"a": True, "b": False})
        self.successResultOf(service.stopService())
        self.assertEqual(pins.outputs, {5: True, 6: False})

    def test_badPolicy(self) -> None:
        """
        Only C{off} and C{keep} are exit policies.
        """
        factory = RelayFactory(RelayBank([PinRelay("a", MemoryPins(), 5)]))
        self.assertRaises(ValueError, RelayService, factory, [], None, "on")


class StateReporterTests(TestCase):
    """
    Tests for L{RelayService.addStateReporter}.
    """

    def test_stoppedAfterExitPolicy(self) -> None:
        """
        A state reporter is a child, started with the service, and stopped
        only once the exit policy has driven the relays (so that it can
        still report it), before the pins are released; the other children
        are stopped first.
        """
        from twisted.application.service import Service
        from twisted.internet.defer import Deferred

        pins = MemoryPins()
        factory = RelayFactory(RelayBank([PinRelay("a", pins, 5)], clock=Clock()))
        service = RelayService(factory, [], pins)
        order: list[str] = []
        stopping: Deferred[None] = Deferred()

        class Recording(Service):
            def __init__(self, name: str) -> None:
                self.name = name

            def stopService(self) -> object:
                super().stopService()
                order.append(f"{self.name} stopped, a {pins.levels[5]}")
                return stopping if self.name == "reporter" else None

        reporter = Recording("reporter")
        service.addStateReporter(reporter)
        Recording("other").setServiceParent(service)
        self.assertIn(reporter, list(service))
        service.startService()
        self.assertTrue(reporter.running)
        factory.bank.relay("a").switch(True)
        stopped = service.stopService()
        self.assertEqual(order, ["other stopped, a True", "reporter stopped, a False"])
        self.assertNoResult(stopped)
        self.assertFalse(pins.released)
        stopping.callback(None)
        self.successResultOf(stopped)
        self.assertTrue(pins.released)
