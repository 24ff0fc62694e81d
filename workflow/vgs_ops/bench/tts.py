"""Offline TTS throughput on one core: utterances per second and real-time factor.

Why: SpokenSTS is ~20k unique sentences x 6 voices, so synthesis speed decides whether the real
build takes minutes or hours on a laptop. The benchmark speaks real STS sentences (the shared
STS 2012-2016 copy when present, else the world's STS, generated on the spot if need be), pinned
to one CPU, through the same pipeline the rules use (espeak-ng in-process, resampling, atomic WAV
writing), and compares it with one ``espeak-ng`` process per sentence when that binary is installed.
From the measured rate it estimates the full six-voice real SpokenSTS synthesis time on two cores. Rates per core are
utterances per CPU-second of the pinned process (what a dedicated core delivers); wall-clock rates
are reported beside them with the load average, since a shared machine slows the wall clock.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from vgs.sts.senteval import load_sts
from vgs.tts.engines import make_backend
from vgs.tts.normalise import normalisation_table
from vgs.tts.synthesis import synthesize_jobs
from vgs.world.sts import write_sts

NAME = "tts"
REPO = Path(__file__).resolve().parents[3]
SOURCES = (REPO.parent / "shared" / "data" / "sts", REPO / "resources" / "world" / "sts")
VOICES = {
    "m1": "en-us+m1",
    "m3": "en-us+m3",
    "m7": "en-us+m7",
    "f2": "en-us+f2",
    "f4": "en-us+f4",
    "f5": "en-us+f5",
}
TARGET_UTT_PER_S = 100.0
WORLD_PAIRS, WORLD_SEED = 120, 7  # the fallback world STS: enough sentences for the full run


@contextlib.contextmanager
def one_core() -> Iterator[None]:
    """Pin this process to a single CPU for the measurement (restored afterwards)."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def normalised_sentences(root: Path) -> list[str]:
    """The unique normalised sentences of the STS collection under ``root`` (SentEval layout)."""
    pairs = load_sts(root)
    mapping, _ = normalisation_table(list(pairs["sent_a"]) + list(pairs["sent_b"]))
    return list(dict.fromkeys(mapping.values()))


def unique_sentences() -> tuple[str, list[str]]:
    """The sentences of the first STS source found; a freshly generated world STS otherwise.

    Why the fallback: ``make bench`` must run on a fresh clone, before any data exists.
    """
    for root in SOURCES:
        if any(root.glob("*-en-test")):
            return str(root), normalised_sentences(root)
    with tempfile.TemporaryDirectory() as scratch:
        write_sts(scratch, pairs_per_subtask=WORLD_PAIRS, seed=WORLD_SEED)
        return f"generated world STS (seed {WORLD_SEED})", normalised_sentences(Path(scratch))


def in_process(texts: list[str], folder: Path) -> dict[str, float]:
    """The production path: synthesize_jobs with the espeak backend, voices in rotation."""
    voices = list(VOICES)
    jobs = pd.DataFrame(
        {
            "text": texts,
            "voice": [voices[i % len(voices)] for i in range(len(texts))],
            "wav_path": [str(folder / f"{i}.wav") for i in range(len(texts))],
        }
    )
    config = {"backend": "espeak", "voices": VOICES, "retries": 0}
    make_backend(config)  # load the library and voice data outside the timed region
    wall, cpu = time.perf_counter(), time.process_time()
    done = synthesize_jobs(jobs, config, progress_desc="bench tts")
    return {
        "seconds": time.perf_counter() - wall,
        "cpu_seconds": time.process_time() - cpu,
        "audio_seconds": float(done["duration"].sum()),
    }


def per_process(binary: str, texts: list[str], folder: Path) -> dict[str, float]:
    """One ``espeak-ng`` process per sentence writing a WAV (the usual command-line approach)."""
    voices = list(VOICES.values())
    wall, children = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    for i, text in enumerate(texts):
        subprocess.run(
            [binary, "-v", voices[i % len(voices)], "-w", str(folder / f"p{i}.wav"), text],
            check=True,
            capture_output=True,
        )
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = used.ru_utime + used.ru_stime - children.ru_utime - children.ru_stime
    return {"seconds": time.perf_counter() - wall, "cpu_seconds": cpu}


def run(quick: bool) -> dict:
    source, sentences = unique_sentences()
    rng = np.random.default_rng(0)
    count = 40 if quick else 600
    texts = [sentences[i] for i in rng.choice(len(sentences), size=min(count, len(sentences)), replace=False)]
    results: dict[str, object] = {
        "source": source,
        "utterances": len(texts),
        "mean_words": float(np.mean([len(t.split()) for t in texts])),
    }
    results["load_average_1min"] = os.getloadavg()[0]  # wall-clock rates suffer on a busy machine
    with tempfile.TemporaryDirectory() as scratch, one_core():
        measured = in_process(texts, Path(scratch))
        cpu_rate = len(texts) / measured["cpu_seconds"]
        results["in_process"] = {
            "utt_per_s_per_core": round(cpu_rate, 1),
            "utt_per_s_wall_clock": round(len(texts) / measured["seconds"], 1),
            "real_time_factor": round(measured["cpu_seconds"] / measured["audio_seconds"], 5),
            "audio_seconds_per_utt": round(measured["audio_seconds"] / len(texts), 2),
            "meets_target_100_utt_per_s": cpu_rate >= TARGET_UTT_PER_S,
        }
        binary = shutil.which("espeak-ng")
        if binary:
            per = per_process(binary, texts, Path(scratch))
            results["per_process"] = {
                "utt_per_s_per_core": round(len(texts) / per["cpu_seconds"], 1),
                "utt_per_s_wall_clock": round(len(texts) / per["seconds"], 1),
            }
            results["speedup_in_process"] = round(per["cpu_seconds"] / measured["cpu_seconds"], 2)
        else:
            results["per_process"] = "skipped: no espeak-ng binary on PATH"
    if source != str(SOURCES[0]):
        return results  # the estimate below is about the real STS data only
    utterances = len(sentences) * len(VOICES)
    results["full_spokensts"] = {
        "unique_sentences": len(sentences),
        "utterances_6_voices": utterances,
        "estimated_minutes_on_2_cores": round(utterances / (2 * cpu_rate) / 60, 1),
    }
    return results
