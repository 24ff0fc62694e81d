"""The engine and the engine voices a ``tts:`` configuration names.

Why a module of its own: it is the one place that knows every engine, so it stands above them
(:mod:`vgs.tts.espeak`, :mod:`vgs.tts.google`, :mod:`vgs.tts.released`), which know only
:mod:`vgs.tts.backend`. Each engine is imported when it is chosen: the Google client library is
slow to import and needed by no offline run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vgs.tts.backend import TTSBackend, TTSFatalError


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
    raise TTSFatalError(f"unknown tts.backend {backend!r}; use 'espeak', 'google' or 'released' (config.yaml)")
