"""Load and validate the workflow configuration against the JSON schemas in ``workflow/schemas``.

Why our own wrapper rather than ``snakemake.utils.validate`` alone: a researcher who mistypes a key
should get one line naming that key (``config error at train.epochs: 'x' is not of type
'integer'``), not a page of jsonschema internals; and the schema is split per stage
(``config.schema.yaml`` references ``sts.schema.yaml`` and so on), which needs a registry that
resolves those file references. Defaults written in the schemas are filled in, so rules can rely on
every optional key being present.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
MAIN_SCHEMA = "config.schema.yaml"
#: The shipped full-scale configuration: the paper's corpora, model and training.
PAPER_CONFIG = SCHEMA_DIR.parent / "config" / "paper.yaml"
#: Keys of ``train:`` that size the Snakemake rules (requests), not the training itself.
TRAIN_RULE_KEYS = ("gpus", "threads", "runtime", "mem_mb", "submissions")
#: Keys that were renamed (old dotted path -> new), so that an older configuration gets the new
#: name in its error: "encoder" named four different things (the model's halves keep it).
RENAMED_KEYS = {"encoders": "speech_models", "features.image.encoder": "features.image.backbone"}


class ConfigError(ValueError):
    """Invalid configuration; the message is one line naming the offending key."""


def _load_schema(name: str) -> dict[str, Any]:
    with open(SCHEMA_DIR / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@functools.cache
def _registry() -> Registry:
    """The schemas, read once per process (every training job's settings are validated with them)."""
    resources = [
        (path.name, Resource.from_contents(_load_schema(path.name), default_specification=DRAFT202012))
        for path in sorted(SCHEMA_DIR.glob("*.schema.yaml"))
    ]
    return Registry().with_resources(resources)


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(part) for part in error.absolute_path]
    if error.validator == "additionalProperties":
        # The offending key is not in the path; jsonschema puts it in the message only.
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        parts.append(extra[0] if extra else "?")
    elif error.validator == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        parts.append(missing[0] if missing else "?")
    return ".".join(parts) or "<top level>"


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        return "unknown key (check its spelling against workflow/schemas)"
    if error.validator == "required":
        return "required key is missing"
    return error.message.splitlines()[0]


def _fill_defaults(instance: Any, schema: Mapping[str, Any], registry: Registry) -> None:
    """Insert ``default`` values of absent properties, recursing into objects and $refs."""
    if "$ref" in schema:
        schema = registry.resolver().lookup(schema["$ref"]).contents
    if not isinstance(instance, dict):
        return
    for key, subschema in schema.get("properties", {}).items():
        if "$ref" in subschema:
            subschema = registry.resolver().lookup(subschema["$ref"]).contents
        if key not in instance and "default" in subschema:
            instance[key] = copy.deepcopy(subschema["default"])
        if key in instance:
            _fill_defaults(instance[key], subschema, registry)
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(value, additional, registry)


@functools.cache
def _schema_defaults(name: str) -> dict[str, Any]:
    section: dict[str, Any] = {}
    _fill_defaults(section, _load_schema(name), _registry())
    return section


def schema_defaults(name: str) -> dict[str, Any]:
    """What schema ``name`` fills into an empty section: every default it states.

    Why: the schemas are the one place where the paper's architecture (``model.schema.yaml``: the
    named ``sizes``) and training settings (``train.schema.yaml``) are written; the dataclasses
    that carry them in code (:class:`vgs.model.ModelConfig`, :class:`vgs.train.loop.TrainConfig`)
    take their defaults from here instead of repeating the numbers.
    """
    return copy.deepcopy(_schema_defaults(name))


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return a validated copy of ``config`` with schema defaults filled in.

    Raises :class:`ConfigError` with a single line ``config error at <key.path>: <reason>``.
    """
    for old, new in RENAMED_KEYS.items():
        *parents, key = old.split(".")
        section: Any = config
        for parent in parents:
            section = section.get(parent) if isinstance(section, Mapping) else None
        if isinstance(section, Mapping) and key in section:
            raise ConfigError(f"config error at {old}: renamed; call it {new}")
    registry = _registry()
    schema = _load_schema(MAIN_SCHEMA)
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema, registry=registry, format_checker=validator_cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(list(e.absolute_path)), e.path))
    if errors:
        # Prefer the most specific error (deepest path) among the errors at the shallowest level
        # that still names a key, so ``oneOf`` noise does not hide the real culprit.
        best = jsonschema.exceptions.best_match(errors)
        raise ConfigError(f"config error at {_key_path(best)}: {_message(best)}")
    filled = copy.deepcopy(dict(config))
    _fill_defaults(filled, schema, registry)
    for model in filled.get("models", {}):
        model_train_section(filled, model, registry)
    if "study" in filled:
        train_section(filled, filled["study"]["train"], "study.train", registry)
    return filled


def model_train_section(config: Mapping[str, Any], model: str, registry: Registry | None = None) -> dict[str, Any]:
    """The ``train:`` section for ``model`` of ``models:``: the shared one with the model's ``train`` overrides."""
    overrides = config.get("models", {}).get(model, {}).get("train", {})
    return train_section(config, overrides, f"models.{model}.train", registry)


def train_section(
    config: Mapping[str, Any], overrides: Mapping[str, Any], where: str, registry: Registry | None = None
) -> dict[str, Any]:
    """The shared ``train:`` section with ``overrides`` (found at config key ``where``) applied.

    Why checked here and not by the schema: a ``$ref`` to train.schema.yaml would fill in every
    default and so override the shared section with defaults. Raises :class:`ConfigError` naming
    ``<where>.<key>`` for an invalid or rule-level key.
    """
    rule_level = sorted(set(overrides) & set(TRAIN_RULE_KEYS))
    if rule_level:
        raise ConfigError(f"config error at {where}.{rule_level[0]}: a rule setting, set it in train: for every model")
    merged = {**config["train"], **overrides}
    train_schema = (registry or _registry()).resolver().lookup("train.schema.yaml").contents
    validator_cls = jsonschema.validators.validator_for(train_schema)
    error = jsonschema.exceptions.best_match(validator_cls(train_schema).iter_errors(merged))
    if error is not None:
        raise ConfigError(f"config error at {where}.{_key_path(error)}: {_message(error)}")
    return merged


def subset_models(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Models trained on the captions-per-image subsets, named ``<source>-k<k>``."""
    subsets = config.get("subsets")
    if not subsets:
        return {}
    return {
        f"{subsets['source']}-k{k}": {"corpus": subsets["source"], "subset_k": k, "subset_total": subsets["total"]}
        for k in subsets["k"]
    }


def study_models(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The study's models, one per total x k cell, named ``<source>-n<total>-k<k>`` (see study.schema.yaml)."""
    study = config.get("study")
    if not study:
        return {}
    return {
        f"{study['source']}-n{total}-k{k}": {
            "corpus": study["source"],
            "subset_k": k,
            "subset_total": total,
            "train": study["train"],
            "seeds": study["seeds"],
            "study": True,
        }
        for total in study["totals"]
        for k in study["k"]
    }


def configured_models(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``models:`` entries; one with ``subset_k`` trains on the subset of ``subsets.total`` captions."""
    models = {}
    for name, spec in config["models"].items():
        if spec.get("subset_k"):
            if not config.get("subsets"):
                raise ConfigError(f"config error at models.{name}.subset_k: needs a subsets: section (its total)")
            spec = {**spec, "subset_total": config["subsets"]["total"]}
        models[name] = spec
    return models


def table_models(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Models of the paper's tables and figures: the configured ones and the subset models.

    Why in the package: the workflow's rules and the cost plan (vgs_ops.projection) must agree on which
    models exist and what each trains on.
    """
    return {**configured_models(config), **subset_models(config)}


def trained_models(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every trainable model: the table models and the study's."""
    return {**table_models(config), **study_models(config)}


def train_settings(config: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The ``train:`` settings of ``model`` (shared section + the model's overrides)."""
    spec = trained_models(config)[model]
    where = "study.train" if spec.get("study") else f"models.{model}.train"
    return train_section(config, spec.get("train", {}), where)


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file and validate it (see :func:`validate_config`)."""
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config error at <top level>: {path} does not hold a mapping")
    return validate_config(raw)
