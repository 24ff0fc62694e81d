"""Each fact in one place: the paper's architecture, the training defaults, the backbones' feature
sizes and every path, each written once and everything else derived from it.

Why: hand-kept copies drift. The architecture was typed into the model schema, config.yaml,
vgs.model and the benchmarks; the training defaults into the schema and the TrainConfig dataclass;
results/ paths into rule files. Each test here fails when a copy comes back or disagrees (a copy
edited on purpose, or a number re-typed where grep would find it a second time).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from conftest import REPO
from vgs import layout
from vgs.config import PAPER_CONFIG, TRAIN_RULE_KEYS, load_config, schema_defaults
from vgs.model import SIZES, ModelConfig, VGSModel
from vgs.train import device, embed
from vgs.train.loop import TrainConfig
from vgs_ops import costs
from vgs_ops.bench import train as bench_train

#: The authors' caption and image encoders ('rnn' preset of their code, DannyMerkx/speech2image,
#: PyTorch/places_audio/encoder_configs.py): Conv1d 39 -> 64, kernel 6, stride 2; a 4-layer
#: bidirectional LSTM of 1024 units; attention over 2048-d states through 128 hidden units; the
#: image projection from 2048-d ResNet-152 features to the 2048-d embedding.
AUTHORS = {
    "mfcc_dim": 39,
    "conv_channels": 64,
    "conv_kernel": 6,
    "conv_stride": 2,
    "rnn_layers": 4,
    "rnn_hidden": 1024,
    "attention_hidden": 128,
}
#: The paper's training (section 2.4, and the authors' code for what the text leaves out): 32 epochs,
#: a cyclic learning rate up to 2e-4 with a four-epoch period, batches of 32, captions cut at 1,024
#: frames (the code's max_len), hinge loss with margin 0.2.
PAPER_TRAINING = {
    "epochs": 32,
    "lr_max": 2e-4,
    "lr_period_epochs": 4,
    "batch_size": 32,
    "max_frames": 1024,
    "loss": "hinge",
    "margin": 0.2,
}
#: Where code lives: rule files, the package, its operations, the rule scripts and the configurations.
CODE = sorted(
    {
        *REPO.glob("workflow/**/*.py"),
        *REPO.glob("workflow/**/*.smk"),
        *REPO.glob("workflow/**/*.yaml"),
        REPO / "Snakefile",
        REPO / "config.yaml",
    }
    - set(REPO.glob("workflow/report/**/*"))  # measurements of other code, kept as records
)


# --- The paper's architecture: the schema's `sizes` ------------------------------------------------------


def test_the_paper_size_is_the_authors_architecture() -> None:
    paper = ModelConfig.named("paper", image_dim=2048)
    assert {key: value for key, value in paper.as_dict().items() if key != "image_dim"} == AUTHORS
    model = VGSModel(paper)
    assert paper.embed_dim == 2048 and model.image_encoder.project.weight.shape == (2048, 2048)
    assert model.caption_encoder.conv.weight.shape == (64, 39, 6) and model.caption_encoder.conv.stride == (2,)
    assert len(model.caption_encoder.rnn.forward_layers) == 4
    assert model.caption_encoder.pool.score[0].weight.shape == (128, 2048)


@pytest.mark.parametrize("path", [REPO / "config.yaml", PAPER_CONFIG], ids=lambda path: path.name)
def test_every_reader_of_the_architecture_gets_the_schemas(path: Path) -> None:
    """The shipped configurations, the cost model and the benchmarks take the sizes from the schema."""
    config = load_config(path)
    assert config["model"]["sizes"] == SIZES == schema_defaults("model.schema.yaml")["sizes"]
    assert costs.model_size(config) == SIZES[config["model"]["size"]]
    for name, size in bench_train.SIZES.items():
        assert size == ModelConfig.from_dict({**SIZES[name], "image_dim": size.image_dim})


@pytest.mark.parametrize(
    "written",
    [r"conv_channels\W{1,4}64\b", r"rnn_hidden\W{1,4}1024\b", r"attention_hidden\W{1,4}128\b"],
)
def test_grep_finds_the_paper_architecture_in_one_place(written: str) -> None:
    found = [str(path.relative_to(REPO)) for path in CODE if re.search(written, path.read_text(encoding="utf-8"))]
    assert found == ["workflow/schemas/model.schema.yaml"]


def test_the_backbones_feature_sizes_are_the_networks() -> None:
    """The cost model's (and the benchmarks') feature sizes, against the networks built by vgs.features
    (the untrained ResNet-152 stands in for the ImageNet one: same network, no download)."""
    from vgs.features.backbones import build_backbone

    built = {
        "resnet152": build_backbone("random_resnet152"),
        "efficientnet_lite0": build_backbone("efficientnet_lite0"),
    }
    assert costs.IMAGE_DIM == {name: backbone.dim for name, backbone in built.items()}


# --- The training defaults: train.schema.yaml ----------------------------------------------------------------


def test_train_config_is_the_schemas_settings_with_its_defaults() -> None:
    defaults = schema_defaults("train.schema.yaml")
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    # Every setting of the schema is a field or one of the rule-level keys, never both, never neither.
    schema = set(load_schema_properties("train.schema.yaml"))
    assert fields | set(TRAIN_RULE_KEYS) == schema and not fields & set(TRAIN_RULE_KEYS)
    assert dataclasses.asdict(TrainConfig()) == {key: defaults[key] for key in fields}
    assert TrainConfig.from_section(load_config(REPO / "config.yaml")["train"]).lr_max == defaults["lr_max"]


def test_the_training_defaults_are_the_papers() -> None:
    assert {key: getattr(TrainConfig(), key) for key in PAPER_TRAINING} == PAPER_TRAINING


@pytest.mark.parametrize(
    ("function", "parameter", "setting"),
    [
        (embed.embed_utterances, "batch_size", "eval_batch_size"),
        (embed.embed_utterances, "max_frames", "max_frames"),
        (embed.embed_utterances, "device", "device"),
        (embed.embed_utterances, "precision", "precision"),
        (embed.embed_utterance_sets, "max_frames", "max_frames"),
        (embed.embed_images, "device", "device"),
        (device.select_runtime, "device", "device"),
        (device.select_runtime, "precision", "precision"),
    ],
)
def test_encoding_defaults_are_the_training_defaults(function, parameter: str, setting: str) -> None:
    assert inspect.signature(function).parameters[parameter].default == getattr(TrainConfig(), setting)


def load_schema_properties(name: str) -> dict:
    import yaml

    return yaml.safe_load((REPO / "workflow" / "schemas" / name).read_text())["properties"]


# --- Paths: vgs.layout -------------------------------------------------------------------------------------


def string_constants(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module that are not docstrings, with their lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_path_under_results_is_spelled_outside_the_layout() -> None:
    """Code names results/ paths through vgs.layout's templates; comments and docstrings may mention them."""
    literal = re.compile(rf"(^|[\s'\"`(]){re.escape(layout.RESULTS)}/")
    found = []
    for path in CODE:
        if path.suffix == ".py" and path != REPO / "workflow/vgs/layout.py":
            found += [
                f"{path.relative_to(REPO)}:{line}" for line, text in string_constants(path) if literal.search(text)
            ]
        elif path.suffix == ".smk" or path.name == "Snakefile":
            code = [(n, line.split("#")[0]) for n, line in enumerate(path.read_text().splitlines(), start=1)]
            found += [f"{path.relative_to(REPO)}:{n}" for n, line in code if literal.search(line)]
    assert found == []
