"""
L{GpiodPins} against the kernel's simulated GPIO chip (gpio-sim), where the
test machine has it: real lines, real active-low handling by the kernel.
"""

from __future__ import annotations

import os
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from eofrelay.gpio.libgpiod import GpiodPins

CONFIGFS = Path("/sys/kernel/config/gpio-sim")


def _skipReason() -> str | None:
    try:
        import gpiod  # noqa: F401
    except ImportError:
        return "the gpiod package is not installed (pip install 'eofrelay[gpiod]')"
    if not CONFIGFS.is_dir():
        return f"the kernel's gpio-sim is not available here ({CONFIGFS} is missing)"
    if not os.access(CONFIGFS, os.W_OK):
        return f"{CONFIGFS} is not writable by this user"
    return None


class GpioSimTests(SynchronousTestCase):
    """
    Lines of a gpio-sim chip driven through L{GpiodPins}.
    """

    skip = _skipReason()

    def setUp(self) -> None:
        device = CONFIGFS / f"eofrelay-{os.getpid()}"
        bank = device / "gpio-bank0"
        device.mkdir()
        bank.mkdir()
        (bank / "num_lines").write_text("8")
        (bank / "label").write_text("eofrelay-sim")
        (device / "live").write_text("1")

        def remove() -> None:
            (device / "live").write_text("0")
            bank.rmdir()
            device.rmdir()

        self.addCleanup(remove)
        self.chip = (bank / "chip_name").read_text().strip()
        platform = (
            Path("/sys/devices/platform") / (device / "dev_name").read_text().strip()
        )
        self.values = platform / self.chip

    def level(self, line: int) -> str:
        return (self.values / f"sim_gpio{line}" / "value").read_text().strip()

    def test_levels(self) -> None:
        """
        An active-low line is high while off and low while on; an
        active-high one the other way round; released lines are free.
        """
        pins = GpiodPins(f"/dev/{self.chip}")
        pins.setup(1, True, False)
        pins.setup(2, False, False)
        self.assertEqual((self.level(1), self.level(2)), ("1", "0"))
        pins.write(1, True)
        pins.write(2, True)
        self.assertEqual((self.level(1), self.level(2)), ("0", "1"))
        pins.release()
        again = GpiodPins(f"/dev/{self.chip}")
        again.setup(1, False, False)
        again.release()
