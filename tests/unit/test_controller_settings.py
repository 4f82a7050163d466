import configparser
from dataclasses import fields
from pathlib import Path

import pytest

from controller.settings import Settings

SAMPLE = Path(__file__).resolve().parents[2] / "etc" / "te.conf"


def test_sample_config_lists_every_option_with_its_default():
    cp = configparser.ConfigParser()
    cp.read(SAMPLE)
    section = cp["te"]
    assert set(section) - set(cp.defaults()) == {f.name for f in fields(Settings)}  # [DEFAULT] holds Ryu's options
    for f in fields(Settings):
        raw = section[f.name]
        value = {"str": str, "float": float, "int": int}[f.type](raw)
        assert value == f.default, f.name


def test_from_mapping_and_validation():
    s = Settings.from_mapping({f.name: f.default for f in fields(Settings)} | {"max_paths": 4})
    assert s.max_paths == 4
    with pytest.raises(ValueError, match="max_paths"):
        Settings(max_paths=0)
    with pytest.raises(ValueError, match="arp_settle_seconds"):
        Settings(arp_settle_seconds=-1)


def test_te_options_are_validated():
    with pytest.raises(ValueError, match="te_objective"):
        Settings(te_objective="ecmp")
    with pytest.raises(ValueError, match="te_headroom"):
        Settings(te_headroom=1.0)
    with pytest.raises(ValueError, match="te_paths"):
        Settings(te_paths=8, te_wcmp_budget=4)
    assert Settings(te_objective="max-min-fast", te_interval=0).te_interval == 0


def test_te_paths_auto_by_default_and_its_bounds():
    assert Settings().te_paths == "auto" and Settings(te_paths="3").te_paths == 3
    with pytest.raises(ValueError, match="te_paths must be auto or a whole number"):
        Settings(te_paths="many")
    with pytest.raises(ValueError, match="te_max_paths"):
        Settings(te_max_paths=80, te_wcmp_budget=64)
    with pytest.raises(ValueError, match="te_max_paths"):
        Settings(te_max_paths=0)


def test_te_alpha_is_a_number_at_least_zero():
    assert Settings(te_objective="alpha-fair", te_alpha=2.0).te_alpha == 2.0
    for bad in (-1.0, float("nan"), float("inf"), "x", 6.0):
        with pytest.raises(ValueError, match="te_alpha"):
            Settings(te_alpha=bad)
