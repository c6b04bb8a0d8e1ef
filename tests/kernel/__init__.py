"""
The kernel test group: the libgpiod backend against the real kernel's GPIO
character device, on chips of the kernel's GPIO simulator (gpio-sim).

These tests create and remove gpio-sim chips and trace instances and clear
the kernel's trace buffer, so they run only where C{EOFRELAY_KERNEL_TESTS=1}
says that is wanted: inside the virtual machine that C{.ci/kernel-gpio}
boots.  Anywhere else they are skipped, with a reason that says how to run
them.

C{test_libgpiod} drives L{GpiodPins <eofrelay.gpio.libgpiod.GpiodPins>}
directly; C{test_twistd} runs C{twistd -n eofrelay --gpio gpiod} over TCP;
C{test_keep} proves C{--power-on keep} (the level an output already has
is read, not changed, also across a restart with C{--on-exit keep});
C{test_buttons} proves C{--button}: edges made with gpio-sim's C{pull}
attribute reach the service as presses, debounced, each toggling its
relay on its line.  C{docs/hardware-testing.rst} lists what each proves.
"""
