"""
C{python -m eofrelay.client}: the same as C{eofrelay-cli}.
"""

from eofrelay.cli import run

run()
