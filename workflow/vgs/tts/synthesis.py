"""Synthesise a table of utterances to 16 kHz mono 16-bit WAVs: resumable, retried, cached.

Why a table of jobs rather than a job per utterance: SpokenSTS alone is ~150k utterances, far too
many Snakemake jobs, so a rule hands a whole shard to :func:`synthesize_jobs`. Each WAV is written
atomically and a WAV that is already present and readable is kept, so a killed run resumes where
it stopped and never leaves a truncated file; an engine with state that carries over between
sentences (espeak-ng) is reset at fixed rows, so the resumed WAVs are the bytes an uninterrupted run
writes. Paths from :func:`cache_wav_path` key the audio by
(text, voice, backend, engine version), so identical sentences are synthesised once and a change
of engine never reuses stale audio.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf
from tqdm import tqdm

from vgs.io import PathLike, atomic_path
from vgs.tts.backend import TARGET_RATE, TTSBackend, TTSFatalError
from vgs.tts.engines import engine_voice, make_backend

log = logging.getLogger(__name__)

JOB_COLUMNS = ("text", "voice", "wav_path")


def cache_wav_path(cache_root: PathLike, backend: TTSBackend, voice: str, text: str) -> str:
    """Cache location of ``text`` in engine ``voice``: ``<root>/<backend>/<voice>/<hash>.wav``."""
    key = "\0".join((backend.name, backend.version, voice, text))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    folder = re.sub(r"[^A-Za-z0-9_.+-]", "_", voice)
    return f"{cache_root}/{backend.name}/{folder}/{digest}.wav"


def wav_duration(path: PathLike) -> float | None:
    """Duration in seconds of a readable, non-empty WAV; ``None`` if missing or unreadable."""
    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError):  # soundfile.LibsndfileError is a RuntimeError
        return None
    return info.frames / info.samplerate if info.frames > 0 else None


def write_wav(path: PathLike, samples: np.ndarray) -> None:
    """Write 16 kHz mono int16 samples as a PCM WAV, atomically."""
    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.asarray(samples, dtype=np.int16), TARGET_RATE, subtype="PCM_16", format="WAV")


def synthesize_with_retries(backend: TTSBackend, text: str, voice: str, retries: int, where: str) -> np.ndarray:
    """Synthesise one utterance, retrying ``retries`` times; fatal engine errors are not retried."""
    last: Exception | None = None
    for _attempt in range(retries + 1):
        try:
            audio = backend.synthesize(text, voice)
            if len(audio) == 0:
                raise RuntimeError("engine returned no samples")
            return audio
        except TTSFatalError:
            raise
        except Exception as error:  # noqa: BLE001 - any engine hiccup is retried, then reported
            last = error
            log.warning("TTS attempt failed for %s: %s", where, error)
    raise RuntimeError(
        f"TTS failed after {retries + 1} attempts for {where} (voice {voice!r}, text {text!r}): {last}"
    ) from last


def synthesize_jobs(
    jobs: pd.DataFrame,
    tts_config: Mapping[str, Any],
    progress_desc: str = "",
    backend: TTSBackend | None = None,
) -> pd.DataFrame:
    """Write a WAV for every row of ``jobs`` (columns text, voice, wav_path) that lacks one.

    ``voice`` is a configured voice name (a key of ``tts.voices``) or an engine voice id.
    Rows sharing a ``wav_path`` are synthesised once. Returns ``jobs`` plus a float ``duration``
    column (seconds). ``backend`` replaces the configured engine (tests, benchmarks).
    """
    missing = [column for column in JOB_COLUMNS if column not in jobs.columns]
    if missing:
        raise ValueError(f"synthesis jobs lack column(s) {missing}; need {list(JOB_COLUMNS)}")
    unique = jobs.drop_duplicates("wav_path")
    clashes = jobs.groupby("wav_path")[["text", "voice"]].nunique().max(axis=1)
    if len(clashes) and clashes.max() > 1:
        path = clashes.idxmax()
        raise ValueError(f"synthesis jobs give different text or voice for the same wav_path {path}")
    engine = backend if backend is not None else make_backend(tts_config)
    missing_utterances = getattr(engine, "missing_utterances", None)  # backends reading released audio
    if missing_utterances is not None:
        requests = [
            (str(text), engine_voice(str(voice), tts_config)) for text, voice in zip(unique["text"], unique["voice"])
        ]
        missing = missing_utterances(requests)
        if missing:
            raise TTSFatalError(
                f"{progress_desc or 'tts'}: {len(missing)} utterance(s) have no audio from {engine.name} "
                f"{engine.version}:\n  " + "\n  ".join(missing)
            )
    retries = int(tts_config.get("retries", 3))
    # An engine whose state carries over between sentences is reset at fixed row boundaries, and
    # a block with any WAV missing is spoken again from its start (finished WAVs are kept, not
    # rewritten), so each WAV's bytes depend only on the job table, never on where a run was killed.
    block = int(getattr(engine, "sentences_per_reset", 1))
    rows = list(unique.itertuples(index=False))
    durations: dict[str, float] = {}
    made = 0
    bar = tqdm(total=len(rows), desc=progress_desc or "tts", unit="utt", mininterval=2.0)
    for start in range(0, len(rows), block):
        block_rows = rows[start : start + block]
        existing = {row.wav_path: wav_duration(row.wav_path) for row in block_rows}
        durations.update(existing)
        missing = [row for row in block_rows if existing[row.wav_path] is None]
        if missing and block > 1:
            engine.reset()  # type: ignore[attr-defined] - engines with sentences_per_reset have it
        for row in block_rows if missing and block > 1 else missing:
            voice = engine_voice(str(row.voice), tts_config)
            audio = synthesize_with_retries(engine, str(row.text), voice, retries, str(row.wav_path))
            if existing[row.wav_path] is None:
                write_wav(row.wav_path, audio)
                durations[row.wav_path] = len(audio) / TARGET_RATE
                made += 1
        bar.update(len(block_rows))
    bar.close()
    log.info(
        "%s: synthesised %d, reused %d existing wavs (%s %s)",
        progress_desc or "tts",
        made,
        len(unique) - made,
        engine.name,
        engine.version,
    )
    result = jobs.copy()
    result["duration"] = jobs["wav_path"].map(durations).astype(float)
    return result
