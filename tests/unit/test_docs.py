"""The generated docs are what their generators write now, and the examples agree with each other.

docs/rest.md comes from docs/openapi.yaml (scripts/gen_rest_docs.py) and docs/configuration.md from
controller/settings.py (scripts/gen_config_docs.py): when one of these tests fails, run the script
named in the message and commit the result.
"""
import doctest
import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from controller.client.intent_file import read_intent_file
from controller.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rest_docs():
    return load_script("gen_rest_docs")


@pytest.fixture(scope="module")
def config_docs():
    return load_script("gen_config_docs")


def test_rest_reference_is_generated_from_the_openapi_file(rest_docs):
    expected = rest_docs.render(yaml.safe_load((REPO / "docs" / "openapi.yaml").read_text()))
    assert (REPO / "docs" / "rest.md").read_text() == expected, \
        "docs/rest.md is out of date: run .venv/bin/python scripts/gen_rest_docs.py"


def test_every_operation_has_examples(rest_docs):
    spec = yaml.safe_load((REPO / "docs" / "openapi.yaml").read_text())
    operations = {(method, path) for path, item in spec["paths"].items()
                  for method in item if method in rest_docs.METHODS}
    assert operations - rest_docs.EXAMPLES.keys() == set(), "add curl/te-intent examples to scripts/gen_rest_docs.py"
    assert rest_docs.EXAMPLES.keys() - operations == set(), "examples for operations the API no longer has"


def test_configuration_reference_is_generated_from_the_settings(config_docs):
    text = (REPO / "docs" / "configuration.md").read_text()
    assert text == config_docs.render(), \
        "docs/configuration.md is out of date: run .venv/bin/python scripts/gen_config_docs.py"
    for f in Settings.__dataclass_fields__.values():
        assert f"| `{f.name}` |" in text


@pytest.mark.parametrize("name", ["gen_rest_docs", "gen_config_docs"])
def test_generator_doctests(name):
    result = doctest.testmod(load_script(name))
    assert result.failed == 0 and result.attempted > 0


def test_sample_intents_oversubscribe_and_match_the_te_solve_demands():
    from controller.client.intent_file import read_apply_file

    applied = read_apply_file(str(REPO / "examples" / "b4-intents.yaml"))
    intents = list(applied.intents)
    document = json.loads((REPO / "examples" / "b4-demands.json").read_text())
    as_demands = [{"id": i.name, "src": "h" + i.src.rsplit(".", 1)[1], "dst": "h" + i.dst.rsplit(".", 1)[1],
                   "rate_bps": i.rate_bps, "weight": i.weight, "priority": i.priority,
                   **({"group": i.group} if i.group else {})} for i in intents]
    assert document["demands"] == as_demands
    assert document["groups"] == [{k: v for k, v in g.request().items()} for g in applied.groups]
    # te-solve has no classes: the guaranteed intent is served first there by being in the top priority class
    assert all(i.priority == max(j.priority for j in intents) for i in intents if i.guaranteed)
    assert len({i.priority for i in intents}) > 1 and len({i.weight for i in intents}) > 1
    assert any(i.match.ip_proto is not None for i in intents)


def test_te_solve_of_the_examples_leaves_some_demands_partial():
    import te
    from te.io import read_demand_file, read_topology

    graph = read_topology(str(REPO / "examples" / "b4-9mbit.json"))
    demands, groups = read_demand_file(str(REPO / "examples" / "b4-demands.json"), graph)
    solution = te.solve(graph, demands, objective="max-min", k=4, groups=groups)
    allocated = dict(zip((d.id for d in demands), solution.allocated_bps.tolist()))
    # Priorities 2 and 1 in full; the 5 Mbit/s left on the west-east cut shared 3:1 by the group batch (capped at
    # 3 Mbit/s) and backup, batch's 3 split 1:3 between bulk-a and bulk-b.
    expected = {"video": 5e6, "voice": 2e6, "web": 6e6, "bulk-a": 0.75e6, "bulk-b": 2.25e6, "backup": 2e6,
                "replica": 3e6, "sync": 4e6}
    assert allocated == pytest.approx(expected, rel=1e-6)
