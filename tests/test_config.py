"""The configuration schema: defaults are valid, mistakes give one line naming the key."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from vgs.config import ConfigError, load_config, model_train_section, validate_config

SHIPPED = REPO / "workflow" / "config"
# Overlays are layered on a base by a second --configfile; they are not configurations alone.
OVERLAYS = {
    SHIPPED / "ablation.yaml": REPO / "config.yaml",
    SHIPPED / "study.yaml": REPO / "config.yaml",
    SHIPPED / "rehearsal.yaml": SHIPPED / "paper.yaml",
    SHIPPED / "speech_models.yaml": REPO / "config.yaml",
}
CONFIGS = [REPO / "config.yaml", *sorted(set(SHIPPED.glob("*.yaml")) - set(OVERLAYS))]


@pytest.fixture()
def default() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    assert load_config(path)["seeds"]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_shipped_overlays_are_valid_on_their_base(overlay):
    """Layered as `--configfile base overlay` layers them: Snakemake's key-by-key update."""
    assert validate_config(layered(OVERLAYS[overlay], overlay))["seeds"]


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


@pytest.mark.parametrize(
    ("old", "new"), [("encoders", "speech_models"), ("features.image.encoder", "features.image.backbone")]
)
def test_a_renamed_key_is_named_with_its_new_name(default, old, new):
    """A configuration written before the four "encoders" got distinct names is told the new key."""
    broken = copy.deepcopy(default)
    *parents, key = old.split(".")
    section = broken
    for parent in parents:
        section = section[parent]
    section[key] = section.pop(new.split(".")[-1], {}) if parents else {}
    with pytest.raises(ConfigError, match=rf"^config error at {old}: renamed; call it {new}$"):
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
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "config error at seeds" in result.stdout + result.stderr


def layered(*paths) -> dict:
    """Config files merged key by key, later ones overriding earlier ones (as Snakemake does)."""
    from snakemake.utils import update_config

    merged: dict = {}
    for path in paths:
        update_config(merged, yaml.safe_load(path.read_text()))
    return merged


def test_per_model_train_overrides_reach_that_models_settings_only():
    config = validate_config(layered(REPO / "config.yaml", SHIPPED / "ablation.yaml"))
    assert model_train_section(config, "k5-bucketed")["bucket"] is True
    assert model_train_section(config, "k5-bf16")["precision"] == "bf16"
    reference = model_train_section(config, "world-coco-k5")  # the world's subset model: shared section
    assert (reference["bucket"], reference["precision"], reference["epochs"]) == (False, "fp32", 24)
    assert model_train_section(config, "coco") == config["train"]  # no overrides: the shared section


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"precision": "fp8"}, r"^config error at models\.coco\.train\.precision: 'fp8' is not one of"),
        ({"bukcet": True}, r"^config error at models\.coco\.train\.bukcet: unknown key"),
        ({"threads": 4}, r"^config error at models\.coco\.train\.threads: a rule setting"),
    ],
)
def test_bad_per_model_train_override_is_named(default, override, message):
    default["models"]["coco"]["train"] = override
    with pytest.raises(ConfigError, match=message):
        validate_config(default)
