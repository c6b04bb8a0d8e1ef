"""Sphinx configuration for the eofrelay documentation."""

import re
from pathlib import Path

_init = Path(__file__).resolve().parent.parent / "eofrelay" / "__init__.py"
_version = re.search(r'^__version__ = "([^"]+)"', _init.read_text(), re.MULTILINE)

project = "eofrelay"
author = "the eofrelay authors"
copyright = "the eofrelay authors"
release = _version.group(1) if _version else "unknown"
version = release

extensions: list[str] = []
root_doc = "index"
exclude_patterns = ["_build"]
highlight_language = "none"

html_theme = "alabaster"
html_title = f"eofrelay {release}"
html_show_sourcelink = False
