"""The configuration schema: defaults are valid, mistakes give one line naming the key."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from vgs.config import ConfigError, load_config, validate_config

CONFIGS = [REPO / "config.yaml", *sorted((REPO / "workflow" / "config").glob("*.yaml"))]


@pytest.fixture()
def default() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    assert load_config(path)["seeds"]


def test_unknown_top_level_key_is_named(default):
    default["trian"] = {"epochs": 3}
    with pytest.raises(ConfigError) as error:
        validate_config(default)
    message = str(error.value)
    assert "trian" in message and "\n" not in message


def test_wrong_type_names_the_nested_key(default):
    default["seeds"] = ["one"]
    with pytest.raises(ConfigError, match=r"^config error at seeds\.0: "):
        validate_config(default)


def test_missing_required_section_is_named(default):
    del default["train"]
    with pytest.raises(ConfigError, match="at train: required key is missing"):
        validate_config(default)


def test_every_section_rejects_unknown_keys(default):
    """Each stage schema sets additionalProperties: false, so a typo inside a section is caught."""
    for section, value in default.items():
        if not isinstance(value, dict) or section in {"models", "corpora"}:
            continue
        broken = copy.deepcopy(default)
        broken[section]["no_such_key"] = 1
        with pytest.raises(ConfigError, match=rf"at {section}\.no_such_key: unknown key"):
            validate_config(broken)


def test_defaults_are_filled_without_changing_the_input(default):
    default.pop("seeds")
    before = copy.deepcopy(default)
    filled = validate_config(default)
    assert filled["seeds"] == [1]
    assert default == before


@pytest.mark.slow
def test_snakemake_stops_with_the_key_on_invalid_config(tmp_path):
    """The same one-line message reaches the user through the snakemake command line."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--config", "seeds=[x]"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0
    assert "config error at seeds" in result.stdout + result.stderr
