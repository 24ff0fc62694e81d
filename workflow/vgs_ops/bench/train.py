"""Training throughput: length-bucketed batches vs. the authors' random pad-to-max batches.

One run measures, on CPU, training steps (forward, backward, Adam) of the paper-size and the
small model on synthetic MFCCs whose lengths are drawn like real spoken captions (log-normal,
median 4.3 s at 100 frames/s, truncated at 1024 frames). Both strategies cut the *same* epoch of
captions (five captions per image) into batches of 32; timed batches are a sample of each epoch
stratified by padded cost, measured alternately on one thread so machine load affects both alike.
The padded-frame ratio of the full epoch is reported beside the timings: on CPU an LSTM's cost is
proportional to the padded frames, which is why bucketing wins. The paper-size model (~100 GFLOP
per caption) is timed on the median-cost batch of each strategy only, so its ratio is noisier.

To show the speed comes at equal results, it also trains the small model with each strategy on
one learnable synthetic corpus (same seeds, same epochs) and reports best dev loss and dev recall.

Beside them it reports the GPU-hours of the paper's eight models as `make plan` projects them for
workflow/config/paper.yaml (:func:`vgs_ops.costs.training_gpu_hours`, the one estimator), so the
CPU measurements here and that projection sit in one record.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time

import numpy as np
import torch

from vgs import layout
from vgs.config import PAPER_CONFIG, load_config
from vgs.model import ModelConfig, VGSModel
from vgs.plan import WorkflowPlan
from vgs.train.batching import epoch_batches, pad_batch
from vgs.train.data import load_training_data
from vgs.train.loop import TrainConfig, Trainer
from vgs.train.loss import hinge_loss
from vgs.train.synthetic import caption_lengths, random_frames, synthetic_corpus
from vgs_ops import costs

NAME = "train"

#: The schema's two sizes (vgs.model.SIZES) on the features of the backbone each is trained with:
#: the paper's on ResNet-152, the world's small one on EfficientNet-Lite0.
SIZES = {
    "paper": ModelConfig.named("paper", costs.IMAGE_DIM["resnet152"]),
    "small": ModelConfig.named("small", costs.IMAGE_DIM["efficientnet_lite0"]),
}
#: The paper's batches and longest caption (the training defaults, train.schema.yaml).
PAPER_TRAINING = TrainConfig()
MEDIAN_FRAMES = 430  # ~4.3 s captions (Flickr8k / SpokenCOCO-like), 100 frames/s
MAX_FRAMES = PAPER_TRAINING.max_frames
BATCH = PAPER_TRAINING.batch_size
IMAGES = 400  # x 5 captions: one epoch of 2,000 captions to draw batches from


def forward_flops(config: ModelConfig, frames: float) -> float:
    """Multiply-add FLOPs (x2) of one caption's forward pass with ``frames`` MFCC frames (vgs_ops.costs)."""
    return costs.forward_flops(config.as_dict(), frames)


def padded_ratio(batches: list[np.ndarray], lengths: np.ndarray) -> float:
    """Frames processed (batch size x longest) per real frame."""
    return float(sum(len(b) * lengths[b].max() for b in batches) / lengths[np.concatenate(batches)].sum())


def stratified(batches: list[np.ndarray], lengths: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` batches at the centres of equal strata of padded cost: a representative sample."""
    by_cost = sorted(batches, key=lambda b: len(b) * lengths[b].max())
    return [by_cost[int((k + 0.5) * len(by_cost) / count)] for k in range(count)]


def time_batches(
    config: ModelConfig, frames: list[np.ndarray], plans: dict[str, list[np.ndarray]], seed: int = 0
) -> dict[str, dict[str, float]]:
    """Train on the batches of each plan, alternating plans batch by batch; utterances per second."""
    torch.manual_seed(seed)
    model = VGSModel(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    images = torch.randn(BATCH, config.image_dim)
    elapsed = {name: 0.0 for name in plans}
    counts = {name: 0 for name in plans}

    def step(indices: np.ndarray) -> None:
        batch, lengths = pad_batch([frames[i] for i in indices], MAX_FRAMES)
        captions, pictures = model(batch, lengths, images[: len(indices)])
        optimizer.zero_grad()
        hinge_loss(captions, pictures).backward()
        optimizer.step()

    step(next(iter(plans.values()))[0])  # warm-up (allocator, thread pool)
    for position in range(max(len(batches) for batches in plans.values())):
        for name, batches in plans.items():
            if position < len(batches):
                start = time.perf_counter()
                step(batches[position])
                elapsed[name] += time.perf_counter() - start
                counts[name] += len(batches[position])
    return {
        name: {
            "utterances": counts[name],
            "seconds": round(elapsed[name], 3),
            "utterances_per_s": round(counts[name] / elapsed[name], 2),
        }
        for name in plans
    }


def paper_plan() -> WorkflowPlan:
    """The plan of workflow/config/paper.yaml: the paper's eight models at their published sizes."""
    return WorkflowPlan(load_config(PAPER_CONFIG))


def gpu_hours_projection(
    results: str = layout.RESULTS, gpu_padded_tflops: float | None = None, batching: str | None = None
) -> dict[str, object]:
    """GPU-hours of the paper's eight models, one seed each, from :func:`vgs_ops.costs.training_gpu_hours`
    (rounded to 0.1 h per model): `make plan`'s projection, or one at a measured rate (see there)."""
    per_model = {
        model: round(hours, 1)
        for model, hours in costs.training_gpu_hours(paper_plan(), results, gpu_padded_tflops, batching).items()
    }
    return {"gpu_hours_per_model": per_model, "gpu_hours_total": round(sum(per_model.values()), 1)}


def equal_results(quick: bool) -> dict[str, object]:
    """Train the small model with each batching strategy on one learnable synthetic corpus.

    Why: speed only counts at equal quality. Both strategies see every caption once per epoch
    with the same seeds; their best dev loss and final dev recall should agree within seed noise.
    """
    config = dataclasses.replace(SIZES["small"], image_dim=16)
    epochs, seeds = (2, [1]) if quick else (8, [1, 2])
    outcome: dict[str, object] = {"epochs": epochs, "seeds": seeds}
    with tempfile.TemporaryDirectory() as directory:
        paths = synthetic_corpus(directory, {"train": 100, "dev": 40}, captions_per_image=5, median_frames=300)
        train_set, dev_set = load_training_data(paths["manifest"], [paths["mfcc"]], paths["images"])
        for strategy, bucket in (("bucketed", True), ("random", False)):
            runs = []
            for seed in seeds:
                settings = TrainConfig(epochs=epochs, bucket=bucket, progress=False)
                start = time.perf_counter()
                state = Trainer(config, settings, seed, f"{directory}/{strategy}{seed}").fit(train_set, dev_set)
                runs.append(
                    {
                        "seed": seed,
                        "seconds": round(time.perf_counter() - start, 2),
                        "best_dev_loss": round(state.best_dev_loss, 4),
                        **{key: round(state.log[-1][key], 3) for key in ("dev_r1", "dev_r10")},
                    }
                )
            outcome[strategy] = runs
    return outcome


def run(quick: bool) -> dict:
    rng = np.random.default_rng(0)
    image_ids = [f"img{i}" for i in range(IMAGES) for _ in range(5)]
    lengths = np.minimum(caption_lengths(len(image_ids), rng, MEDIAN_FRAMES), MAX_FRAMES)
    frames = random_frames(lengths, rng)
    plans = {
        "bucketed": epoch_batches(image_ids, lengths, BATCH, np.random.default_rng(1), bucket=True),
        "random": epoch_batches(image_ids, lengths, BATCH, np.random.default_rng(1), bucket=False),
    }
    result: dict[str, object] = {
        "captions_per_epoch": len(image_ids),
        "median_frames": MEDIAN_FRAMES,
        "padded_frames_per_frame": {name: round(padded_ratio(b, lengths), 3) for name, b in plans.items()},
        "torch_threads": 1,
    }
    # Timed batches: a cost-stratified sample of each epoch, one thread (per-core numbers that do
    # not depend on how busy the other cores are). Paper size costs ~100 GFLOP per caption, so it
    # gets the median-cost batch only, and none in quick mode.
    samples = {"small": 4 if quick else 24, **({} if quick else {"paper": 1})}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for size, count in samples.items():
            config = SIZES[size]
            chosen = {name: stratified(batches, lengths, count) for name, batches in plans.items()}
            timing: dict[str, object] = dict(time_batches(config, frames, chosen))
            timing["speedup"] = round(timing["bucketed"]["utterances_per_s"] / timing["random"]["utterances_per_s"], 2)
            timing["timed_batches_per_strategy"] = count
            timing["parameters"] = sum(p.numel() for p in VGSModel(config).parameters())
            result[size] = timing
    finally:
        torch.set_num_threads(threads)
    result["paper_gflops_per_training_caption"] = round(3 * forward_flops(SIZES["paper"], MEDIAN_FRAMES) / 1e9, 1)
    if "paper" in result:
        rate = result["paper"]["bucketed"]["utterances_per_s"]  # type: ignore[index]
        result["paper_cpu_achieved_gflops_per_thread"] = round(rate * result["paper_gflops_per_training_caption"], 1)
    result["gpu_estimate"] = {
        "kind": "projection of `make plan` for workflow/config/paper.yaml (vgs_ops.costs: GPU rates measured on one "
        "NVIDIA H200), not a measurement of this run",
        **gpu_hours_projection(),
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result["equal_results"] = equal_results(quick)
    finally:
        torch.set_num_threads(threads)
    return result
