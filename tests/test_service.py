"""
Tests for L{eofrelay.service}: the service listening on real sockets.
"""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.trial.unittest import TestCase

from eofrelay.factory import RelayFactory
from eofrelay.gpio.memory import MemoryPins
from eofrelay.pinrelay import PinRelay
from eofrelay.service import RelayService


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
        factory = RelayFactory([PinRelay("a", pins, 5), PinRelay("b", pins, 6)])
        endpoint = TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
        service = RelayService(factory, [endpoint], pins)
        service.startService()
        [listener] = list(service)
        port = listener._waitingForPort.result  # type: ignore[attr-defined]
        self.assertTrue(port.getHost().port)
        self.successResultOf(factory.relay("b").switch(True))
        stopped = service.stopService()

        def check(ignored: object) -> None:
            self.assertEqual(
                pins.history,
                [(5, False), (6, False), (6, True), (5, False), (6, False)],
            )
            self.assertTrue(pins.released)
            self.assertFalse(factory.relay("b").isOn)

        return stopped.addCallback(check)  # type: ignore[return-value]
