"""MFCC extraction speed: our batched torch front end vs python_speech_features, same WAVs, same run.

Both sides read the files with soundfile and produce the same normalised 39-d features: psf is
configured as the authors configure it (:func:`psf_features`), and the record states the largest
difference between the two outputs, so the ratio compares equal work. Both run on one thread, so the
ratio is per core. Run it with ``OMP_NUM_THREADS=1`` so that numpy, too, uses one thread.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import python_speech_features as psf
import soundfile
import torch

from vgs.features.audio import SAMPLE_RATE
from vgs.features.mfcc import MfccExtractor, MfccSettings, iter_mfccs

NAME = "mfcc"


def write_test_wavs(directory: Path, count: int, seed: int = 0) -> list[tuple[str, str]]:
    """Speech-like 16-bit WAVs of 2-8 s (harmonic tones under a syllable-rate envelope plus noise)."""
    rng = np.random.default_rng(seed)
    pairs = []
    for index in range(count):
        seconds = rng.uniform(2, 8)
        t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        pitch = rng.uniform(90, 250) * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
        voiced = sum(np.sin(2 * np.pi * h * np.cumsum(pitch) / SAMPLE_RATE) / h for h in range(1, 8))
        envelope = np.sin(np.pi * rng.uniform(3, 5) * t) ** 2
        signal = 0.2 * voiced * envelope + 0.01 * rng.standard_normal(t.size)
        path = directory / f"utt{index:04d}.wav"
        soundfile.write(path, signal.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        pairs.append((path.stem, str(path)))
    return pairs


def normalise(features: np.ndarray) -> np.ndarray:
    """The authors' per-utterance mean-variance normalisation (numpy's std, no floor)."""
    return (features - features.mean(0)) / features.std(0)


def psf_features(samples: np.ndarray, settings: MfccSettings) -> np.ndarray:
    """python_speech_features configured as the authors configure it (speech2image, branch Interspeech21,
    ``preprocessing/audio_features.py``), for the recipe ``settings`` describes.

    The authors call ``base.mfcc`` with ``ceplifter=0`` (no lifter) and ``appendEnergy=True`` (c0 is the
    log frame energy; ``c0: dct`` is ``appendEnergy=False``), normalise the statics, and take
    ``base.delta`` of the statics and of the deltas. ``normalise: all`` normalises after the deltas
    instead; ``none`` skips it.
    """
    static = psf.mfcc(
        samples,
        SAMPLE_RATE,
        winlen=settings.window_ms / 1000,
        winstep=settings.hop_ms / 1000,
        numcep=settings.n_mfcc,
        nfilt=settings.n_mels,
        nfft=settings.n_fft,
        lowfreq=0,
        highfreq=None,
        preemph=settings.preemphasis,
        ceplifter=0,
        appendEnergy=settings.c0 == "energy",
        winfunc=np.hamming,
    )
    if settings.normalise == "static":
        static = normalise(static)
    half = settings.delta_window // 2
    delta = psf.delta(static, half)
    features = np.hstack([static, delta, psf.delta(delta, half)])
    return normalise(features) if settings.normalise == "all" else features


def reference_features(path: str, settings: MfccSettings) -> np.ndarray:
    """The authors' pipeline on one file: read it, then :func:`psf_features`."""
    samples, _ = soundfile.read(path, dtype="float32")
    return psf_features(samples, settings).astype(np.float32)


def timed(work, repeats: int = 3) -> tuple[float, float]:
    """Fastest wall-clock and fastest CPU seconds (all threads of this process) of ``work()``.

    CPU seconds are the per-core figure; the fastest of a few runs is the least disturbed by other
    processes on a shared machine (as ``timeit`` does).
    """
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def run(quick: bool) -> dict:
    torch.set_num_threads(1)
    settings = MfccSettings()
    with tempfile.TemporaryDirectory() as tmp:
        pairs = write_test_wavs(Path(tmp), 40 if quick else 400)
        reference_pairs = pairs[: max(10, len(pairs) // 4)]  # the reference is slow; time a quarter
        audio = sum(soundfile.info(path).duration for _, path in pairs)
        reference_audio = sum(soundfile.info(path).duration for _, path in reference_pairs)
        extractor = MfccExtractor(settings)
        list(iter_mfccs(pairs[:4], extractor))  # warm-up: FFT plans, allocator
        ours_wall, ours_cpu = timed(lambda: list(iter_mfccs(pairs, extractor)))
        reference_wall, reference_cpu = timed(
            lambda: [reference_features(path, settings) for _, path in reference_pairs]
        )
        ours = dict(iter_mfccs(reference_pairs, extractor))
        difference = max(
            float(np.abs(ours[key] - reference_features(path, settings)).max()) for key, path in reference_pairs
        )
    return {
        "files": len(pairs),
        "audio_seconds": round(audio, 1),
        "threads": 1,
        "ours_audio_seconds_per_cpu_second": round(audio / ours_cpu, 1),
        "ours_audio_seconds_per_wall_second": round(audio / ours_wall, 1),
        "python_speech_features_audio_seconds_per_cpu_second": round(reference_audio / reference_cpu, 1),
        "python_speech_features_audio_seconds_per_wall_second": round(reference_audio / reference_wall, 1),
        "speedup_cpu": round((audio / ours_cpu) / (reference_audio / reference_cpu), 2),
        "speedup_wall": round((audio / ours_wall) / (reference_audio / reference_wall), 2),
        "max_abs_difference_from_python_speech_features": difference,
        "targets": {"speedup": 3.0, "audio_seconds_per_second_per_core": 2000},
    }
