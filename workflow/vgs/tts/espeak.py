"""espeak-ng called in-process through ctypes (the library and voice data ship with ``espeakng_loader``).

Why in-process: starting one ``espeak-ng`` process per sentence spends most of its time loading
the voice data again and again; calling ``libespeak-ng`` in synchronous mode with a callback that
collects the samples synthesises the same audio about twice as fast and needs no system package.
The library keeps global state, so one process holds one engine (:func:`EspeakBackend` reuses it).

Why the seeds: some voice variants add random breath and pitch jitter, drawn from espeak-ng's own
generator and libc's ``rand``, both seeded from the clock unless set. The engine seeds both once
at start, so a process that speaks the same sentences in the same order writes the same bytes
(the generator's state also carries over from one sentence to the next, so the order matters).
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import espeakng_loader
import numpy as np

from vgs.tts.backend import TTSFatalError, to_target_rate

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
RANDOM_SEED = 1
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Engine:
    """The process-wide libespeak-ng instance and the buffer its callback fills."""

    def __init__(self) -> None:
        self.data_path = Path(espeakng_loader.get_data_path())
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        self.rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data_path).encode(), _INITIALIZE_DONT_EXIT
        )
        if self.rate <= 0:
            raise TTSFatalError(f"libespeak-ng failed to initialise with data at {self.data_path}")
        self.version = lib.espeak_Info(None).decode()
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed(RANDOM_SEED)
        ctypes.CDLL(None).srand(RANDOM_SEED)
        self.chunks: list[np.ndarray] = []
        self._callback = _SynthCallback(self._collect)  # keep a reference: C holds a raw pointer
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib
        self.current_voice: str | None = None

    def _collect(self, wav: ctypes.Array, count: int, _events: int) -> int:
        if count > 0 and wav:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # 0 = keep synthesising

    def set_voice(self, voice: str) -> None:
        if voice == self.current_voice:
            return
        language, _, variant = voice.partition("+")
        if variant and not (self.data_path / "voices" / "!v" / variant).is_file():
            raise TTSFatalError(
                f"espeak-ng has no voice variant {variant!r} (in {voice!r}); choose one of "
                f"{sorted(p.name for p in (self.data_path / 'voices' / '!v').iterdir())[:20]}..."
            )
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise TTSFatalError(
                f"espeak-ng has no voice {language!r} (in {voice!r}); e.g. en-us, en, en-gb-x-rp, "
                "en-gb-scotland, en-029"
            )
        self.current_voice = voice

    def synthesize(self, text: str, voice: str) -> np.ndarray:
        self.set_voice(voice)
        self.chunks = []
        data = text.encode("utf-8") + b"\0"
        status = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed with status {status}")
        if not self.chunks:
            raise RuntimeError("espeak-ng produced no audio")
        return np.concatenate(self.chunks)


@functools.cache
def _engine() -> _Engine:
    return _Engine()


class EspeakBackend:
    """Offline espeak-ng voices such as ``en-us+m1`` (language + variant), 16 kHz int16 output."""

    name = "espeak"

    def __init__(self) -> None:
        self._engine = _engine()
        self.version = f"espeak-ng-{self._engine.version}"

    def synthesize(self, text: str, voice: str) -> np.ndarray:
        return to_target_rate(self._engine.synthesize(text, voice), self._engine.rate)
