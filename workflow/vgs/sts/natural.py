"""The natural-speech sample: a seeded 5% of the pairs, its recording script, and its audio.

Why a stratified sample: the paper recorded 638 of the 12,544 STS 2012-2016 pairs, 5% of every
subtask rounded up (24 subtasks -> 638), so no subtask is missing from the natural-speech
results. Audio comes from real recordings (``sts.natural.source: recordings``: a folder of WAVs and
a CSV mapping pair/side/speaker to file, checked, resampled to 16 kHz and with silences longer
than 500 ms shortened as in the paper) or, offline, from a second synthetic speaker population
(``source: synthetic``) whose voices appear nowhere else; those rows are labelled ``synthetic``
in the ``voice`` and ``source`` columns so they can never pass for human speech.
"""

from __future__ import annotations

import csv
import math
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf
from tqdm import tqdm

from vgs.io import PathLike, read_tsv, write_tsv
from vgs.sts.build import MANIFEST_COLUMNS, PAIR_COLUMNS, SENTENCE_COLUMNS, pair_sides
from vgs.tts.backend import TARGET_RATE, TTSBackend, make_backend, to_target_rate
from vgs.tts.synthesis import cache_wav_path, synthesize_jobs, write_wav

with warnings.catch_warnings():  # pydub warns about ffmpeg on import; we use only its silence detector
    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.simplefilter("ignore", DeprecationWarning)  # audioop, used by pydub
    from pydub import AudioSegment
    from pydub.silence import detect_silence

SAMPLE_COLUMNS = ["pair_id", "year", "subtask", "gold", "sent_a_id", "sent_b_id"]
SCRIPT_COLUMNS = ["pair_id", "side", "year", "subtask", "text", "file"]
MAPPING_COLUMNS = ["pair_id", "side", "speaker", "file"]


class RecordingError(ValueError):
    """Recordings that do not match the sample; the message lists every problem found."""


def sample_pairs(pairs: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """``ceil(fraction * n)`` pairs of every subtask, drawn with ``seed``, in the original order."""
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for _key, group in pairs.groupby(["year", "subtask"], sort=False):
        count = min(len(group), math.ceil(fraction * len(group)))
        chosen.extend(rng.choice(group.index.to_numpy(), size=count, replace=False).tolist())
    return pairs.loc[sorted(chosen)].reset_index(drop=True)


def write_sample(
    pairs_path: PathLike, fraction: float, seed: int, sample_path: PathLike, script_path: PathLike
) -> None:
    """Write ``sample.tsv`` and the recording script (one row per sentence to read aloud)."""
    sample = sample_pairs(read_tsv(pairs_path, PAIR_COLUMNS), fraction, seed)
    write_tsv(sample_path, sample[SAMPLE_COLUMNS])
    script = pd.concat(
        [sample.assign(side=side, text=sample[f"sent_{side}"]) for side in ("a", "b")], ignore_index=True
    ).sort_values(["pair_id", "side"], kind="stable")
    script["file"] = script["pair_id"] + "_" + script["side"] + ".wav"
    write_tsv(script_path, script[SCRIPT_COLUMNS])


def shorten_silences(samples: np.ndarray, max_ms: int, threshold_db: float) -> np.ndarray:
    """Shorten every silence longer than ``max_ms`` to ``max_ms`` (half kept at each edge).

    Silence is audio quieter than the recording's mean loudness plus ``threshold_db`` (negative),
    found with pydub's detector; the cut is made on the samples, keeping 16 kHz int16.
    """
    segment = AudioSegment(
        samples.astype(np.int16).tobytes(), frame_rate=TARGET_RATE, sample_width=2, channels=1
    )
    if not math.isfinite(segment.dBFS):
        return samples
    silences = detect_silence(
        segment, min_silence_len=max_ms + 1, silence_thresh=segment.dBFS + threshold_db, seek_step=5
    )
    per_ms = TARGET_RATE // 1000
    keep, position = [], 0
    for start_ms, end_ms in silences:
        keep.append(samples[position : (start_ms + max_ms // 2) * per_ms])
        position = (end_ms - (max_ms - max_ms // 2)) * per_ms
    keep.append(samples[position:])
    return np.concatenate(keep).astype(np.int16)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name)


def read_mapping(mapping_path: Path, expected: pd.DataFrame) -> pd.DataFrame:
    """The recordings CSV, checked against the expected (pair_id, side) rows of the sample."""
    if not mapping_path.is_file():
        raise RecordingError(f"{mapping_path}: recordings CSV not found (sts.natural.recordings.mapping)")
    mapping = pd.read_csv(mapping_path, dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL)
    absent = [column for column in MAPPING_COLUMNS if column not in mapping.columns]
    if absent:
        raise RecordingError(f"{mapping_path}: missing column(s) {absent}; need {MAPPING_COLUMNS}")
    mapping["csv_line"] = np.arange(len(mapping)) + 2  # header is line 1
    problems = []
    wanted = set(zip(expected["pair_id"], expected["side"]))
    for row in mapping.itertuples():
        if (row.pair_id, row.side) not in wanted:
            problems.append(f"line {row.csv_line}: pair {row.pair_id} side {row.side!r} is not in the sample")
    duplicated = mapping[mapping.duplicated(["pair_id", "side"], keep=False)]
    for row in duplicated.itertuples():
        problems.append(f"line {row.csv_line}: pair {row.pair_id} side {row.side} is listed more than once")
    missing = sorted(wanted - set(zip(mapping["pair_id"], mapping["side"])))
    if missing:
        problems.append(
            f"{len(missing)} sample sentence(s) have no recording, e.g. "
            + ", ".join(f"{pair}/{side}" for pair, side in missing[:5])
        )
    if problems:
        raise RecordingError(
            f"{mapping_path}: "
            + "; ".join(problems[:10])
            + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        )
    return mapping


def import_recordings(
    sides: pd.DataFrame,
    recordings: Mapping[str, Any],
    wav_root: PathLike,
    max_silence_ms: int,
    threshold_db: float,
) -> pd.DataFrame:
    """Check, resample and trim the recordings of every sample side; return speaker, wav_path, duration."""
    folder, mapping_path = Path(recordings["dir"]), Path(recordings["mapping"])
    mapping = read_mapping(mapping_path, sides)
    unreadable = []
    for row in mapping.itertuples():
        path = folder / row.file
        if not path.is_file():
            unreadable.append(f"line {row.csv_line}: {path} does not exist")
            continue
        try:
            info = sf.info(str(path))
        except (RuntimeError, OSError) as error:
            unreadable.append(f"line {row.csv_line}: {path} is not readable audio ({error})")
            continue
        if info.frames == 0:
            unreadable.append(f"line {row.csv_line}: {path} holds no audio")
    if unreadable:
        raise RecordingError(
            f"{mapping_path}: "
            + "; ".join(unreadable[:10])
            + (f"; and {len(unreadable) - 10} more" if len(unreadable) > 10 else "")
        )
    rows = []
    for row in tqdm(mapping.itertuples(), total=len(mapping), desc="import recordings", unit="wav"):
        path = folder / row.file
        try:
            samples, rate = sf.read(str(path), dtype="int16", always_2d=True)
        except (RuntimeError, OSError) as error:
            raise RecordingError(
                f"{mapping_path}: line {row.csv_line}: cannot decode {path} ({error})"
            ) from None
        audio = shorten_silences(to_target_rate(samples, rate), max_silence_ms, threshold_db)
        target = f"{wav_root}/{_safe(row.speaker)}/{_safe(row.pair_id)}_{row.side}.wav"
        write_wav(target, audio)
        rows.append((row.pair_id, row.side, row.speaker, target, len(audio) / TARGET_RATE))
    return pd.DataFrame(rows, columns=["pair_id", "side", "voice", "wav_path", "duration"])


def synthetic_speakers(
    sides: pd.DataFrame,
    natural: Mapping[str, Any],
    tts_config: Mapping[str, Any],
    cache_root: PathLike,
    backend: TTSBackend | None = None,
) -> pd.DataFrame:
    """Stand-in speakers: each sample pair is read by one of ``natural.speakers`` (seeded rotation)."""
    speakers = list(natural["speakers"])
    shared = sorted(set(speakers) & set(tts_config["voices"].values()))
    if shared:
        raise ValueError(
            f"sts.natural.speakers {shared} are also SpokenSTS voices (tts.voices); the stand-in "
            "population must be voices heard nowhere else"
        )
    pairs = sides["pair_id"].unique()
    order = np.random.default_rng(natural["seed"]).permutation(len(pairs))
    speaker_of = {pairs[index]: speakers[rank % len(speakers)] for rank, index in enumerate(order)}
    engine = backend if backend is not None else make_backend(tts_config)
    voices = sides["pair_id"].map(speaker_of)
    jobs = pd.DataFrame(
        {
            "pair_id": sides["pair_id"],
            "side": sides["side"],
            "text": sides["text"],
            "voice": voices,
            "wav_path": [
                cache_wav_path(cache_root, engine, voice, text) for voice, text in zip(voices, sides["text"])
            ],
        }
    )
    done = synthesize_jobs(jobs, tts_config, progress_desc="synthetic natural sample", backend=engine)
    done["voice"] = "synthetic:" + done["voice"]
    return done[["pair_id", "side", "voice", "wav_path", "duration"]]


def natural_manifest(
    pairs_path: PathLike,
    sentences_path: PathLike,
    sample_path: PathLike,
    natural: Mapping[str, Any],
    tts_config: Mapping[str, Any],
    cache_root: PathLike,
    wav_root: PathLike,
    output_path: PathLike,
    backend: TTSBackend | None = None,
) -> None:
    """Write ``natural/manifest.tsv``: the sample's sides spoken by recorded or synthetic speakers.

    Columns are those of a voice manifest plus ``source`` (``recorded`` or ``synthetic``).
    """
    pairs = read_tsv(pairs_path, PAIR_COLUMNS)
    sample = read_tsv(sample_path, SAMPLE_COLUMNS)
    sides = pair_sides(
        pairs[pairs["pair_id"].isin(set(sample["pair_id"]))], read_tsv(sentences_path, SENTENCE_COLUMNS)
    )
    if natural["source"] == "recordings":
        if "recordings" not in natural:
            raise RecordingError("sts.natural.source is 'recordings' but sts.natural.recordings is not set")
        audio = import_recordings(
            sides, natural["recordings"], wav_root, natural["max_silence_ms"], natural["silence_threshold_db"]
        )
        source = "recorded"
    else:
        audio = synthetic_speakers(sides, natural, tts_config, cache_root, backend)
        source = "synthetic"
    rows = sides.merge(audio, on=["pair_id", "side"], validate="one_to_one")
    rows["utt_id"] = rows["voice"] + "/" + rows["pair_id"] + "/" + rows["side"]
    rows["source"] = source
    write_tsv(output_path, rows[[*MANIFEST_COLUMNS, "source"]])
