"""Encoding throughput of external speech models (vgs.speech_models.hf) with random weights.

Measures utterances per second of the workflow's own encoding path (``pooled_layers`` over
length-sorted batches) for a tiny model and base-size models (768 wide, 12 layers, as
wav2vec2-base / hubert-base), and projects the cost of all SpokenSTS per encoder. Random weights
cost what trained ones cost: the arithmetic does not depend on the values.

Why it imports only torch, numpy and transformers (through vgs.speech_models.hf): it is meant to run as
``PYTHONPATH=workflow python -m vgs_ops.bench.speech_models`` on GPU machines without the workflow's
audio stack (soundfile, torchaudio). ``python -m vgs_ops.bench --only speech_models`` runs it with the other
benchmarks.

Assumptions, stated in the results: utterances of 2-5 s, mean 3.5 s (a read STS sentence); the
cost grows about linearly with the mean duration, faster for long utterances (attention is
quadratic in frames). Every layer comes from the same forward pass, so reading 1 or 13 layers costs
the same time; a layer read adds 4 x hidden-size bytes per utterance to disk and memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from transformers import AutoConfig, AutoModel

from vgs import layout
from vgs.speech_models.hf import (
    SAMPLE_RATE,
    feature_extractor,
    length_batches,
    padding_safe,
    pooled_layers,
    tiny_config,
)

NAME = "speech_models"
ON_REQUEST = True  # make bench leaves it out (~10 min on 2 shared cores); --only speech_models and --quick run it
# SpokenSTS at the paper's size: 20,398 distinct sentences x 6 voices, and the natural sample
# (638 pairs x 2 sides x 4 speakers).
SYNTHETIC_UTTERANCES = 122_388
NATURAL_UTTERANCES = 638 * 2 * 4
MEAN_SECONDS = 3.5


def configurations(quick: bool) -> dict[str, tuple[object, int]]:
    """Name -> (transformers configuration, utterances to encode)."""
    tiny = tiny_config("hubert")
    if quick:
        return {"tiny-hubert (layer norm, batched)": (tiny, 8)}
    on_gpu = torch.cuda.is_available()
    return {
        "tiny-hubert (layer norm, batched)": (tiny, 1024 if on_gpu else 64),
        # hubert-base / wav2vec2-base / wavlm-base: group norm, so one utterance at a time.
        "base hubert (group norm, per utterance)": (AutoConfig.for_model("hubert"), 512 if on_gpu else 24),
        # The same size with the large checkpoints' layer-norm extractor: batched with masks.
        "base hubert (layer norm, batched)": (
            AutoConfig.for_model("hubert", feat_extract_norm="layer", do_stable_layer_norm=True),
            2048 if on_gpu else 24,
        ),
    }


def measure(config: object, utterances: int, device: torch.device, batch_seconds: float = 120.0) -> dict[str, object]:
    """Encode ``utterances`` random waveforms of 2-5 s (every layer read), after one warm-up batch."""
    torch.manual_seed(0)
    model = AutoModel.from_config(config).eval().to(device)
    extractor = feature_extractor()
    rng = np.random.default_rng(0)
    seconds = np.linspace(2.0, 5.0, utterances)
    waves = [rng.standard_normal(int(s * SAMPLE_RATE)).astype(np.float32) * 0.1 for s in seconds]
    layers = list(range(config.num_hidden_layers + 1))
    batches = length_batches([len(w) for w in waves], int(batch_seconds * SAMPLE_RATE), padding_safe(model))
    pooled_layers(model, extractor, [waves[i] for i in batches[0]], layers, device)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start, cpu_start = time.perf_counter(), time.process_time()
    for batch in batches:
        pooled_layers(model, extractor, [waves[i] for i in batch], layers, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    rate = utterances / elapsed
    total = SYNTHETIC_UTTERANCES + NATURAL_UTTERANCES
    return {
        "utterances": utterances,
        "batches": len(batches),
        "mean_seconds": float(seconds.mean()),
        "hidden_size": config.hidden_size,
        "layers_read": len(layers),
        "utterances_per_s": round(rate, 2),
        "audio_seconds_per_s": round(float(seconds.sum()) / elapsed, 1),
        # CPU time of this process (all its threads): on a shared machine, wall time also counts
        # other jobs' load, CPU time does not.
        "cpu_seconds_per_utterance": round(cpu_seconds / utterances, 3),
        "bytes_per_utterance_per_layer": 4 * config.hidden_size,
        "spokensts_utterances": total,
        "spokensts_hours_estimate": round(total / rate / 3600 * MEAN_SECONDS / float(seconds.mean()), 2),
    }


def run(quick: bool) -> dict[str, object]:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    results: dict[str, object] = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(0)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "assumption": f"random waveforms of 2-5 s (mean {MEAN_SECONDS} s), fp32, all layers read",
    }
    for name, (config, utterances) in configurations(quick).items():
        results[name] = measure(config, utterances, device)
    return results


def summary(record: Mapping[str, object]) -> str:
    """Markdown table of the measured rates and the projected SpokenSTS cost."""
    results = record["results"]
    lines = [f"Encoder throughput on {results['device_name']} ({results['device']}, {results['torch_threads']} "
             f"threads); {results['assumption']}.", "",
             "| configuration | utterances/s | audio s/s | CPU s per utterance | layers "
             "| all SpokenSTS (h, estimate) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for name, value in results.items():
        if isinstance(value, dict):
            lines.append(f"| {name} | {value['utterances_per_s']} | {value['audio_seconds_per_s']} | "
                         f"{value['cpu_seconds_per_utterance']} | {value['layers_read']} | "
                         f"{value['spokensts_hours_estimate']} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    """Standalone entry (GPU machines): print the results and write ``<out>/speech_models.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", layout.BENCHMARKS)))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    record = {"benchmark": NAME, "quick": args.quick, "results": run(args.quick), "python": platform.python_version(),
              "torch": torch.__version__}  # fmt: skip
    record["seconds"] = round(time.perf_counter() - start, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{NAME}.json").write_text(json.dumps(record, indent=2) + "\n")
    (args.out / f"{NAME}.md").write_text(summary(record))
    print(summary(record))


if __name__ == "__main__":
    main()
