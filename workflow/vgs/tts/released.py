"""The paper's released WaveNet audio behind the TTS interface: look sentences up instead of speaking them.

Why a backend rather than a separate importer: synthesis, caching, shards and voice manifests stay
exactly as for synthesised speech (same layout, same utterance ids), and only the source of the
samples changes. The paper's six voices would otherwise have to be re-synthesised (~122k requests)
through a paid Google account whose voices may have changed since 2021.

A sentence is found by its words (:func:`vgs.tts.normalise.comparison_key`, so the release's
spelling and the SentEval tokenisation agree): every sentence of the release's JSON files
(``<path>/<STSyy>/<subtask>.json``: key -> [sentence 1, sentence 2]) points at ``<path>/<pattern>``
with that sentence's task, subtask, key and side (0/1) and the engine voice filled in; the first
occurrence of a repeated sentence is used (a deterministic TTS engine reads identical text
identically). The natural-speech importer (:mod:`vgs.sts.spokensts`) reads the same JSONs and accepts
them whether they list every synthesised sentence or only the recorded sample; if they list only the
sample, every other sentence is reported missing below. Alternatively a CSV ``voice,text,file`` lists the WAVs.
Before any audio is written, :meth:`ReleasedBackend.missing_utterances` lists every sentence of a
job without a WAV, so nothing is ever skipped silently.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from vgs.tts.backend import TTSFatalError, to_target_rate
from vgs.tts.normalise import comparison_key


class ReleasedBackend:
    """Released WAVs of (normalised text, engine voice), read and resampled to 16 kHz mono."""

    name = "released"

    def __init__(self, path: str, pattern: str | None = None, mapping: str | None = None) -> None:
        self.root = Path(path)
        self.pattern = pattern
        self.mapping = mapping
        self.version = hashlib.sha256(f"{self.root.resolve()}\0{pattern}\0{mapping}".encode()).hexdigest()[:12]
        self._files = self._mapping_files() if mapping else self._release_files()

    def _release_files(self) -> dict[str, dict[str, str]]:
        """normalised text -> the pattern's fields for its first occurrence in the release JSONs."""
        json_paths = sorted(self.root.glob("STS*/*.json"))
        if not json_paths:
            raise TTSFatalError(f"{self.root}: no STSyy/<subtask>.json files (tts.released.path)")
        fields: dict[str, dict[str, str]] = {}
        for path in json_paths:
            for key, sentences in json.loads(path.read_text()).items():
                for side, text in enumerate(sentences):
                    fields.setdefault(comparison_key(text), {"task": path.parent.name, "subtask": path.stem,
                                                           "key": str(key), "side": str(side)})  # fmt: skip
        return fields

    def _mapping_files(self) -> dict[str, dict[str, str]]:
        """normalised text -> {engine voice: file} from the CSV ``voice,text,file``."""
        table = pd.read_csv(self.root / str(self.mapping), dtype=str, keep_default_na=False)
        absent = [column for column in ("voice", "text", "file") if column not in table.columns]
        if absent:
            raise TTSFatalError(f"{self.root / str(self.mapping)}: missing column(s) {absent}")
        files: dict[str, dict[str, str]] = {}
        for voice, text, file in zip(table["voice"], table["text"], table["file"]):
            files.setdefault(comparison_key(text), {}).setdefault(voice, file)
        return files

    def wav_path(self, text: str, voice: str) -> Path | None:
        """Where the release keeps ``voice``'s reading of ``text`` (``None`` if it has no such sentence)."""
        entry = self._files.get(comparison_key(text))
        if entry is None:
            return None
        if self.mapping:
            return self.root / entry[voice] if voice in entry else None
        return self.root / str(self.pattern).format(voice=voice, **entry)

    def missing_utterances(self, requests: Sequence[tuple[str, str]]) -> list[str]:
        """One line for every (text, engine voice) that has no WAV in the release."""
        missing = []
        for text, voice in dict.fromkeys(requests):
            path = self.wav_path(text, voice)
            if path is None:
                missing.append(f"{voice}: no released sentence reads {text!r}")
            elif not path.is_file():
                missing.append(f"{voice}: {path} does not exist (for {text!r})")
        return missing

    def synthesize(self, text: str, voice: str) -> np.ndarray:
        """The released reading of ``text`` by ``voice`` as 16 kHz mono int16."""
        path = self.wav_path(text, voice)
        if path is None or not path.is_file():
            raise TTSFatalError(f"no released audio of {text!r} in voice {voice!r} (looked for {path})")
        samples, rate = sf.read(str(path), dtype="int16", always_2d=True)
        return to_target_rate(samples, rate)
