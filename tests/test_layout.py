"""
The layers of the package, as its imports show them: core, commands, front
ends, wiring; C{gpio} the only hardware code; C{wire} what the client
shares with the server.  See C{docs/architecture.rst}.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

PACKAGE = Path(__file__).parent.parent / "eofrelay"

#: What each layer may import of eofrelay, besides itself.
ALLOWED = {
    "wire": set(),
    "core": {"wire", "interfaces"},
    "commands": {"wire", "core", "interfaces"},
    "tcp": {"wire", "core", "commands", "interfaces", "_deprecated"},
    "mqtt": {"wire", "core", "commands", "interfaces"},
    "http": {"wire", "core", "commands", "interfaces", "web"},
    "gpio": {"wire", "interfaces"},
    "web": set(),
    "client": {"wire", "cli"},
    "cli": {"wire", "client", "__init__"},
}


def moduleName(path: Path) -> str:
    """
    The dotted name of a module of the package.
    """
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """
    The eofrelay modules a module imports when it is imported (not those
    imported only for type checking, or inside functions).
    """
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("eofrelay"):
                found.add(node.module)
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    if (
                        PACKAGE.parent / (candidate.replace(".", "/") + ".py")
                    ).exists():
                        found.add(candidate)
        elif isinstance(node, ast.Import):
            found.update(
                alias.name for alias in node.names if alias.name.startswith("eofrelay")
            )
    return found


def layerOf(module: str) -> str:
    """
    C{eofrelay.core.bank} is in the layer C{core}.
    """
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


class LayoutTests(SynchronousTestCase):
    """
    Each layer imports only the layers below it.
    """

    def setUp(self) -> None:
        self.graph = {moduleName(path): imports(path) for path in PACKAGE.rglob("*.py")}

    def test_layers(self) -> None:
        """
        The core imports no command layer, front end, GPIO or wiring code;
        the command layer no front end; the client only the wire.
        """
        wrong = []
        for module, imported in self.graph.items():
            layer = layerOf(module)
            if layer not in ALLOWED:
                continue
            for name in imported:
                other = layerOf(name)
                if other != layer and other not in ALLOWED[layer]:
                    wrong.append(f"{module} imports {name}")
        self.assertEqual(wrong, [])

    def test_noCycles(self) -> None:
        """
        No module imports, through other modules, itself.
        """
        visiting: list[str] = []
        done: set[str] = set()
        cycles: list[list[str]] = []

        def visit(module: str) -> None:
            if module in done:
                return
            if module in visiting:
                cycles.append(visiting[visiting.index(module) :] + [module])
                return
            visiting.append(module)
            for name in sorted(self.graph.get(module, ())):
                if name != module and not module.startswith(name + "."):
                    visit(name)
            visiting.pop()
            done.add(module)

        for module in sorted(self.graph):
            visit(module)
        self.assertEqual(cycles, [])

    def test_hardwareOnlyInGPIO(self) -> None:
        """
        Only the GPIO adapters import a GPIO library.
        """
        users = sorted(
            str(path.relative_to(PACKAGE))
            for path in PACKAGE.rglob("*.py")
            if any(
                library in path.read_text()
                for library in ("import RPi", "import gpiod", "from RPi", "from gpiod")
            )
        )
        self.assertTrue(all(user.startswith("gpio/") for user in users), users)

    def test_clientLoadsNoServer(self) -> None:
        """
        Importing the client and the command-line tool loads no server and
        no GPIO code.
        """
        loaded = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, eofrelay.client, eofrelay.cli; "
                "print(' '.join(m for m in sys.modules if m.startswith('eofrelay')))",
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=PACKAGE.parent,
        ).stdout.split()
        unexpected = [
            module
            for module in loaded
            if module not in ("eofrelay", "eofrelay.cli")
            and not module.startswith("eofrelay.client")
            and not module.startswith("eofrelay.wire")
        ]
        self.assertEqual(unexpected, [])

    def test_testCaseNames(self) -> None:
        """
        Every module's C{test-case-name} names test modules that exist.
        """
        missing = []
        for path in PACKAGE.rglob("*.py"):
            first = path.read_text().partition("\n")[0]
            if "test-case-name:" not in first:
                continue
            names = first.split("test-case-name:")[1].split("-*-")[0].strip()
            for name in names.split(","):
                test = PACKAGE.parent / (name.replace(".", "/") + ".py")
                if not test.exists():
                    missing.append(f"{path.relative_to(PACKAGE)}: {name}")
        self.assertEqual(missing, [])

    def test_noCyclesWithTypeChecking(self) -> None:
        """
        No module imports, through other modules, itself, counting the
        imports made only for type checking too.
        """
        graph = {}
        for path in PACKAGE.rglob("*.py"):
            found = imports(path)
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(
                    node.test
                ):
                    for inner in node.body:
                        if isinstance(inner, ast.ImportFrom) and inner.module:
                            if inner.module.startswith("eofrelay"):
                                found.add(inner.module)
            graph[moduleName(path)] = found
        self.graph = graph
        self.test_noCycles()


class MQTTLayoutTests(SynchronousTestCase):
    """
    The MQTT front end's use of paho-mqtt.
    """

    def test_pahoOnlyInClient(self) -> None:
        """
        Only C{eofrelay/mqtt/client.py} imports paho-mqtt, so that the
        bridge is tested without it and the options load without it.
        """
        users = sorted(
            str(path.relative_to(PACKAGE))
            for path in PACKAGE.rglob("*.py")
            if any(f"{word} paho" in path.read_text() for word in ("import", "from"))
        )
        self.assertEqual(users, ["mqtt/client.py", "wiring/options.py"])

    def test_noLoopStart(self) -> None:
        """
        paho's own network thread is never started: the reactor drives it.
        """
        source = (PACKAGE / "mqtt" / "client.py").read_text()
        for call in ("loop_start(", "loop_forever(", ".loop("):
            self.assertNotIn(call, source)
