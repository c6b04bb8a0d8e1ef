"""
The kernel test group: the libgpiod backend against the real kernel's GPIO
character device, on chips of the kernel's GPIO simulator (gpio-sim).

These tests create and remove gpio-sim chips and clear the kernel's trace
buffer, so they run only where C{EOFRELAY_KERNEL_TESTS=1} says that is
wanted: inside the virtual machine that C{.ci/kernel-gpio} boots.  Anywhere
else they are skipped, with a reason that says how to run them.

TODO (issue 19, not landed yet): C{--power-on keep} (the level an output
already has is read, not changed) and buttons (edges made with gpio-sim's
C{pull} attribute reach the reactor as presses, debounced) get their kernel
tests here; C{docs/hardware-testing.rst} lists them as not yet proven.
"""
