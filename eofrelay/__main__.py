"""
C{python -m eofrelay}: the same as the C{eofrelay} command.
"""

from eofrelay.wiring.command import main

if __name__ == "__main__":
    main()
