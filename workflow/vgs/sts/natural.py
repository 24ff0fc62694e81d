"""The natural-speech sample: its pairs, its recording script, and its audio.

Why a stratified sample: the paper recorded 638 of the 12,544 STS 2012-2016 pairs, 5% of every
subtask rounded up (24 subtasks -> 638), so no subtask is missing from the natural-speech
results. With the paper's released recordings (``sts.natural.source: spokensts``, read by
:mod:`vgs.sts.spokensts`) the sample is the pairs in that data and every speaker's reading is kept;
otherwise a seeded draw of the same size is made. Its audio then comes from the project's own
real recordings (``source: recordings``: a folder of WAVs and a CSV mapping pair/side/speaker to
file, checked, resampled to 16 kHz and with silences longer than 500 ms shortened as in the
paper) or, offline, from a second synthetic speaker population (``source: synthetic``) whose
voices appear nowhere else; those rows are labelled ``synthetic`` in the ``voice`` and ``source``
columns so they can never pass for human speech.
"""

from __future__ import annotations

import csv
import logging
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
from vgs.sts.spokensts import check_inventory, read_inventory, source_label
from vgs.tts.backend import TARGET_RATE, TTSBackend, to_target_rate
from vgs.tts.engines import make_backend
from vgs.tts.synthesis import cache_wav_path, synthesize_jobs, write_wav

with warnings.catch_warnings():  # pydub warns about ffmpeg on import; we use only its silence detector
    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.simplefilter("ignore", DeprecationWarning)  # audioop, used by pydub
    from pydub import AudioSegment
    from pydub.silence import detect_silence

log = logging.getLogger(__name__)

SAMPLE_COLUMNS = ["pair_id", "year", "subtask", "gold", "sent_a_id", "sent_b_id"]
SCRIPT_COLUMNS = ["pair_id", "side", "year", "subtask", "text", "file"]
MAPPING_COLUMNS = ["pair_id", "side", "speaker", "file"]
AUDIO_COLUMNS = ["pair_id", "side", "voice", "wav_path", "duration"]


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


def write_sample_tables(sample: pd.DataFrame, sample_path: PathLike, script_path: PathLike) -> None:
    """Write ``sample.tsv`` and the recording script (one row per sentence to read aloud)."""
    write_tsv(sample_path, sample[SAMPLE_COLUMNS])
    script = pd.concat(
        [sample.assign(side=side, text=sample[f"sent_{side}"]) for side in ("a", "b")], ignore_index=True
    ).sort_values(["pair_id", "side"], kind="stable")
    script["file"] = script["pair_id"] + "_" + script["side"] + ".wav"
    write_tsv(script_path, script[SCRIPT_COLUMNS])


def write_sample(
    pairs_path: PathLike, fraction: float, seed: int, sample_path: PathLike, script_path: PathLike
) -> None:
    """Draw the seeded sample (:func:`sample_pairs`) and write it with its recording script."""
    write_sample_tables(sample_pairs(read_tsv(pairs_path, PAIR_COLUMNS), fraction, seed), sample_path, script_path)


def released_recordings(
    pairs: pd.DataFrame, sentences: pd.DataFrame, spec: Mapping[str, Any]
) -> tuple[pd.DataFrame, Any]:
    """The checked inventory of the released SpokenSTS natural speech and its audio reader."""
    inventory, problems, read = read_inventory(spec)
    sides = pair_sides(pairs, sentences)
    return check_inventory(inventory, problems, pairs, sides, source_label(spec)), read


def write_natural_sample(
    pairs_path: PathLike,
    sentences_path: PathLike,
    natural: Mapping[str, Any],
    sample_path: PathLike,
    script_path: PathLike,
) -> None:
    """The natural sample: the pairs of the released recordings (``source: spokensts``), else a draw."""
    if natural["source"] != "spokensts":
        write_sample(pairs_path, natural["fraction"], natural["seed"], sample_path, script_path)
        return
    pairs = read_tsv(pairs_path, PAIR_COLUMNS)
    inventory, _read = released_recordings(pairs, read_tsv(sentences_path, SENTENCE_COLUMNS), natural["spokensts"])
    sample = pairs[pairs["pair_id"].isin(set(inventory["pair_id"]))].reset_index(drop=True)
    write_sample_tables(sample, sample_path, script_path)
    log.info(
        "natural sample from %s: %d pairs in %d subtasks, %d speakers, %d recordings",
        source_label(natural["spokensts"]),
        len(sample),
        sample.groupby(["year", "subtask"]).ngroups,
        inventory["speaker"].nunique(),
        len(inventory),
    )


def shorten_silences(samples: np.ndarray, max_ms: int, threshold_db: float) -> np.ndarray:
    """Shorten every silence longer than ``max_ms`` to ``max_ms`` (half kept at each edge).

    Silence is audio quieter than the recording's mean loudness plus ``threshold_db`` (negative),
    found with pydub's detector; the cut is made on the samples, keeping 16 kHz int16.
    """
    segment = AudioSegment(samples.astype(np.int16).tobytes(), frame_rate=TARGET_RATE, sample_width=2, channels=1)
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
            raise RecordingError(f"{mapping_path}: line {row.csv_line}: cannot decode {path} ({error})") from None
        silence = (max_silence_ms, threshold_db)
        rows.append(store_recording(samples, rate, silence, wav_root, row.pair_id, row.side, row.speaker))
    return pd.DataFrame(rows, columns=AUDIO_COLUMNS)


def store_recording(
    samples: np.ndarray,
    rate: int,
    silence: tuple[int, float] | None,
    wav_root: PathLike,
    pair_id: str,
    side: str,
    speaker: str,
) -> tuple[str, str, str, str, float]:
    """Write one recording as 16 kHz mono (silences shortened unless ``silence`` is ``None``);
    return its :data:`AUDIO_COLUMNS` row."""
    audio = to_target_rate(samples, rate)
    if silence is not None:
        audio = shorten_silences(audio, *silence)
    target = f"{wav_root}/{_safe(speaker)}/{_safe(pair_id)}_{side}.wav"
    write_wav(target, audio)
    return pair_id, side, speaker, target, len(audio) / TARGET_RATE


def import_spokensts(
    pairs: pd.DataFrame, sentences: pd.DataFrame, natural: Mapping[str, Any], wav_root: PathLike
) -> pd.DataFrame:
    """Every speaker's recording of every released pair, converted to 16 kHz mono.

    The release already shortened silences over 500 ms, so the rule is applied again only when
    ``spokensts.shorten_silences`` asks for it (never by default).
    """
    spec = natural["spokensts"]
    inventory, read = released_recordings(pairs, sentences, spec)
    silence = (natural["max_silence_ms"], natural["silence_threshold_db"]) if spec["shorten_silences"] else None
    rows = []
    for row in tqdm(inventory.itertuples(), total=len(inventory), desc="import SpokenSTS", unit="wav"):
        try:
            samples, rate = read(row.ref)
        except (RuntimeError, OSError) as error:
            raise RecordingError(f"{row.where}: cannot decode the audio ({error})") from None
        rows.append(store_recording(samples, rate, silence, wav_root, row.pair_id, row.side, row.speaker))
    return pd.DataFrame(rows, columns=AUDIO_COLUMNS)


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
            "wav_path": [cache_wav_path(cache_root, engine, voice, text) for voice, text in zip(voices, sides["text"])],
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

    Columns are those of a voice manifest plus ``source`` (``recorded`` or ``synthetic``); with the
    released SpokenSTS every speaker's reading is a row (four per side), as voices are elsewhere.
    """
    pairs = read_tsv(pairs_path, PAIR_COLUMNS)
    sample = read_tsv(sample_path, SAMPLE_COLUMNS)
    sides = pair_sides(pairs[pairs["pair_id"].isin(set(sample["pair_id"]))], read_tsv(sentences_path, SENTENCE_COLUMNS))
    for needed in ("recordings", "spokensts"):
        if natural["source"] == needed and needed not in natural:
            raise RecordingError(f"sts.natural.source is {needed!r} but sts.natural.{needed} is not set")
    if natural["source"] == "spokensts":
        audio = import_spokensts(pairs, read_tsv(sentences_path, SENTENCE_COLUMNS), natural, wav_root)
        unsampled = sorted(set(audio["pair_id"]) ^ set(sample["pair_id"]))
        if unsampled:
            raise RecordingError(
                f"{sample_path}: the released recordings and the sample differ in {len(unsampled)} pair(s) "
                f"(e.g. {unsampled[0]}); rerun the sts_natural_sample rule"
            )
        source = "recorded"
    elif natural["source"] == "recordings":
        audio = import_recordings(
            sides, natural["recordings"], wav_root, natural["max_silence_ms"], natural["silence_threshold_db"]
        )
        source = "recorded"
    else:
        audio = synthetic_speakers(sides, natural, tts_config, cache_root, backend)
        source = "synthetic"
    rows = sides.merge(audio, on=["pair_id", "side"], validate="one_to_many")
    rows["utt_id"] = rows["voice"] + "/" + rows["pair_id"] + "/" + rows["side"]
    rows["source"] = source
    write_tsv(output_path, rows[[*MANIFEST_COLUMNS, "source"]])
