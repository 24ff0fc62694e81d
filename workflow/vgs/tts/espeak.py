"""espeak-ng called in-process through ctypes (the library and voice data ship with ``espeakng_loader``).

Why in-process: starting one ``espeak-ng`` process per sentence spends most of its time loading
the voice data again and again; calling ``libespeak-ng`` in synchronous mode with a callback that
collects the samples synthesises the same audio about twice as fast and needs no system package.
The library keeps global state, so one process holds one engine (:func:`EspeakBackend` reuses it).

Why the seeds: some voice variants add random breath and pitch jitter, drawn from espeak-ng's own
generator and libc's ``rand``, both seeded from the clock unless set. The engine seeds both at start.

Why the resets: seeds are not the only state that carries over from one sentence to the next
(pitch flutter, wave phase, echo and breath filters live in the library's static variables, and
no API call resets them), so the audio of a sentence depends on the sentences spoken before it.
:meth:`EspeakBackend.reset` reloads the library, which returns every static to its initial
value; :func:`vgs.tts.synthesis.synthesize_jobs` resets every :data:`SENTENCES_PER_RESET`
sentences, so a shard resumed after a kill writes the same bytes as an uninterrupted one. A reset
costs about 8 ms, more than a short sentence, hence a block of sentences rather than every one
(about 4% of synthesis time in blocks of 32).
"""

from __future__ import annotations

import _ctypes
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
SENTENCES_PER_RESET = 32
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Engine:
    """The process-wide libespeak-ng instance and the buffer its callback fills."""

    def __init__(self) -> None:
        self.data_path = Path(espeakng_loader.get_data_path())
        self.chunks: list[np.ndarray] = []
        self._callback = _SynthCallback(self._collect)  # keep a reference: C holds a raw pointer
        self._load()

    def _load(self) -> None:
        """Load and initialise the library: every static variable starts from its initial value."""
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
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib
        self.current_voice: str | None = None

    def reset(self) -> None:
        """Unload the library and load it afresh (``dlclose`` drops its statics with it)."""
        self.lib.espeak_Terminate()
        _ctypes.dlclose(self.lib._handle)
        self._load()

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
    sentences_per_reset = SENTENCES_PER_RESET

    def __init__(self) -> None:
        self._engine = _engine()
        # The reset period is part of the version (and so of the cache key): it shapes the audio.
        self.version = f"espeak-ng-{self._engine.version}-reset{SENTENCES_PER_RESET}"

    def synthesize(self, text: str, voice: str) -> np.ndarray:
        return to_target_rate(self._engine.synthesize(text, voice), self._engine.rate)

    def reset(self) -> None:
        """Return the engine to the state of a fresh process (see the module docstring)."""
        self._engine.reset()
