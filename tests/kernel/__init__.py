"""
The kernel test group: the libgpiod backend against the real kernel's GPIO
character device, on chips of the kernel's GPIO simulator (gpio-sim).

These tests create and remove gpio-sim chips and clear the kernel's trace
buffer, so they run only where C{EOFRELAY_KERNEL_TESTS=1} says that is
wanted: inside the virtual machine that C{.ci/kernel-gpio} boots.  Anywhere
else they are skipped, with a reason that says how to run them.
"""
