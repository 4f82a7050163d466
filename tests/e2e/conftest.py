"""Fixtures for the end-to-end tests: one controller and one Mininet network per test.

Each test's artifacts go to results/e2e/<test-name>/ (controller.log, te.conf,
topology.json).  A failing test also keeps switches/<bridge>.txt with the
flows, groups, meters and port counters of every bridge.  After every test the
controller log is scanned: an OpenFlow error or a traceback fails the test.
"""
import re
import shutil
from pathlib import Path

import pytest

from topologies import lab


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    problem = lab.environment_problem()
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            if problem:
                item.add_marker(pytest.mark.skip(reason=problem))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def _artifacts_dir(node) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name)
    path = lab.RESULTS / name
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


@pytest.fixture
def artifacts(request) -> Path:
    return _artifacts_dir(request.node)


@pytest.fixture
def network(request, artifacts):
    """Call with a Mininet topo (and controller options); returns a started :class:`topologies.lab.Setup`."""
    setups = []

    def start(topo, **controller_options):
        setup = lab.Setup(request.node.name, topo, artifacts, **controller_options)
        setups.append(setup)
        setup.start()
        return setup

    yield start

    failed = any(getattr(request.node, f"rep_{w}", None) is not None and getattr(request.node, f"rep_{w}").failed
                 for w in ("setup", "call"))
    problems = []
    for setup in setups:
        if failed or (setup.controller and setup.controller.log_problems()):
            try:  # while the switches still exist
                setup.dump()
            except Exception as exc:  # a dump must not hide the teardown
                problems.append(f"dump failed: {exc!r}")
        problems += setup.stop()
        bad = setup.controller.log_problems() if setup.controller else []
        if bad:
            problems.append(f"controller log {setup.controller.log_path} has errors:\n  " + "\n  ".join(bad[:20]))
    if problems:
        pytest.fail("teardown: " + "; ".join(problems), pytrace=False)
