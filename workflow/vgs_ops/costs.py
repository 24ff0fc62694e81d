"""What each heavy job costs, computed from what it processes: the per-unit costs in one place.

Why: a job's memory, runtime and disk grow with its corpus (captions, audio hours, images), its
model and its epochs; constants sized for one corpus are wrong for the next, and before 405 jobs
go to a cluster a user must see what the run will cost and whether each job fits its partition.
The rules' resource callables (``job_resources`` in workflow/rules/common.smk) and ``make plan``
(:mod:`vgs_ops.projection`) both call :func:`job_cost`, so a request and the plan never disagree;
the GPU check and the training benchmark report their GPU-hours for the paper's models through
:func:`training_gpu_hours`, the same arithmetic. What a job processes is the workflow plan's
(:class:`vgs.plan.WorkflowPlan`: MFCC shards per utterance set, the utterance sets of an STS set),
never re-derived here.

Sizes come from ``results/corpora/<c>/manifest.tsv`` once a corpus is loaded, before that from
the published size in the configuration (``corpora.<c>.size``) or, for the generated world, from
its configuration. At the paper's size (SpokenCOCO's ~601k loaded captions, ~737 h; Places 400k
captions, ~1,000 h) the MFCC caches are ~41 GB and ~56 GB on disk; a training or encoding job reads
their rows on demand, so its memory grows only with the key index (~0.2 GB for Places) and the model.

Every rate below is per thread (CPU) or per GPU and states where it comes from; the GPU rates were
measured on one NVIDIA H200 (``make gpu-check``): for another GPU, measure and change
``GPU_PADDED_TFLOPS`` and ``GPU_IMAGES_PER_S`` here.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vgs import layout
from vgs.config import ConfigError, corpus_spec, train_settings, trained_models
from vgs.plan import WorkflowPlan
from vgs.plan.workflow import NATURAL

# --- Per-unit costs: the one place to change them -----------------------------------------------

#: GPU training and encoding, TFLOP/s of padded frames (3x forward for training) by precision
#: (``auto`` is fp16 on CUDA, as vgs.train.device picks). MEASURED on one NVIDIA H200 by ``make gpu-check``
#: (workflow/report/measured/gpu-h200-2026-12-04-run{1,2}.md, eager, paper-size model, batches of 32):
#: useful-frame rates x padded frames per frame (bucketed 1.104, random 1.885). Run 1 -- fp32 17.8 x
#: 1.104 and 10.5 x 1.885 -> 19.7, 19.8; tf32 30.9 x 1.104 and 20.5 x 1.885 -> 34.1, 38.6; fp16
#: 36.4 x 1.104 and 19.9 x 1.885 -> 40.2, 37.6. Run 2 measured the reduced precisions slower (tf32
#: 27.3, 29.9; fp16 24.3, 30.9: the spread is the machine's) and is the only run of today's bf16, whose
#: LSTM stays fp32 (run 1's bf16 computed its LSTM in fp16, since fixed): 16.1 x 1.104 and 10.0 x
#: 1.885 -> 17.8, 18.9. Another GPU: measure with `make gpu-check` and put it here.
GPU_PADDED_TFLOPS = {"fp32": 19.8, "tf32": 36.4, "bf16": 18.3, "fp16": 38.9}
#: CPU training, GFLOP/s per thread (training FLOPs = 3x forward, over padded frames). Measured by
#: ``make bench`` here (docs/benchmarks.md): paper size 1.07 captions/s bucketed (padding 1.11) and
#: 0.58 random (1.92) at 108.6 GFLOP per 430-frame caption -> 129 and 121; small size 297 and 160
#: captions/s at 0.146 GFLOP -> 48 and 45. A size not listed is taken at the paper size's rate.
CPU_TRAIN_GFLOPS_PER_THREAD = {"paper": 125.0, "small": 46.5}
#: CPU training in bf16 / fp16 autocast is this many times slower than fp32 on a CPU without bf16
#: instructions (measured here: the ablation's bf16 arm, 346-358 s against 41-59 s per seed).
CPU_REDUCED_PRECISION_SLOWDOWN = 7.0
#: Padded frames per real frame of a training epoch (``make bench``): bucketed / random batches.
PADDING = {"bucketed": 1.11, "random": 1.92}
#: MFCC job end to end (read 16 kHz wavs, 13 MFCC + deltas in float64, write the store): seconds
#: of audio per CPU-second, measured here on 600 wavs of ~4.3 s (one thread, 2-core VM).
MFCC_AUDIO_S_PER_CPU_S = 917.0
#: Corpus loading: wav headers checked per CPU-second (vgs.corpora.audio_check, one worker,
#: measured here on 600 wavs); metadata parsing is small beside it.
HEADER_CHECKS_PER_CPU_S = 10_400.0
#: Image features on CPU, images per second per thread (``make bench``; random and ImageNet weights
#: cost the same): (encoder, crops) -> rate.
CPU_IMAGES_PER_THREAD_S = {
    ("resnet152", "ten"): 0.47,
    ("resnet152", "centre"): 5.4,
    ("efficientnet_lite0", "ten"): 2.2,
    ("efficientnet_lite0", "centre"): 27.9,
}
#: Image features on a GPU, images per second: MEASURED on one NVIDIA H200 with 16 threads
#: (workflow/report/measured/image-features-h200-2026-12-04.json; random weights cost the same).
GPU_IMAGES_PER_S = {
    ("resnet152", "ten"): 83.7,
    ("resnet152", "centre"): 256.0,
    ("efficientnet_lite0", "ten"): 107.0,
    ("efficientnet_lite0", "centre"): 357.0,
}
#: Feature dimension of each image backbone (vgs.features.backbones builds them; tests/test_costs.py
#: checks these against the built networks, which need torch, so the rules' requests do not).
IMAGE_DIM = {"resnet152": 2048, "efficientnet_lite0": 1280}
#: Memory: a job reads store rows on demand (vgs.store), so what grows with the corpus is the index
#: of the keys it opens: 0.18 GB for 449k captions, manifest included (docs/benchmarks.md, "Memory at scale").
STORE_INDEX_BYTES_PER_KEY = 400
#: Memory of a process with torch imported and a model's workspace, before any data (measured: an
#: MFCC job peaked at 1.06 GB here); and of one without torch.
TORCH_BASE_MB = 1100.0
PYTHON_BASE_MB = 300.0
#: Bytes a loaded manifest row takes in pandas, and on disk.
MANIFEST_ROW_BYTES = {"memory": 1000, "disk": 250}
#: Start-up of every job (interpreter, imports, model load), seconds: in the world run of 2026-12-01
#: its 104 jobs other than training took 404 s of job time in all (`make run`), ~4 s each.
JOB_START_S = 5.0
#: Start-up of a job that imports no torch (load_corpus: pandas and soundfile), seconds: measured
#: 0.44-0.68 CPU-s on the tiny world's runs (2026-12-07, two machines); projecting it as a torch
#: job's start made its projection 8-11x the measurement.
PYTHON_START_S = 1.0
#: Mean duration of a generated-world caption spoken by espeak-ng (measured here: 2.3 s over 640
#: captions of the three world corpora) and of an STS sentence (ASSUMED: ~11 words read at ~3 words/s).
WORLD_CAPTION_S = 2.3
STS_SENTENCE_S = 3.7
#: Pairs and distinct normalised sentences of the real STS 2012-2016 test sets (measured here:
#: 12,544 pairs -> 20,398 sentences), used before sts_ingest has written them; the released
#: natural speech has four speakers per pair.
REAL_STS_PAIRS = 12_544
REAL_STS_SENTENCES = 20_398
NATURAL_SPEAKERS_PER_PAIR = 4
#: Requests are the projection times these margins (runtime at least MIN_RUNTIME_MIN minutes).
RUNTIME_MARGIN = 2.0
MEMORY_MARGIN = 1.5
MIN_RUNTIME_MIN = 10

FRAMES_PER_S = 100
MFCC_DIM = 39
FLOAT_BYTES = 4
MB = 1e6


class MissingStatistics(ConfigError):
    """A corpus's size is needed but neither its manifest nor ``corpora.<c>.size`` gives it."""


@dataclass(frozen=True)
class CorpusSize:
    """What a loaded corpus holds (all splits of its manifest) and where the numbers come from."""

    captions: int
    images: int
    hours: float
    train_captions: int
    source: str  # "manifest", "published (corpora.<c>.size)" or "world configuration"
    #: Test captions when known (a manifest's test rows; a 5k test set: all of it); else see test_captions.
    test: int | None = None

    @property
    def caption_seconds(self) -> float:
        return 3600 * self.hours / self.captions

    @property
    def test_captions(self) -> int:
        """Known, or dev and test as equal halves of the rest (all three formats: 1,000 images each)."""
        return self.test if self.test is not None else (self.captions - self.train_captions) // 2

    @property
    def test_images(self) -> int:
        return max(1, round(self.test_captions * self.images / self.captions))


@dataclass(frozen=True)
class JobCost:
    """Projected wall time, device, peak memory and output size of one job."""

    seconds: float
    threads: int
    gpu: bool
    peak_mb: float
    disk_mb: float

    @property
    def cpu_hours(self) -> float:
        """Core-hours of a CPU job (a GPU job's cores are counted in its GPU-hours)."""
        return 0.0 if self.gpu else self.seconds * self.threads / 3600

    @property
    def gpu_hours(self) -> float:
        return self.seconds / 3600 if self.gpu else 0.0

    def resources(self) -> dict[str, int]:
        """Snakemake resources: the projection with safety margins (mem_mb, runtime in minutes, disk_mb)."""
        return {
            "mem_mb": math.ceil(self.peak_mb * MEMORY_MARGIN),
            "runtime": max(MIN_RUNTIME_MIN, math.ceil(self.seconds / 60 * RUNTIME_MARGIN)),
            "disk_mb": math.ceil(self.disk_mb) + 1,
        }


# --- Model arithmetic -------------------------------------------------------------------------


def model_size(config: Mapping[str, Any]) -> dict[str, int]:
    """The architecture settings of ``model.size`` (mfcc_dim filled in)."""
    section = config["model"]
    if section["size"] not in section["sizes"]:
        raise ConfigError(f"config error at model.size: {section['size']!r} is not one of model.sizes")
    return {"mfcc_dim": MFCC_DIM, **section["sizes"][section["size"]]}


def forward_flops(size: Mapping[str, int], frames: float) -> float:
    """FLOPs (2 x multiply-adds) of one caption's forward pass with ``frames`` MFCC frames."""
    steps = max(1.0, (frames - size["conv_kernel"]) / size["conv_stride"] + 1)
    h = size["rnn_hidden"]
    conv = 2 * size["mfcc_dim"] * size["conv_kernel"] * size["conv_channels"]
    lstm = sum(
        2 * 2 * 4 * h * ((size["conv_channels"] if layer == 0 else 2 * h) + h) for layer in range(size["rnn_layers"])
    )
    attention = 2 * 2 * (2 * h) * size["attention_hidden"]
    return steps * (conv + lstm + attention)


def parameter_count(size: Mapping[str, int], image_dim: int) -> int:
    """Parameters of the VGS model (vgs.model): conv, two LSTMs per layer, attention, image projection."""
    h, c = size["rnn_hidden"], size["conv_channels"]
    conv = size["mfcc_dim"] * size["conv_kernel"] * c + c
    lstm = sum(2 * (4 * h * ((c if layer == 0 else 2 * h) + h) + 8 * h) for layer in range(size["rnn_layers"]))
    a = size["attention_hidden"]
    attention = 2 * h * a + a + a * 2 * h + 2 * h
    image = image_dim * 2 * h + 2 * h
    return conv + lstm + attention + image


def image_backbone(config: Mapping[str, Any]) -> str:
    """The image encoder's architecture (random_resnet152 costs what resnet152 costs)."""
    return config["features"]["image"]["backbone"].removeprefix("random_")


def mfcc_mb(audio_seconds: float) -> float:
    """Size of the MFCC store of ``audio_seconds`` of speech: 39 float32 per 10 ms frame."""
    return audio_seconds * FRAMES_PER_S * MFCC_DIM * FLOAT_BYTES / MB


# --- Sizes --------------------------------------------------------------------------------------


def corpus_manifest(results: str | Path, corpus: str) -> Path:
    """Where ``load_corpus`` writes a corpus's manifest (DESIGN.md, files between stages)."""
    return _under(results, layout.CORPUS_MANIFEST, corpus=corpus)


def _under(results: str | Path, template: str, **values: object) -> Path:
    """A :mod:`vgs.layout` path inside another results folder (a test's, or a scratch checkout's)."""
    return Path(results) / Path(layout.fill(template, **values)).relative_to(layout.RESULTS)


@functools.lru_cache(maxsize=32)
def _manifest_counts(path: str, mtime: float) -> tuple[int, int, int, int]:
    """(captions, images, train captions, test captions) of a manifest; cached per modification time,
    since a Snakemake run asks for every job's resources and Places' manifest holds 400k rows."""
    import pandas as pd  # only when a manifest exists

    frame = pd.read_csv(path, sep="\t", usecols=["utt_id", "image_id", "split"], dtype=str)
    split = frame["split"]
    return len(frame), frame["image_id"].nunique(), int((split == "train").sum()), int((split == "test").sum())


def corpus_size(config: Mapping[str, Any], corpus: str, results: str | Path = layout.RESULTS) -> CorpusSize:
    """The corpus's size: its manifest's counts once loaded, else the published or world figures.

    Raises :class:`MissingStatistics` naming ``corpora.<c>.size`` when neither exists.
    """
    spec = corpus_spec(config, corpus)
    published = spec.get("size")
    world = (config.get("world") or {}).get("corpora", {}).get(spec.get("world", ""))
    if world:
        per_image = world["captions_per_image"]
        images = sum(world["images"].values())
        expected = CorpusSize(
            images * per_image,
            images,
            images * per_image * WORLD_CAPTION_S / 3600,
            world["images"]["train"] * per_image,
            "world configuration",
        )
    elif published:
        expected = CorpusSize(
            published["captions"],
            published["images"],
            published["hours"],
            published["train_captions"],
            f"published (corpora.{corpus}.size)",
            published.get("test_captions"),
        )
    else:
        expected = None
    manifest = corpus_manifest(results, corpus)
    if manifest.exists():
        captions, images, train, test = _manifest_counts(str(manifest), os.path.getmtime(manifest))
        seconds = expected.caption_seconds if expected else None
        if seconds is None:
            raise MissingStatistics(
                f"config error at corpora.{corpus}.size: needed for the mean caption duration of {manifest} "
                "(give captions, images, hours and train_captions of the corpus as loaded; see paper.yaml)"
            )
        return CorpusSize(captions, images, captions * seconds / 3600, train, "manifest", test)
    if expected is None:
        raise MissingStatistics(
            f"config error at corpora.{corpus}.size: the corpus is not loaded yet ({manifest} is missing) and "
            "its published size is not given (captions, images, hours and train_captions as loaded; see "
            "workflow/config/paper.yaml)"
        )
    return expected


def sts_counts(config: Mapping[str, Any], sts_set: str, results: str | Path = layout.RESULTS) -> tuple[int, int]:
    """(pairs, distinct sentences) of an STS set: sts_ingest's files once written, else the world's
    configuration or the real STS 2012-2016 test sets (an upper bound for a set restricted to subtasks)."""
    files = [_under(results, template, sts_set=sts_set) for template in (layout.STS_PAIRS, layout.STS_SENTENCES)]
    if all(path.exists() for path in files):
        return tuple(_data_lines(path) for path in files)  # type: ignore[return-value]
    if config["sts"]["sets"][sts_set].get("world"):
        world_sts = config["world"]["sts"]
        pairs = world_sts["pairs_per_subtask"] * len(world_sts["subtasks"])
        return pairs, 2 * pairs
    return REAL_STS_PAIRS, REAL_STS_SENTENCES


def _data_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for _ in handle) - 1


def sts_utterances(config: Mapping[str, Any], sts_set: str, name: str, results: str | Path = layout.RESULTS) -> int:
    """Utterances of one STS utterance set: a voice speaks every distinct sentence once; the
    natural sample is ``fraction`` of the pairs, both sides, read by one stand-in speaker each
    (synthetic) or by every speaker of the release (spokensts: four)."""
    pairs, sentences = sts_counts(config, sts_set, results)
    if name != NATURAL:
        return sentences
    natural = config["sts"]["natural"]
    readers = NATURAL_SPEAKERS_PER_PAIR if natural["source"] == "spokensts" else 1
    return 2 * math.ceil(natural["fraction"] * pairs) * readers


# --- Jobs ---------------------------------------------------------------------------------------


def _uses_gpu(config: Mapping[str, Any], training: bool = False) -> bool:
    """Whether the job requests a GPU (and so runs on one): ``resources.gpu``, and for training ``train.gpus``."""
    return bool(config["resources"]["gpu"]) and (not training or config["train"]["gpus"] > 0)


def _model_seconds(
    config: Mapping[str, Any],
    flops: float,
    threads: int,
    gpu: bool,
    precision: str,
    gpu_padded_tflops: float | None = None,
) -> float:
    """Seconds of VGS-model work at the precision's GPU rate (or ``gpu_padded_tflops``, a rate
    measured elsewhere), or at the model size's CPU rate (reduced-precision autocast is slower there,
    TF32 does not exist; ``auto`` means fp16 on CUDA, fp32 on a CPU:
    :func:`vgs.train.device.select_runtime`)."""
    if gpu:
        rate = gpu_padded_tflops or GPU_PADDED_TFLOPS["fp16" if precision == "auto" else precision]
        return flops / (rate * 1e12)
    rate = CPU_TRAIN_GFLOPS_PER_THREAD.get(config["model"]["size"], CPU_TRAIN_GFLOPS_PER_THREAD["paper"])
    slowdown = CPU_REDUCED_PRECISION_SLOWDOWN if precision in ("bf16", "fp16") else 1.0
    return flops * slowdown / (rate * 1e9 * threads)


def load_corpus_cost(config: Mapping[str, Any], corpus: str, results: str | Path = layout.RESULTS) -> JobCost:
    size = corpus_size(config, corpus, results)
    return JobCost(
        PYTHON_START_S + size.captions / HEADER_CHECKS_PER_CPU_S,
        1,
        False,
        PYTHON_BASE_MB + size.captions * MANIFEST_ROW_BYTES["memory"] / MB,
        size.captions * MANIFEST_ROW_BYTES["disk"] / MB,
    )


def _uttset_seconds(config: Mapping[str, Any], uttset: str, results: str | Path) -> float:
    """Seconds of audio in an utterance set (``corpus/<c>``, ``sts/<set>/<voice or natural>``)."""
    kind, *names = WorkflowPlan.uttset_parts(uttset)
    if kind == "corpus":
        return corpus_size(config, names[0], results).hours * 3600
    return sts_utterances(config, *names, results) * STS_SENTENCE_S


def mfcc_cost(config: Mapping[str, Any], uttset: str, shards: int, results: str | Path = layout.RESULTS) -> JobCost:
    """One of the ``shards`` MFCC jobs of ``uttset`` (:meth:`WorkflowPlan.mfcc_shard_count`)."""
    threads = config["features"]["mfcc"]["threads"]
    audio = _uttset_seconds(config, uttset, results) / shards
    return JobCost(
        JOB_START_S + audio / MFCC_AUDIO_S_PER_CPU_S / threads, threads, False, TORCH_BASE_MB, mfcc_mb(audio)
    )


def image_features_cost(config: Mapping[str, Any], corpus: str, results: str | Path = layout.RESULTS) -> JobCost:
    image = config["features"]["image"]
    encoder, crops = image_backbone(config), image["crops"]
    images = corpus_size(config, corpus, results).images
    gpu = _uses_gpu(config) and image["device"] != "cpu"
    if gpu:
        seconds = images / GPU_IMAGES_PER_S[(encoder, crops)]
    else:
        seconds = images / (CPU_IMAGES_PER_THREAD_S[(encoder, crops)] * image["threads"])
    disk = images * IMAGE_DIM[encoder] * FLOAT_BYTES / MB
    return JobCost(JOB_START_S + seconds, image["threads"], gpu, TORCH_BASE_MB + 1000, disk)


def _index_mb(config: Mapping[str, Any], corpus: str, results: str | Path) -> float:
    """Memory of opening the corpus's MFCC cache and image features: their key indexes (rows are
    read on demand, so the frames themselves are not held)."""
    size = corpus_size(config, corpus, results)
    return (size.captions + size.images) * STORE_INDEX_BYTES_PER_KEY / MB


def train_cost(
    config: Mapping[str, Any],
    model: str,
    results: str | Path = layout.RESULTS,
    gpu_padded_tflops: float | None = None,
    batching: str | None = None,
) -> JobCost:
    """One training job of ``model``; ``gpu_padded_tflops`` and ``batching`` (``bucketed`` or
    ``random``) replace the GPU rate of its precision and its configured batches (a measured arm of
    the GPU check, projected onto this configuration)."""
    spec = trained_models(config)[model]
    train = train_settings(config, model)
    size = corpus_size(config, spec["corpus"], results)
    captions = min(spec["subset_total"], size.train_captions) if spec.get("subset_k") else size.train_captions
    dev = size.test_captions  # dev is as large as test
    frames = min(train["max_frames"], size.caption_seconds * FRAMES_PER_S)
    arch = model_size(config)
    padding = PADDING[batching or ("bucketed" if train["bucket"] else "random")]
    flops = (3 * captions + dev) * train["epochs"] * forward_flops(arch, frames) * padding
    gpu = _uses_gpu(config, training=True)
    threads = config["train"]["threads"]
    params = parameter_count(arch, IMAGE_DIM[image_backbone(config)])
    peak = TORCH_BASE_MB + _index_mb(config, spec["corpus"], results) + 4 * params * FLOAT_BYTES / MB
    # checkpoints/last.pt (weights + Adam's two moments), checkpoints/best.pt and best.pt.
    disk = 5 * params * FLOAT_BYTES / MB
    seconds = _model_seconds(config, flops, threads, gpu, train["precision"], gpu_padded_tflops)
    return JobCost(JOB_START_S + seconds, threads, gpu, peak, disk)


def training_gpu_hours(
    plan: WorkflowPlan,
    results: str | Path = layout.RESULTS,
    gpu_padded_tflops: float | None = None,
    batching: str | None = None,
) -> dict[str, float]:
    """GPU-hours of one training job (one seed) of each of the plan's table models: the paper's eight
    for workflow/config/paper.yaml. The one GPU-hour estimator: `make plan` sums the same jobs, and
    the GPU check projects each measured arm through here (see :func:`train_cost` for the overrides)."""
    return {
        model: train_cost(plan.config, model, results, gpu_padded_tflops, batching).gpu_hours
        for model in plan.table_models
    }


def _embed_cost(config: Mapping[str, Any], utterances: int, frames: float, index_mb: float) -> JobCost:
    arch = model_size(config)
    flops = utterances * forward_flops(arch, min(frames, config["train"]["max_frames"])) * PADDING["bucketed"]
    gpu = _uses_gpu(config)
    threads = config["train"]["threads"]
    params = parameter_count(arch, IMAGE_DIM[image_backbone(config)])
    peak = TORCH_BASE_MB + index_mb + params * FLOAT_BYTES / MB
    disk = utterances * 2 * arch["rnn_hidden"] * FLOAT_BYTES / MB
    seconds = _model_seconds(config, flops, threads, gpu, config["train"]["precision"])
    return JobCost(JOB_START_S + seconds, threads, gpu, peak, disk)


def embed_utterances_cost(config: Mapping[str, Any], corpus: str, results: str | Path = layout.RESULTS) -> JobCost:
    """The test split of a corpus, read from the corpus's whole MFCC cache."""
    size = corpus_size(config, corpus, results)
    return _embed_cost(
        config, size.test_captions, size.caption_seconds * FRAMES_PER_S, _index_mb(config, corpus, results)
    )


def embed_sts_cost(
    config: Mapping[str, Any], sts_set: str, names: list[str], results: str | Path = layout.RESULTS
) -> JobCost:
    """The six voices and the natural sample of one STS set, in one job."""
    utterances = sum(sts_utterances(config, sts_set, name, results) for name in names)
    return _embed_cost(config, utterances, STS_SENTENCE_S * FRAMES_PER_S, utterances * STORE_INDEX_BYTES_PER_KEY / MB)


def embed_images_cost(config: Mapping[str, Any], corpus: str, results: str | Path = layout.RESULTS) -> JobCost:
    """Test images through the image projection: tiny work; the feature store's index in memory."""
    size = corpus_size(config, corpus, results)
    dim = IMAGE_DIM[image_backbone(config)]
    store = size.images * STORE_INDEX_BYTES_PER_KEY / MB
    arch = model_size(config)
    params = parameter_count(arch, dim)
    gpu = _uses_gpu(config)
    return JobCost(
        JOB_START_S,
        1,
        gpu,
        TORCH_BASE_MB + store + params * FLOAT_BYTES / MB,
        size.test_images * 2 * arch["rnn_hidden"] * FLOAT_BYTES / MB,
    )


#: How each heavy rule's job is costed from its wildcards and the plan, in pipeline order; other rules are light.
HEAVY_RULES: dict[str, Callable[[WorkflowPlan, Mapping[str, str], str | Path], JobCost]] = {
    "load_corpus": lambda plan, w, results: load_corpus_cost(plan.config, w["corpus"], results),
    "mfcc": lambda plan, w, results: mfcc_cost(plan.config, w["uttset"], plan.mfcc_shard_count(w["uttset"]), results),
    "image_features": lambda plan, w, results: image_features_cost(plan.config, w["corpus"], results),
    "train": lambda plan, w, results: train_cost(plan.config, w["model"], results),
    "embed_utterances": lambda plan, w, results: embed_utterances_cost(
        plan.config, plan.uttset_parts(w["uttset"])[1], results
    ),
    "embed_sts": lambda plan, w, results: embed_sts_cost(plan.config, w["sts_set"], plan.sts_uttset_names, results),
    "embed_images": lambda plan, w, results: embed_images_cost(plan.config, w["corpus"], results),
}


def job_cost(
    plan: WorkflowPlan | Mapping[str, Any],
    rule: str,
    wildcards: Mapping[str, str],
    results: str | Path = layout.RESULTS,
) -> JobCost | None:
    """The projected cost of one job of ``rule`` with ``wildcards``; None for a light rule (its
    fixed request in the rule file stands). ``plan`` is the workflow's plan, or a validated
    configuration to build it from (a caller costing many jobs builds it once)."""
    cost = HEAVY_RULES.get(rule)
    if cost is None:
        return None
    return cost(plan if isinstance(plan, WorkflowPlan) else WorkflowPlan(plan), wildcards, results)
