"""
Tests for L{eofrelay._deprecated}: eofrelay 0.1's module names and
C{RelayFactory}'s construction still work, for one release, with a
C{DeprecationWarning}.
"""

from __future__ import annotations

import importlib
import warnings

from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.bank import RelayBank
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay

#: Each old name, and what it is now.
MOVED = {
    ("eofrelay.factory", "RelayFactory"): "eofrelay.tcp.factory",
    ("eofrelay.protocol", "RelayProtocol"): "eofrelay.tcp.protocol",
    ("eofrelay.protocol", "describePeer"): "eofrelay.wire.addresses",
    ("eofrelay.state", "RelayState"): "eofrelay.core.relay",
    ("eofrelay.state", "HardwareFailure"): "eofrelay.core.relay",
    ("eofrelay.service", "RelayService"): "eofrelay.wiring.service",
    ("eofrelay.pinrelay", "PinRelay"): "eofrelay.gpio.pinrelay",
    ("eofrelay.statefile", "StateFile"): "eofrelay.core.statefile",
    ("eofrelay.access", "parseNetwork"): "eofrelay.commands.access",
    ("eofrelay.access", "readTokenFile"): "eofrelay.wire.tokens",
}


class DeprecatedNamesTests(SynchronousTestCase):
    """
    The old modules give their names from the new places.
    """

    def test_moved(self) -> None:
        """
        Each old name is the new object, with a warning that names the new
        place.
        """
        for (old, name), new in MOVED.items():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                value = getattr(importlib.import_module(old), name)
            self.assertIs(value, getattr(importlib.import_module(new), name))
            self.assertEqual([w.category for w in caught], [DeprecationWarning])
            self.assertIn(f"{new}.{name}", str(caught[0].message))

    def test_unknown(self) -> None:
        """
        A name the old module never had is an C{AttributeError}.
        """
        module = importlib.import_module("eofrelay.factory")
        self.assertRaises(AttributeError, getattr, module, "nothing")


class DeprecatedFactoryTests(SynchronousTestCase):
    """
    C{RelayFactory} built as in eofrelay 0.1, from a list of drivers.
    """

    def test_relays(self) -> None:
        """
        A list of drivers is made into a bank, with the bank's arguments,
        and a warning; the factory's old attributes reach the bank.
        """
        a, b = MemoryRelay("a"), MemoryRelay("b")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            factory = RelayFactory([a, b], interlocks=[["a", "b"]], token=b"t")
        self.assertEqual([w.category for w in caught], [DeprecationWarning])
        self.assertEqual([r.driver for r in factory.bank.relays], [a, b])
        self.assertIs(factory.relays, factory.bank.relays)
        self.assertIs(factory.relay("B"), factory.bank.relays[1])
        self.assertEqual(len(factory.interlocks), 1)
        self.assertEqual(factory.token, b"t")
        self.assertIs(factory.commandCounts, factory.commands.commandCounts)
        self.assertEqual(factory.commandedStates(), {"a": False, "b": False})

    def test_bankArgumentsWithBank(self) -> None:
        """
        The bank's arguments given with a bank are an error, not ignored.
        """
        bank = RelayBank([MemoryRelay()])
        self.assertRaises(TypeError, RelayFactory, bank, interlocks=[["a", "b"]])
