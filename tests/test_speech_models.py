"""External speech models (vgs.speech_models): loading, layer extraction, masking, planning checks and
their evaluation as systems, against transformers' own outputs on tiny random models.

Why tiny random models: real checkpoints cannot be downloaded here. A model built from a
transformers configuration and saved with ``save_pretrained`` is loaded through exactly the path a
downloaded checkpoint takes (``load_speech_model`` on a directory), and every pooled vector is checked
against the library's hidden states of the utterance encoded alone and unpadded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile
import torch
import yaml
from transformers import AutoConfig, AutoModel

from conftest import REPO
from vgs import layout
from vgs.config import ConfigError, load_config, validate_config
from vgs.evaluate.figures import speech_model_layer_figure
from vgs.evaluate.tables import SPEECH_MODEL, comparisons_table, system_label
from vgs.plan import WorkflowPlan
from vgs.speech_models.embed import embed_sts_with_speech_model, layer_store
from vgs.speech_models.hf import (
    SAMPLE_RATE,
    SpeechModelError,
    length_batches,
    load_speech_model,
    padding_safe,
    pooled_layers,
    save_random_model,
    tiny_config,
)
from vgs.speech_models.spec import SpeechModelConfigError, speech_model_description, speech_model_layers
from vgs.store import ArrayStore

LENGTHS = (16_000, 9_000, 30_001)  # samples: 1 s, 0.56 s (padded most), 1.9 s


def waves(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in LENGTHS]


def library_alone(model, extractor, wave: np.ndarray) -> tuple[torch.Tensor, ...]:
    """transformers' hidden states of one utterance, unpadded and without mask: the reference."""
    values = extractor(wave, sampling_rate=SAMPLE_RATE, return_tensors="pt")["input_values"]
    with torch.no_grad():
        return model(values, output_hidden_states=True).hidden_states


@pytest.fixture(scope="module", params=["wav2vec2", "hubert", "wavlm"])
def tiny_dir(request, tmp_path_factory):
    return save_random_model(tmp_path_factory.mktemp(request.param), tiny_config(request.param), seed=3)


@pytest.fixture(scope="module")
def hubert_dir(tmp_path_factory):
    """One tiny model for the tests that do not depend on the architecture."""
    return save_random_model(tmp_path_factory.mktemp("hubert"), tiny_config("hubert"), seed=3)


@pytest.fixture(scope="module")
def group_norm_dir(tmp_path_factory):
    """A tiny model with wav2vec2-base's group-normalised feature extractor."""
    config = tiny_config("wav2vec2")
    config.feat_extract_norm, config.do_stable_layer_norm = "group", False
    return save_random_model(tmp_path_factory.mktemp("group"), config, seed=3)


def test_the_saved_random_model_loads_with_its_weights_through_the_checkpoint_path(tmp_path):
    torch.manual_seed(3)
    reference = AutoModel.from_config(tiny_config("hubert")).eval()
    model, extractor = load_speech_model(str(save_random_model(tmp_path, tiny_config("hubert"), seed=3)))
    wave = waves()[0]
    assert extractor.sampling_rate == SAMPLE_RATE
    for ours, theirs in zip(
        library_alone(model, extractor, wave), library_alone(reference, extractor, wave), strict=True
    ):
        torch.testing.assert_close(ours, theirs)


def test_padded_batch_equals_each_utterance_alone_on_valid_frames(tiny_dir):
    """The premise of batching (layer-norm extractors): transformers' own hidden states of a padded,
    masked batch equal those of each utterance alone on its valid frames, in every layer."""
    model, extractor = load_speech_model(str(tiny_dir))
    assert padding_safe(model)
    batch = extractor(waves(), sampling_rate=SAMPLE_RATE, padding=True, return_attention_mask=True, return_tensors="pt")
    with torch.no_grad():
        padded = model(batch["input_values"], attention_mask=batch["attention_mask"], output_hidden_states=True)
    for i, wave in enumerate(waves()):
        alone = library_alone(model, extractor, wave)
        frames = alone[0].shape[1]
        for layer, hidden in enumerate(alone):
            torch.testing.assert_close(padded.hidden_states[layer][i, :frames], hidden[0], atol=1e-5, rtol=1e-4)


def test_pooled_layers_are_means_of_the_librarys_hidden_states_in_the_order_asked(tiny_dir):
    model, extractor = load_speech_model(str(tiny_dir))
    layers = [2, 0]
    pooled = pooled_layers(model, extractor, waves(), layers)
    assert pooled.shape == (len(LENGTHS), 2, model.config.hidden_size)
    for i, wave in enumerate(waves()):
        alone = library_alone(model, extractor, wave)
        expected = np.stack([alone[layer][0].mean(dim=0).numpy() for layer in layers])
        np.testing.assert_allclose(pooled[i], expected, atol=1e-5, rtol=1e-4)


def test_an_embedding_does_not_depend_on_its_batch_mates(tiny_dir):
    model, extractor = load_speech_model(str(tiny_dir))
    short = waves()[1]
    with_long = pooled_layers(model, extractor, [waves()[2], short], [0, 1, 2])[1]
    with_other = pooled_layers(model, extractor, [short, waves(seed=9)[0]], [0, 1, 2])[0]
    np.testing.assert_allclose(with_long, with_other, atol=1e-5, rtol=1e-4)


def test_group_norm_models_differ_when_padded_so_they_are_encoded_alone(group_norm_dir):
    """wav2vec2-base-style extractors normalise over the padded input: the library's padded batch
    differs from the utterance alone, so such models are never batched."""
    model, extractor = load_speech_model(str(group_norm_dir))
    assert not padding_safe(model)
    batch = extractor(waves(), sampling_rate=SAMPLE_RATE, padding=True, return_tensors="pt")
    with torch.no_grad():
        padded = model(batch["input_values"], output_hidden_states=True).hidden_states[0]
    alone = library_alone(model, extractor, waves()[1])[0]
    assert not torch.allclose(padded[1, : alone.shape[1]], alone[0], atol=1e-3)
    with pytest.raises(SpeechModelError, match="one utterance at a time"):
        pooled_layers(model, extractor, waves(), [0])
    assert length_batches(list(LENGTHS), 10**9, batched=padding_safe(model)) == [[2], [0], [1]]
    single = pooled_layers(model, extractor, [waves()[1]], [1])[0, 0]
    np.testing.assert_allclose(single, library_alone(model, extractor, waves()[1])[1][0].mean(0).numpy(), atol=1e-5)


def test_length_batches_keep_padded_size_within_the_budget():
    lengths = [5, 9, 3, 9, 4, 1]
    batches = length_batches(lengths, 18, batched=True)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert batches[0] == [1, 3]  # longest first: 2 x 9 = 18 fits, a third would not
    assert all(lengths[batch[0]] * len(batch) <= 18 for batch in batches)


def write_manifest(tmp_path, name: str, wave_list: list[np.ndarray]) -> str:
    rows = []
    for i, wave in enumerate(wave_list):
        path = tmp_path / f"{name}{i}.wav"
        soundfile.write(path, wave, SAMPLE_RATE, subtype="FLOAT")
        rows.append({"utt_id": f"{name}/s{i}", "wav_path": str(path), "duration": len(wave) / SAMPLE_RATE})
    manifest = tmp_path / f"{name}.tsv"
    pd.DataFrame(rows + rows[:1]).to_csv(manifest, sep="\t", index=False)  # a repeated sentence
    return str(manifest)


def test_workflow_stores_hold_each_layer_of_each_utterance_set(tmp_path, hubert_dir):
    model, extractor = load_speech_model(str(hubert_dir))
    # 4 s: the 1.9 s and 1 s utterances share a padded batch, the 0.56 s one is alone.
    manifests = [write_manifest(tmp_path, "v1", waves()), write_manifest(tmp_path, "natural", waves(seed=4)[:1])]
    out = tmp_path / "emb"
    embed_sts_with_speech_model("tiny", str(hubert_dir), [0, 2], manifests, ["v1", "natural"], out, batch_seconds=4.0)
    for uttset, wave_list in (("v1", waves()), ("natural", waves(seed=4)[:1])):
        for layer in (0, 2):
            store = ArrayStore(layer_store(out, layer, uttset))
            assert sorted(store) == [f"{uttset}/s{i}" for i in range(len(wave_list))]
            for i, wave in enumerate(wave_list):
                expected = library_alone(model, extractor, wave)[layer][0].mean(0).numpy()
                np.testing.assert_allclose(store[f"{uttset}/s{i}"][0], expected, atol=1e-5, rtol=1e-4)
    assert not (out / "layer1").exists()


# --- Planning: layers, bad input, offline ------------------------------------------------------


def hf_spec(model: str, layers: object = "all") -> dict:
    return {"kind": "hf", "model": model, "layers": layers, "architecture": "hubert", "seed": 0}


def test_all_layers_are_read_from_the_checkpoints_config(hubert_dir):
    assert speech_model_layers("x", hf_spec(str(hubert_dir))) == [0, 1, 2]
    assert speech_model_layers("x", hf_spec(str(hubert_dir), [2, 0])) == [0, 2]
    assert speech_model_layers("r", {"kind": "hf-random-tiny", "layers": "all", "architecture": "wavlm"}) == [0, 1, 2]


def test_a_layer_out_of_range_stops_with_the_range(hubert_dir):
    with pytest.raises(
        SpeechModelConfigError, match=r"speech_models\.x\.layers: layer 3 is out of range.*layers 0\.\.2"
    ):
        speech_model_layers("x", hf_spec(str(hubert_dir), [1, 3]))


def test_a_model_not_at_16_khz_stops_with_one_message(tmp_path, hubert_dir):
    for name in ("config.json", "model.safetensors", "preprocessor_config.json"):
        (tmp_path / name).write_bytes((hubert_dir / name).read_bytes())
    preprocessor = json.loads((tmp_path / "preprocessor_config.json").read_text())
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({**preprocessor, "sampling_rate": 24000}))
    message = r"speech_models\.x\.model: .* expects audio at 24000 Hz .* use a 16 kHz model"
    with pytest.raises(SpeechModelConfigError, match=message):
        speech_model_layers("x", hf_spec(str(tmp_path)))
    with pytest.raises(SpeechModelConfigError, match=message):  # checked again where the job loads it
        load_speech_model(str(tmp_path), "x")


def test_a_non_speech_model_stops(tmp_path, hubert_dir):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "num_hidden_layers": 2}))
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"sampling_rate": 16000}))
    with pytest.raises(SpeechModelConfigError, match="is a 'bert' model"):
        speech_model_layers("x", hf_spec(str(tmp_path)))


def test_a_missing_hub_model_offline_says_how_to_point_at_a_local_copy(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    model_id = "nobody-here/no-such-speech-model"
    pointer = r"hf download nobody-here/no-such-speech-model --local-dir DIR.*set speech_models\.x\.model: DIR"
    with pytest.raises(SpeechModelConfigError, match=pointer):
        speech_model_layers("x", hf_spec(model_id))
    with pytest.raises(SpeechModelError, match=pointer):
        load_speech_model(model_id, "x")


def test_a_random_model_may_not_name_a_checkpoint():
    with pytest.raises(SpeechModelConfigError, match="speech_models.r.model: kind 'hf-random-tiny' builds its own"):
        speech_model_layers("r", {"kind": "hf-random-tiny", "model": "facebook/hubert-base-ls960", "layers": "all"})


def test_config_schema_rejects_an_unknown_kind_and_fills_defaults():
    config = load_config(REPO / "config.yaml")
    with pytest.raises(ConfigError, match=r"config error at speech_models\.x\.kind: 'fairseq' is not one of"):
        validate_config({**config, "speech_models": {"x": {"kind": "fairseq"}}})
    filled = validate_config({**config, "speech_models": {"x": {"kind": "hf", "model": "m"}}})["speech_models"]["x"]
    assert (filled["layers"], filled["pooling"]) == ("all", "mean")
    overlay = yaml.safe_load((REPO / "workflow" / "config" / "speech_models.yaml").read_text())
    assert {spec["kind"] for spec in overlay["speech_models"].values()} == {"hf-random-tiny"}


# --- Evaluation: speech-model layers as systems -----------------------------------------------------


def speech_model_run(layer: int) -> dict:
    spec = {"kind": "hf-random-tiny", "architecture": "hubert"}
    return {"system": f"tiny-L{layer}", "kind": SPEECH_MODEL, "corpus": speech_model_description(spec),
            "subset_k": None, "seed": None, "speech_model": "tiny", "layer": layer}  # fmt: skip


def test_encoder_layers_are_labelled_random_and_compared_with_every_seed(tmp_path):
    assert system_label("tiny-L1", SPEECH_MODEL, "random weights, untrained, tiny hubert") == (
        "tiny-L1 (random weights, untrained, tiny hubert)"
    )
    rng = np.random.default_rng(0)
    gold = rng.uniform(0, 5, 40)
    runs = [{"system": "vgs", "kind": "speech", "corpus": "c", "subset_k": None, "seed": seed} for seed in (1, 2)]
    runs.append(speech_model_run(1))
    paths = []
    for i, run in enumerate(runs):
        path = tmp_path / f"{i}.tsv"
        similarity = gold + rng.normal(0, 1 + i, gold.size)
        pd.DataFrame(
            {
                "pair_id": [f"p{j}" for j in range(gold.size)],
                "gold": gold,
                "similarity": similarity,
                "system": run["system"],
                "seed": run["seed"],
            }
        ).to_csv(path, sep="\t", index=False)
        paths.append(path)
    frame = comparisons_table(runs, paths, {"csv": tmp_path / "c.csv"})
    # The two seeds are not compared with each other; the encoder is compared with both.
    assert sorted(zip(frame["a"], frame["b"], strict=True)) == [
        ("vgs seed 1", "tiny-L1 (random weights, untrained, tiny hubert)"),
        ("vgs seed 2", "tiny-L1 (random weights, untrained, tiny hubert)"),
    ]


def test_layer_figure_draws_each_layer_and_the_references_from_the_table(tmp_path):
    rows = []
    values = {
        ("tiny-L0", "all"): 0.1,
        ("tiny-L1", "all"): 0.3,
        ("tiny-L0", "natural"): 0.05,
        ("tiny-L1", "natural"): 0.2,
    }
    for (system, level), r in values.items():
        rows.append({"system": system, "kind": SPEECH_MODEL, "corpus": "random weights, untrained, tiny hubert",
                     "subset_k": None, "level": level, "group": "All" if level == "all" else "Natural", "year": "",
                     "pearson": r, "pearson_low": r - 0.1, "pearson_high": r + 0.1})  # fmt: skip
    for system, kind, subset_k, r in (
        ("flickr", "speech", None, 0.4),
        ("k2", "speech", 2, 0.9),
        ("bow", "text topline", None, 0.6),
    ):
        for level in ("all", "natural"):
            rows.append({"system": system, "kind": kind, "corpus": "c", "subset_k": subset_k, "level": level,
                         "group": "All" if level == "all" else "Natural", "year": "", "pearson": r,
                         "pearson_low": r - 0.05, "pearson_high": r + 0.05})  # fmt: skip
    csv = tmp_path / "correlations.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    figure = speech_model_layer_figure(csv, [speech_model_run(0), speech_model_run(1)], [tmp_path / "layers.png"])
    assert (tmp_path / "layers.png").stat().st_size > 0
    for axis, level in zip(figure.axes, ("all", "natural"), strict=True):
        (container,) = axis.containers  # one error-bar line per encoder
        line = container.lines[0]
        assert list(line.get_xdata()) == [0, 1]
        assert list(line.get_ydata()) == [values[("tiny-L0", level)], values[("tiny-L1", level)]]
        assert "random weights" in container.get_label()
        references = {
            line.get_label(): line.get_ydata()[0] for line in axis.lines if not line.get_label().startswith("_")
        }
        assert references == {"flickr (c)": 0.4, "bow (text topline)": 0.6}  # the subset model k2 is not one


def test_tiny_configs_are_padding_safe_and_base_configs_are_not():
    assert padding_safe(AutoModel.from_config(tiny_config("hubert")))
    assert AutoConfig.for_model("hubert").feat_extract_norm == "group"  # as hubert-base: encoded alone


@pytest.mark.slow  # a subprocess importing torch and transformers
def test_the_benchmark_runs_on_torch_numpy_and_transformers_alone(tmp_path):
    """GPU machines lack the workflow's audio stack: the standalone benchmark must import no vgs
    module beyond vgs.speech_models.{spec,hf} and vgs.layout (the file names of results, standard
    library only), nor torchaudio, h5py or pandas (transformers itself may import soundfile where
    installed). Its projection follows from its measured rate."""
    code = ("import runpy, sys\nsys.argv = ['speech_models', '--quick', '--out', sys.argv[1]]\n"
            "runpy.run_module('vgs_ops.bench.speech_models', run_name='__main__')\n"
            "print('MODULES', sorted(m for m in sys.modules if m.split('.')[0] in "
            "('vgs', 'torchaudio', 'h5py', 'pandas')))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(REPO / "workflow")})  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    modules = result.stdout.split("MODULES", 1)[1].strip()
    assert modules == str(["vgs", "vgs.layout", "vgs.speech_models", "vgs.speech_models.hf", "vgs.speech_models.spec"])
    record = json.loads((tmp_path / "speech_models.json").read_text())
    (tiny,) = [value for value in record["results"].values() if isinstance(value, dict)]
    assert tiny["utterances"] == 8 and tiny["layers_read"] == 3 and tiny["utterances_per_s"] > 0
    hours = tiny["spokensts_utterances"] / tiny["utterances_per_s"] / 3600
    assert tiny["spokensts_hours_estimate"] == pytest.approx(hours, rel=0.02, abs=0.01)
    assert tiny["spokensts_utterances"] == 122_388 + 638 * 2 * 4
    assert (tmp_path / "speech_models.md").read_text().count("|") > 10


def test_the_evaluation_reads_the_stores_the_embedding_job_writes() -> None:
    """Both sides take the layer store's name from vgs.layout: the job writes layer_store(directory, ...)
    inside its directory output, and the rule evaluating one layer asks the plan for the same path."""
    directory = layout.fill(layout.SPEECH_MODEL_EMBEDDINGS, speech_model="tiny", sts_set="world")
    for name in ("m1", "natural"):
        written = str(layer_store(directory, 2, name))
        assert written == WorkflowPlan.speech_model_layer_store("tiny", "world", "2", name)
        assert written == f"results/embeddings/speech_models/tiny/sts/world/layer2/{name}.h5"
