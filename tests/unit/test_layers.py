"""The layers of the code, checked on its imports.

- ``te/`` is the engine: numpy, scipy and networkx, never Ryu, eventlet, Mininet or the controller.
- The controller's decisions (everything in ``controller/`` but the Ryu shim) import no Ryu or eventlet:
  only ``app.py`` (the Ryu app), ``rest_ryu.py`` (its WSGI glue), ``ryu_fixes.py`` and ``launch.py``
  (the ``te-controller`` command) do. Moving to another OpenFlow framework is an edit of those files.
- Topology descriptions (``topologies/`` outside the Mininet adapter and the lab) need no Ryu or
  eventlet, and Mininet only where they offer a ``Topo`` (an import that may fail).
- Clients (``controller/client``) need neither Ryu nor the server's modules that do.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RYU_SHIM = {"app.py", "rest_ryu.py", "ryu_fixes.py", "launch.py"}
FRAMEWORKS = ("ryu", "eventlet", "mininet", "os_ken")


def imports(path: Path) -> list:
    """``(module, optional)`` of every import in a file; optional when inside ``try: ... except ImportError``."""
    tree = ast.parse(path.read_text(), str(path))
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                for h in node.handlers):
            optional.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in optional) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, id(node) in optional))
    return found


def top(module: str) -> str:
    return module.split(".")[0]


def files(folder: str):
    return sorted((REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("path", files("te"), ids=lambda p: str(p.relative_to(REPO)))
def test_the_engine_imports_no_framework_and_nothing_of_the_controller(path):
    bad = [m for m, _ in imports(path) if top(m) in FRAMEWORKS + ("controller", "topologies")]
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", [p for p in files("controller") if p.name not in RYU_SHIM],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_only_the_ryu_shim_imports_ryu_or_eventlet(path):
    bad = [m for m, _ in imports(path) if top(m) in FRAMEWORKS]
    assert bad == [], f"{path.relative_to(REPO)} imports {bad}: keep Ryu in {sorted(RYU_SHIM)}"


DESCRIPTIONS = ["base.py", "b4.py", "fattree.py", "fromfile.py", "mnboot.py"]


@pytest.mark.parametrize("name", DESCRIPTIONS)
def test_topology_descriptions_need_no_framework(name):
    found = imports(REPO / "topologies" / name)
    assert [m for m, _ in found if top(m) in ("ryu", "eventlet", "controller")] == []
    assert [m for m, optional in found if top(m) == "mininet" and not optional] == []


def test_the_pure_modules_import_with_every_framework_missing():
    """Imported for real in a fresh interpreter where Ryu, eventlet and Mininet cannot be imported."""
    modules = ["te", "te.cli", "controller.core", "controller.rest", "controller.client.intent_cli",
               "topologies.b4", "topologies.fattree", "topologies.fromfile"]
    script = ("import sys\n"
              f"for name in {FRAMEWORKS!r}:\n    sys.modules[name] = None\n"
              f"for module in {modules!r}:\n    __import__(module)\n"
              "from topologies.b4 import b4_graph\nassert b4_graph().number_of_nodes() == 24\n")
    r = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_test_modules_have_unique_names():
    """pytest imports test files by their base name (rootdir-relative "prepend" mode): two files of one
    name in different folders break collection in a clean checkout."""
    names = [p.name for p in (REPO / "tests").rglob("*.py") if p.name not in ("__init__.py", "conftest.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
