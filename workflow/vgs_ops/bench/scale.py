"""Memory at scale: training and encoding from an MFCC store larger than the machine's memory.

Why: the MFCC caches of the paper's corpora are ~42 GB (SpokenCOCO) and ~56 GB (Places); a job
whose memory grew with the store would not fit the nodes it asks for. This benchmark writes a
synthetic MFCC store (SpokenCOCO-like caption lengths: log-normal, median 430 frames = 4.3 s,
39 float32 per frame; five captions per image; sharded at ~1 GB per file like the workflow's MFCC
shards) of each requested size, then, each in its own process so that each peak is its own:

* **write**: the store and its image features through :func:`vgs.store.write_store`;
* **train**: :func:`vgs.train.data.load_training_data`, then a fixed number of training steps of
  the real :class:`~vgs.train.loop.Trainer` (``batch_tensors`` then ``train_step``), timing the
  loader (store -> padded device tensors) and the model step apart, plus a loader-only pass over
  further batches; their ratio is the loader's rate over the model's, as gpu-check's
  ``bottleneck`` reports it (> 1: the model, not the data, limits training);
* **encode**: :func:`vgs.train.embed.embed_utterances` of the test split (2% of the captions).

It records peak RSS (``ru_maxrss``) and its growth over the process's RSS before the store is
opened, and captions/s. Goal: peak RSS under 4 GB at any store size. The frames are noise (the
speed of reading and of the model does not depend on their values). Reads of a store larger than
the page cache come partly from disk; that is the point of the large size.

Settings (environment variables, for running a part alone, e.g. on a CUDA machine):
``VGS_SCALE_SIZES_GB`` (default ``1,32``), ``VGS_SCALE_PARTS`` (default ``train,encode``),
``VGS_SCALE_STEPS`` (default 40), ``VGS_SCALE_MODEL`` (``small`` or ``paper``; default ``paper`` on
CUDA, ``small`` on CPU), ``VGS_SCALE_DIR`` (scratch parent directory; the stores are deleted
after each size). Disk: the largest size plus ~1 GB, transiently.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vgs.identity import RunId

NAME = "scale"
ON_REQUEST = True  # make bench leaves it out (33 GB of disk, ~25 min); --only scale and --quick run it

MEDIAN_FRAMES = 430
MFCC_DIM = 39
CAPTIONS_PER_IMAGE = 5
SHARD_BYTES = 2**30
TEST_FRACTION = 0.02
DEV_IMAGES = 40
BATCH = 32
GOAL_PEAK_RSS_GB = 4.0
POOL_ROWS = 2**18  # noise frames that captions are cut from (40 MB)
BENCH_RUN = RunId("scale-bench", 0)  # the run model.pt records and encoding checks, as the rules' runs


def settings(quick: bool) -> dict[str, Any]:
    """What to run, from the environment (quick mode: one tiny store, two steps, the small model)."""
    parts = os.environ.get("VGS_SCALE_PARTS", "train,encode").split(",")
    if not parts or set(parts) - {"train", "encode"}:
        raise ValueError(f"VGS_SCALE_PARTS={','.join(parts)!r}: use train, encode or train,encode")
    if quick:
        return {"sizes_gb": [0.005], "parts": parts, "steps": 2, "loader_batches": 2, "model": "small"}
    import torch

    return {
        "sizes_gb": [float(x) for x in os.environ.get("VGS_SCALE_SIZES_GB", "1,32").split(",")],
        "parts": parts,
        "steps": int(os.environ.get("VGS_SCALE_STEPS", "40")),
        "loader_batches": 4 * int(os.environ.get("VGS_SCALE_STEPS", "40")),
        "model": os.environ.get("VGS_SCALE_MODEL", "paper" if torch.cuda.is_available() else "small"),
    }


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far, in GB (1e9 bytes, like the store sizes).

    Why ``VmHWM`` first: ``ru_maxrss`` survives ``exec`` on Linux, so a child started by a large
    parent would report the parent's peak; ``VmHWM`` belongs to the new process image.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e9  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # KiB on Linux


# --- phases (each runs in its own process: python -m vgs_ops.bench.scale PHASE ARGS_JSON) ----------------


def write_phase(directory: str, target_bytes: float, image_dim: int, seed: int = 0) -> dict[str, object]:
    """Write manifest.tsv, mfcc shard files of ~1 GB and images.h5 totalling ``target_bytes`` of frames."""
    import pandas as pd

    from vgs.io import write_tsv
    from vgs.store import write_store
    from vgs.train.synthetic import caption_lengths

    root = Path(directory)
    rng = np.random.default_rng(seed)
    estimate = int(target_bytes / (MEDIAN_FRAMES * MFCC_DIM * 4)) + 50  # median < mean: overshoots
    lengths = caption_lengths(estimate, rng, MEDIAN_FRAMES)
    count = max(CAPTIONS_PER_IMAGE * 8, int(np.searchsorted(np.cumsum(lengths) * MFCC_DIM * 4, target_bytes)))
    count -= count % CAPTIONS_PER_IMAGE
    lengths = lengths[:count] if count <= len(lengths) else caption_lengths(count, rng, MEDIAN_FRAMES)
    images = count // CAPTIONS_PER_IMAGE
    test_images = max(2, round(TEST_FRACTION * images))
    dev_images = min(DEV_IMAGES, max(2, images // 10))
    split = np.array(["train"] * (images - test_images - dev_images) + ["dev"] * dev_images + ["test"] * test_images)
    image_ids = [f"img{i:07d}" for i in range(images)]
    manifest = pd.DataFrame(
        {
            "utt_id": [f"utt{k:08d}" for k in range(count)],
            "image_id": np.repeat(image_ids, CAPTIONS_PER_IMAGE),
            "split": np.repeat(split, CAPTIONS_PER_IMAGE),
        }
    )
    write_tsv(root / "manifest.tsv", manifest)
    pool = rng.standard_normal((POOL_ROWS, MFCC_DIM), dtype=np.float32)
    starts = rng.integers(0, POOL_ROWS - int(lengths.max()), size=count)
    bytes_per_caption = lengths * MFCC_DIM * 4
    shards = max(2, round(float(bytes_per_caption.sum()) / SHARD_BYTES))  # >= 2: shards are merged as in the workflow
    bounds = np.linspace(0, count, shards + 1).astype(int)
    start = time.perf_counter()
    paths = []
    for shard in range(shards):
        paths.append(str(root / f"mfcc{shard:03d}.h5"))
        rows = (
            (manifest.utt_id[k], pool[starts[k] : starts[k] + lengths[k]])
            for k in range(bounds[shard], bounds[shard + 1])
        )
        write_store(paths[-1], rows, MFCC_DIM, "mfcc")
    write_store(
        root / "images.h5",
        ((i, rng.standard_normal(image_dim, dtype=np.float32)) for i in image_ids),
        image_dim,
        "image",
    )
    seconds = time.perf_counter() - start
    on_disk = sum(os.path.getsize(p) for p in paths)
    return {
        "mfcc_paths": paths,
        "captions": count,
        "images": images,
        "shards": shards,
        "test_captions": int(test_images * CAPTIONS_PER_IMAGE),
        "store_gb": round(on_disk / 1e9, 3),
        "mean_frames": round(float(lengths.mean()), 1),
        "write_seconds": round(seconds, 1),
        "write_mb_per_s": round(on_disk / 1e6 / seconds, 1),
        "peak_rss_gb": round(peak_rss_gb(), 3),
    }


def train_phase(
    directory: str, mfcc_paths: list[str], steps: int, loader_batches: int, model: str
) -> dict[str, object]:
    """Open the store as training does, train ``steps`` steps, then time the loader alone."""
    import torch

    from vgs.model import ModelConfig
    from vgs.train.batching import epoch_batches
    from vgs.train.checkpoint import save_checkpoint
    from vgs.train.data import load_training_data
    from vgs.train.loop import TrainConfig, Trainer

    root = Path(directory)
    before = peak_rss_gb()
    start = time.perf_counter()
    train_set, _ = load_training_data(root / "manifest.tsv", mfcc_paths, root / "images.h5")
    open_seconds = time.perf_counter() - start
    after_open = peak_rss_gb()
    config = ModelConfig.named(model, train_set.image_features.shape[1])
    trainer = Trainer(config, TrainConfig(batch_size=BATCH, progress=False), 0, root / "checkpoints")
    device = trainer.runtime.device.type
    batches = [
        b for b in epoch_batches(train_set.image_ids, train_set.lengths, BATCH, np.random.default_rng(0)) if len(b) > 1
    ]
    timed, extra = batches[: steps + 1], batches[steps + 1 : steps + 1 + loader_batches]

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    trainer.train_step(*trainer.batch_tensors(train_set, timed[0]), 1e-4)  # warm-up (allocator, cuDNN)
    sync()
    load_s = step_s = 0.0
    captions = 0
    for indices in timed[1:]:
        t0 = time.perf_counter()
        tensors = trainer.batch_tensors(train_set, indices)
        sync()
        t1 = time.perf_counter()
        trainer.train_step(*tensors, 1e-4)
        sync()
        load_s, step_s = load_s + t1 - t0, step_s + time.perf_counter() - t1
        captions += len(indices)
    t0 = time.perf_counter()
    for indices in extra:
        trainer.batch_tensors(train_set, indices)
    sync()
    loader_s = time.perf_counter() - t0
    loader_captions = sum(len(b) for b in extra)
    save_checkpoint(
        root / "model.pt",
        {
            "model_config": config.as_dict(),
            "model": trainer.model.state_dict(),
            "model_name": BENCH_RUN.system,
            "seed": BENCH_RUN.seed,
            "epoch": 0,
            "metrics": {},
        },
    )
    loader_rate = (captions + loader_captions) / (load_s + loader_s)
    model_rate = captions / step_s
    peak = peak_rss_gb()
    return {
        "device": device,
        "model": model,
        "steps": len(timed) - 1,
        "train_captions": len(train_set),
        "open_seconds": round(open_seconds, 2),
        "rss_before_open_gb": round(before, 3),
        "rss_after_open_gb": round(after_open, 3),
        "peak_rss_gb": round(peak, 3),
        "rss_growth_gb": round(peak - before, 3),
        "captions_per_s": round(captions / (load_s + step_s), 1),
        "loader_captions_per_s": round(loader_rate, 1),
        "model_captions_per_s": round(model_rate, 1),
        "loader_over_model": round(loader_rate / model_rate, 2),
        "verdict": "model" if loader_rate > 2 * model_rate else "loader (under 2x the model's rate)",
    }


def embed_phase(directory: str, mfcc_paths: list[str], test_captions: int) -> dict[str, object]:
    """Encode the test split with the trained model, as the embed_utterances rule does."""
    from vgs.train.embed import embed_utterances

    root = Path(directory)
    before = peak_rss_gb()
    start = time.perf_counter()
    count = embed_utterances(
        root / "manifest.tsv", mfcc_paths, root / "model.pt", root / "test.h5", split="test", run=BENCH_RUN
    )
    seconds = time.perf_counter() - start
    peak = peak_rss_gb()
    return {
        "captions": count,
        "seconds": round(seconds, 1),
        "captions_per_s": round(count / seconds, 1),
        "rss_before_gb": round(before, 3),
        "peak_rss_gb": round(peak, 3),
        "rss_growth_gb": round(peak - before, 3),
        "expected_captions": test_captions,
    }


PHASES = {"write": write_phase, "train": train_phase, "encode": embed_phase}


def in_process(phase: str, **arguments: object) -> dict[str, object]:
    """Run one phase in a fresh Python process; return its JSON result."""
    import vgs

    env = dict(os.environ)
    package_root = str(Path(vgs.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "vgs_ops.bench.scale", phase, json.dumps(arguments)],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scale benchmark phase {phase} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(quick: bool) -> dict:
    chosen = settings(quick)
    from vgs_ops.bench.train import SIZES

    image_dim = SIZES[chosen["model"]].image_dim
    result: dict[str, Any] = {
        "goal_peak_rss_gb": GOAL_PEAK_RSS_GB,
        "machine_memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
        "caption_lengths": f"log-normal, median {MEDIAN_FRAMES} frames, sigma 0.35 (SpokenCOCO-like), synthetic noise",
        "settings": chosen,
        "sizes": [],
    }
    parent = os.environ.get("VGS_SCALE_DIR")
    if parent:
        Path(parent).mkdir(parents=True, exist_ok=True)
    for size_gb in chosen["sizes_gb"]:
        with tempfile.TemporaryDirectory(prefix="vgs-scale-", dir=parent) as directory:
            row: dict[str, Any] = {"target_gb": size_gb}
            row["write"] = written = in_process(
                "write", directory=directory, target_bytes=size_gb * 1e9, image_dim=image_dim
            )
            paths = written["mfcc_paths"]
            if "train" in chosen["parts"] or "encode" in chosen["parts"]:
                row["train"] = in_process(
                    "train",
                    directory=directory,
                    mfcc_paths=paths,
                    steps=chosen["steps"],
                    loader_batches=chosen["loader_batches"],
                    model=chosen["model"],
                )
            if "encode" in chosen["parts"]:
                row["encode"] = in_process(
                    "encode", directory=directory, mfcc_paths=paths, test_captions=written["test_captions"]
                )
            del written["mfcc_paths"]
            peaks = [row[p]["peak_rss_gb"] for p in ("write", "train", "encode") if p in row]
            row["peak_rss_gb"] = max(peaks)
            row["under_goal"] = row["peak_rss_gb"] < GOAL_PEAK_RSS_GB
            result["sizes"].append(row)
    return result


def summary(record: Mapping[str, Any]) -> str:
    """Markdown table of one run (what docs/benchmarks.md quotes)."""
    r = record["results"]
    machine = record["machine"]
    lines = [
        f"Scale benchmark, {record['when'][:10]}, {machine['processor']} x{machine['cpu_count']} "
        f"({r['machine_memory_gb']} GB RAM), torch {machine['torch']}, model {r['settings']['model']}.",
        "",
        "| store on disk | captions | peak RSS write / train / encode (GB) | train captions/s | "
        "loader / model captions/s | encode captions/s (test split) |",
        "|---|---|---|---|---|---|",
    ]
    for row in r["sizes"]:
        w, t, e = row["write"], row.get("train", {}), row.get("encode", {})
        lines.append(
            f"| {w['store_gb']} GB ({w['shards']} files) | {w['captions']:,} | {w['peak_rss_gb']:.2f} / "
            f"{t.get('peak_rss_gb', '—')} / {e.get('peak_rss_gb', '—')} | {t.get('captions_per_s', '—')} | "
            f"{t.get('loader_captions_per_s', '—')} / {t.get('model_captions_per_s', '—')} "
            f"({t.get('loader_over_model', '—')}x) | {e.get('captions_per_s', '—')} ({e.get('captions', '—')}) |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    phase, arguments = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(PHASES[phase](**arguments)))
