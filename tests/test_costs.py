"""vgs_ops.costs: a job's memory, runtime and disk follow its data, by numbers computed here by hand.

Each expected value is a number worked out in the test from the corpus sizes, the model and the
measured rates written out (with where they were measured), never rebuilt from the module's own
constants: a changed rate or formula changes the projection and fails here until the hand
computation is redone. tests/test_workflow_e2e.py compares the projection with a run's measurements.

Why: the requests of the heavy rules and `make plan` rest on these formulas; a wrong parameter
count, FLOP count or corpus size silently over- or under-asks at the paper's size (Places' training
job is projected at ~78 GPU-hours).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from vgs.config import load_config
from vgs.model import ModelConfig, VGSModel
from vgs.plan import WorkflowPlan
from vgs_ops import costs

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "workflow" / "config" / "paper.yaml"
WORLD = REPO / "config.yaml"


@pytest.mark.parametrize(("size", "image_dim"), [("paper", 2048), ("small", 1280)])
def test_parameter_count_is_the_models(size: str, image_dim: int) -> None:
    """Checkpoint size and model memory come from this count; torch's module is the reference."""
    arch = costs.model_size(load_config(PAPER) | {"model": {**load_config(PAPER)["model"], "size": size}})
    model = VGSModel(ModelConfig.from_dict({**arch, "image_dim": image_dim}))
    assert costs.parameter_count(arch, image_dim) == sum(p.numel() for p in model.parameters())


def test_forward_flops_by_hand() -> None:
    # 11 frames, kernel 2, stride 1: 10 steps; conv 2*2*2*3 = 24, LSTM 2*2*4*4*(3+4) = 448,
    # attention 2*2*8*5 = 160 per step.
    size = {
        "mfcc_dim": 2,
        "conv_kernel": 2,
        "conv_stride": 1,
        "conv_channels": 3,
        "rnn_layers": 1,
        "rnn_hidden": 4,
        "attention_hidden": 5,
    }
    assert costs.forward_flops(size, 11) == 10 * (24 + 448 + 160)


def test_mfcc_cache_of_spokencoco_is_about_42_gb() -> None:
    # 742 h x 3600 s x 100 frames x 39 float32 = 41,670,720,000 bytes (issue 19's ~42 GB).
    assert costs.mfcc_mb(742 * 3600) == pytest.approx(41_670.72)


def test_requests_are_the_projection_with_margins() -> None:
    cost = costs.JobCost(seconds=600, threads=2, gpu=False, peak_mb=1000, disk_mb=10.2)
    assert cost.resources() == {"mem_mb": 1500, "runtime": 20, "disk_mb": 12}
    assert (cost.cpu_hours, cost.gpu_hours) == (pytest.approx(1 / 3), 0.0)
    assert costs.JobCost(1, 1, True, 1, 0).resources()["runtime"] == 10  # no request under 10 minutes


def test_corpus_size_from_world_published_and_manifest(tmp_path: Path) -> None:
    world = load_config(WORLD)
    # config.yaml: world coco, 600 + 50 + 50 images x 10 captions at 2.3 s each.
    coco = costs.corpus_size(world, "world-coco", tmp_path)
    assert (coco.captions, coco.images, coco.train_captions, coco.test_captions) == (7000, 700, 6000, 500)
    assert coco.hours == pytest.approx(7000 * 2.3 / 3600)
    paper = load_config(PAPER)
    places = costs.corpus_size(paper, "places", tmp_path)
    assert (places.captions, places.hours, places.source) == (400_000, 1000, "published (corpora.places.size)")
    manifest = costs.corpus_manifest(tmp_path, "places")
    manifest.parent.mkdir(parents=True)
    pd.DataFrame(
        {"utt_id": list("abcdefg"), "image_id": list("aabcdef"), "split": ["train"] * 5 + ["dev", "test"]}
    ).to_csv(manifest, sep="\t", index=False)
    loaded = costs.corpus_size(paper, "places", tmp_path)
    assert (loaded.captions, loaded.images, loaded.train_captions, loaded.source) == (7, 6, 5, "manifest")
    assert loaded.hours == pytest.approx(7 * 9 / 3600)  # Places' published mean: 1,000 h / 400k captions


def test_missing_statistics_name_the_key(tmp_path: Path) -> None:
    config = copy.deepcopy(load_config(PAPER))
    del config["corpora"]["places"]["size"]
    with pytest.raises(costs.MissingStatistics, match=r"^config error at corpora\.places\.size: "):
        costs.job_cost(config, "train", {"model": "places", "seed": "1"}, tmp_path)


def test_world_training_on_cpu_by_hand(tmp_path: Path) -> None:
    """config.yaml's coco model on a CPU: 6,000 captions x 3 + 500 dev, 24 epochs, 230 frames (2.3 s),
    random batches (1.92 padded frames per frame), the small model."""
    config = load_config(WORLD)
    config["resources"]["gpu"] = False
    # Small model at 230 frames: (230 - 6) / 3 + 1 = 75.67 steps x (14,976 conv + 294,912 LSTM +
    # 32,768 attention) = 25,927,637 FLOPs forward; x 18,500 x 24 epochs x 1.92 = 2.2102e13 FLOPs, at
    # 46.5 GFLOP/s (the small model on one thread, measured by make bench, docs/benchmarks.md):
    # 475.3 s, + 5 s start-up = 480.3 s (docs/full-scale.md: the coco model measured 372 s).
    cost = costs.job_cost(config, "train", {"model": "coco", "seed": "1"}, tmp_path)
    assert not cost.gpu and cost.seconds == pytest.approx(480.33, abs=0.01)


def test_places_training_on_a_gpu_by_hand(tmp_path: Path) -> None:
    """paper.yaml's Places model: 398,000 captions x 3 + 1,000 dev, 32 epochs, 900 frames (9 s)."""
    config = load_config(PAPER)
    # Paper model at 900 frames: 448 steps x (29,952 conv + 17,825,792 + 3 x 50,331,648 LSTM +
    # 1,048,576 attention) = 76,114,870,272 FLOPs forward; x 1,195,000 x 32 epochs x 1.92 random-batch
    # padding = 5.5885e18 FLOPs, in fp32 (paper.yaml) at 19.8 TFLOP/s (one H200, measured by make
    # gpu-check): 282,243 s = 78.401 h, + 5 s start-up = 78.402 GPU-hours (docs/full-scale.md: 78.4).
    cost = costs.job_cost(config, "train", {"model": "places", "seed": "1"}, tmp_path)
    assert cost.gpu and cost.gpu_hours == pytest.approx(78.402, abs=0.001)
    # Rows are read on demand: torch (1,100 MB, an MFCC job's measured peak), the index of 400k
    # captions + 400k images at 400 bytes a key (320 MB), weights, gradients and Adam's two moments
    # of the 89,213,760 parameters (2048-d images; 1,427.4 MB): 2,847.4 MB.
    assert cost.peak_mb == pytest.approx(2847.42, abs=0.01)


@pytest.mark.parametrize("precision", ["auto", "fp32", "tf32", "bf16", "fp16"])
def test_every_precision_the_schema_allows_has_a_gpu_cost(tmp_path: Path, precision: str) -> None:
    """Bug: ``tf32`` (a precision the schema offers) had no GPU rate, so the train rule's resource
    request and ``make plan`` stopped with a KeyError; and ``auto`` was costed as bf16 while training
    picks fp16 on CUDA (tests/test_train.py checks that choice)."""
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "train.schema.yaml").read_text())
    assert precision in schema["properties"]["precision"]["enum"]
    config = load_config(PAPER)
    config["train"]["precision"] = precision
    cost = costs.job_cost(config, "train", {"model": "flickr8k", "seed": "1"}, tmp_path)
    rate = costs.GPU_PADDED_TFLOPS["fp16" if precision == "auto" else precision]
    fp32 = costs.GPU_PADDED_TFLOPS["fp32"]
    reference = load_config(PAPER)  # fp32
    fp32_cost = costs.job_cost(reference, "train", {"model": "flickr8k", "seed": "1"}, tmp_path)
    work = fp32_cost.seconds - costs.JOB_START_S
    assert cost.gpu and cost.seconds - costs.JOB_START_S == pytest.approx(work * fp32 / rate)


def test_a_subset_model_trains_on_its_total(tmp_path: Path) -> None:
    config = load_config(PAPER)
    subset = costs.job_cost(config, "train", {"model": "spokencoco-k3", "seed": "1"}, tmp_path)
    full = costs.job_cost(config, "train", {"model": "spokencoco", "seed": "1"}, tmp_path)
    # 30,000 of 406,500 captions, the same dev set: (3 x 30,000 + dev) / (3 x 406,500 + dev).
    dev = (416_500 - 406_500) // 2
    ratio = (3 * 30_000 + dev) / (3 * 406_500 + dev)
    start = 5.0  # seconds of start-up every job is charged
    assert subset.seconds - start == pytest.approx((full.seconds - start) * ratio)


def test_jobs_are_shaped_by_the_plan(tmp_path: Path) -> None:
    """What a job processes is the plan's: the STS embedding job of config.yaml's world set encodes
    six voices x 600 distinct sentences (300 pairs) + the natural sample (2 x ceil(0.2 x 300) x 1
    stand-in speaker) = 3,720 utterances of 2 x 64 float32; and a plan that splits a corpus into
    other MFCC shards or speaks an STS set with another voice changes the costs with it."""
    config = load_config(WORLD)
    plan = WorkflowPlan(config)
    embed_sts = costs.job_cost(plan, "embed_sts", {"model": "coco", "seed": "1", "sts_set": "world"}, tmp_path)
    assert embed_sts.disk_mb == pytest.approx(3720 * 2 * 64 * 4 / 1e6)

    class OtherShape(WorkflowPlan):
        def mfcc_shard_count(self, uttset: str) -> int:
            return 3 * super().mfcc_shard_count(uttset)

        @property
        def sts_uttset_names(self) -> list[str]:
            return [*super().sts_uttset_names, "extra"]

    other = OtherShape(config)
    shard = {"uttset": "corpus/world-coco", "shard": "0"}
    assert costs.job_cost(other, "mfcc", shard, tmp_path).disk_mb == pytest.approx(
        costs.job_cost(plan, "mfcc", shard, tmp_path).disk_mb / 3
    )
    wider = costs.job_cost(other, "embed_sts", {"model": "coco", "seed": "1", "sts_set": "world"}, tmp_path)
    assert wider.disk_mb == pytest.approx((3720 + 600) * 2 * 64 * 4 / 1e6)
