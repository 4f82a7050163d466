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
