"""The interface every TTS engine implements, and the choice of engine from the config.

Why one small interface: synthesis, caching, resuming and manifests must not care whether audio
comes from a local library or a cloud service, so an engine only turns (text, engine voice) into
16 kHz mono int16 samples and says which engine version made them (part of the cache key, so a
new engine release never reuses stale audio).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

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


def engine_voice(voice: str, tts_config: Mapping[str, Any]) -> str:
    """Map a configured voice name (``m1``) to its engine voice; other names pass unchanged."""
    return str(tts_config.get("voices", {}).get(voice, voice))


def make_backend(tts_config: Mapping[str, Any]) -> TTSBackend:
    """Create the engine named by ``tts_config["backend"]``."""
    backend = tts_config.get("backend", "espeak")
    if backend == "espeak":
        from vgs.tts.espeak import EspeakBackend

        return EspeakBackend()
    if backend == "google":
        from vgs.tts.google import GoogleBackend

        return GoogleBackend(**tts_config.get("google", {}))
    if backend == "released":
        from vgs.tts.released import ReleasedBackend

        return ReleasedBackend(**tts_config["released"])
    raise TTSFatalError(
        f"unknown tts.backend {backend!r}; use 'espeak', 'google' or 'released' (config.yaml)"
    )
