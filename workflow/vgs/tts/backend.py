"""The interface every TTS engine implements, and what every engine shares (its error, resampling).

Why one small interface: synthesis, caching, resuming and manifests must not care whether audio
comes from a local library or a cloud service, so an engine only turns (text, engine voice) into
16 kHz mono int16 samples and says which engine version made them (part of the cache key, so a
new engine release never reuses stale audio). The engines import this module and nothing above it;
:mod:`vgs.tts.engines` chooses one from the config.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from scipy.signal import resample_poly

TARGET_RATE = 16_000


class TTSFatalError(RuntimeError):
    """An error that retrying cannot fix (bad credentials, unknown voice): stop at once."""


class TTSBackend(Protocol):
    """A text-to-speech engine producing 16 kHz mono int16 audio."""

    name: str
    version: str

    def synthesize(self, text: str, voice: str) -> np.ndarray:
        """Return int16 samples at :data:`TARGET_RATE` for ``text`` spoken by engine ``voice``."""
        ...


def to_target_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Resample int16-scaled audio (mono, or ``[n, channels]`` averaged) to 16 kHz int16.

    A polyphase filter with the exact rational ratio (espeak's 22050 Hz -> 16 kHz is 320/441)
    avoids the aliasing and drift of naive interpolation.
    """
    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if rate != TARGET_RATE:
        divisor = int(np.gcd(int(rate), TARGET_RATE))
        audio = resample_poly(audio, TARGET_RATE // divisor, int(rate) // divisor)
    return np.clip(np.rint(audio), -32768, 32767).astype(np.int16)
