"""Read a speech file as 16 kHz mono float32, converting what can be converted soundly.

Why a dedicated reader: the corpora arrive as 16-bit PCM, 24-bit, float, stereo or 44.1 kHz files,
and a feature cache must not silently contain features of broken audio. Multi-channel audio is
averaged to mono and other rates are resampled (torchaudio's band-limited sinc resampler); empty,
unreadable or non-finite files raise :class:`AudioError` naming the file.
"""

from __future__ import annotations

import logging

import numpy as np
import soundfile
import torch
import torchaudio.functional as AF

from vgs.features.frames import SAMPLE_RATE
from vgs.io import PathLike

log = logging.getLogger(__name__)


class AudioError(ValueError):
    """An audio file that cannot be turned into features; the message names the file."""


def read_audio(path: PathLike, min_samples: int = 1) -> torch.Tensor:
    """Mono float32 samples of ``path`` at 16 kHz, in [-1, 1] for integer formats."""
    try:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise AudioError(f"{path}: cannot read audio ({error}); re-create or re-download the file") from None
    if samples.shape[0] == 0:
        raise AudioError(f"{path}: the file holds no samples; re-create or re-download it")
    if not np.isfinite(samples).all():
        raise AudioError(f"{path}: the file holds NaN or infinite samples; re-create it")
    mono = torch.from_numpy(samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0])
    if rate != SAMPLE_RATE:
        mono = AF.resample(mono, rate, SAMPLE_RATE)
    if mono.shape[0] < min_samples:
        raise AudioError(
            f"{path}: {mono.shape[0] / SAMPLE_RATE * 1000:.1f} ms of audio is shorter than one analysis "
            f"window ({min_samples / SAMPLE_RATE * 1000:.0f} ms)"
        )
    return mono
