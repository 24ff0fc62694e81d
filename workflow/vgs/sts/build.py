"""SpokenSTS build: ingest an STS collection, synthesise its sentences per voice, write manifests.

Why sentences rather than pairs are synthesised: the same sentence occurs in many pairs (and in
both STS years), so each unique normalised sentence gets one id (``sentences.tsv``) and one WAV per
voice; manifests then list one row per pair side pointing at that WAV. Synthesis is split into
``tts.shards`` shards of sentences so a long build is a few restartable jobs, and WAVs live in the
TTS cache (``results/tts_cache``), outside Snakemake's outputs, so a killed shard keeps its work.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from vgs.io import PathLike, read_tsv, write_tsv
from vgs.sts.senteval import load_sts
from vgs.tts.backend import TTSBackend
from vgs.tts.engines import engine_voice, make_backend
from vgs.tts.normalise import normalisation_table
from vgs.tts.synthesis import cache_wav_path, synthesize_jobs

log = logging.getLogger(__name__)

PAIR_COLUMNS = ["pair_id", "year", "subtask", "sent_a", "sent_b", "gold", "sent_a_id", "sent_b_id"]
SENTENCE_COLUMNS = ["sent_id", "text", "normalised"]
SHARD_COLUMNS = ["sent_id", "wav_path", "duration"]
MANIFEST_COLUMNS = ["utt_id", "pair_id", "side", "subtask", "year", "text", "wav_path", "duration", "voice"]


def make_pair_id(year: str, subtask: str, line: int) -> str:
    """The pair id of the pair on (1-based) ``line`` of a subtask's files: ``2012_MSRpar_0001``."""
    return f"{year}_{subtask}_{int(line):04d}"


def build_pairs(
    root: PathLike, subtasks: Sequence[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Pairs, unique normalised sentences and the normalisation changes of the collection at ``root``.

    ``sentences.text`` is the first original spelling of each normalised sentence; ``subtasks``
    restricts the collection (see :func:`vgs.sts.senteval.load_sts`).
    """
    raw = load_sts(root, subtasks)
    mapping, changes = normalisation_table(list(raw["sent_a"]) + list(raw["sent_b"]))
    sentence_ids: dict[str, str] = {}
    first_text: dict[str, str] = {}
    for original in list(raw["sent_a"]) + list(raw["sent_b"]):
        normalised = mapping[original]
        if normalised not in sentence_ids:
            sentence_ids[normalised] = f"s{len(sentence_ids):06d}"
            first_text[normalised] = original
    pairs = pd.DataFrame(
        {
            "pair_id": [make_pair_id(*key) for key in zip(raw["year"], raw["subtask"], raw["line"])],
            "year": raw["year"],
            "subtask": raw["subtask"],
            "sent_a": raw["sent_a"],
            "sent_b": raw["sent_b"],
            "gold": raw["gold"],
            "sent_a_id": [sentence_ids[mapping[text]] for text in raw["sent_a"]],
            "sent_b_id": [sentence_ids[mapping[text]] for text in raw["sent_b"]],
        }
    )
    sentences = pd.DataFrame(
        [(sent_id, first_text[text], text) for text, sent_id in sentence_ids.items()],
        columns=SENTENCE_COLUMNS,
    )
    return pairs, sentences, changes


def ingest_sts(
    root: PathLike,
    pairs_path: PathLike,
    sentences_path: PathLike,
    changes_path: PathLike,
    subtasks: Sequence[str] | None = None,
) -> None:
    """Write ``pairs.tsv``, ``sentences.tsv`` and ``normalisation_changes.tsv`` for one collection."""
    pairs, sentences, changes = build_pairs(root, subtasks)
    write_tsv(pairs_path, pairs)
    write_tsv(sentences_path, sentences)
    write_tsv(changes_path, changes)
    log.info(
        "%s: %d pairs in %d subtasks, %d unique sentences, %d changed by normalisation",
        root,
        len(pairs),
        pairs.groupby(["year", "subtask"]).ngroups,
        len(sentences),
        len(changes),
    )


def shard_of(sentences: pd.DataFrame, shard: int, shards: int) -> pd.DataFrame:
    """Sentences of one shard: every ``shards``-th sentence, so shards have equal work."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} outside 0..{shards - 1}")
    return sentences.iloc[shard::shards]


def synthesis_jobs(
    sentences: pd.DataFrame,
    voice: str,
    tts_config: Mapping[str, Any],
    backend: TTSBackend,
    cache_root: PathLike,
) -> pd.DataFrame:
    """Jobs (sent_id, text, voice, wav_path) placing each sentence's audio in the TTS cache."""
    engine = engine_voice(voice, tts_config)
    return pd.DataFrame(
        {
            "sent_id": sentences["sent_id"].to_numpy(),
            "text": sentences["normalised"].to_numpy(),
            "voice": engine,
            "wav_path": [cache_wav_path(cache_root, backend, engine, text) for text in sentences["normalised"]],
        }
    )


def synthesize_sts_shard(
    sentences_path: PathLike,
    voice: str,
    shard: int,
    tts_config: Mapping[str, Any],
    cache_root: PathLike,
    output_path: PathLike,
    backend: TTSBackend | None = None,
) -> None:
    """Synthesise one shard of the sentences in configured ``voice``; write ``sent_id wav_path duration``."""
    if voice not in tts_config["voices"]:
        raise ValueError(f"voice {voice!r} is not in tts.voices ({sorted(tts_config['voices'])})")
    sentences = shard_of(read_tsv(sentences_path, SENTENCE_COLUMNS), int(shard), int(tts_config["shards"]))
    engine = backend if backend is not None else make_backend(tts_config)
    jobs = synthesis_jobs(sentences, voice, tts_config, engine, cache_root)
    done = synthesize_jobs(jobs, tts_config, progress_desc=f"{voice} shard {shard}", backend=engine)
    write_tsv(output_path, done[SHARD_COLUMNS])


def pair_sides(pairs: pd.DataFrame, sentences: pd.DataFrame) -> pd.DataFrame:
    """One row per pair side: pair_id side subtask year sent_id text (the normalised, spoken text)."""
    spoken = dict(zip(sentences["sent_id"], sentences["normalised"]))
    sides = []
    for side in ("a", "b"):
        frame = pairs[["pair_id", "subtask", "year", f"sent_{side}_id"]].rename(columns={f"sent_{side}_id": "sent_id"})
        sides.append(frame.assign(side=side))
    rows = pd.concat(sides, ignore_index=True)
    rows["order"] = rows["pair_id"].map({pair: i for i, pair in enumerate(pairs["pair_id"])})
    rows = rows.sort_values(["order", "side"], kind="stable").drop(columns="order").reset_index(drop=True)
    rows["text"] = rows["sent_id"].map(spoken)
    return rows[["pair_id", "side", "subtask", "year", "sent_id", "text"]]


def voice_manifest(
    pairs_path: PathLike,
    sentences_path: PathLike,
    shard_paths: Sequence[PathLike],
    voice: str,
    output_path: PathLike,
) -> None:
    """Merge a voice's shards into ``manifest.tsv`` (one row per pair side; see DESIGN.md)."""
    pairs = read_tsv(pairs_path, PAIR_COLUMNS)
    sentences = read_tsv(sentences_path, SENTENCE_COLUMNS)
    audio = pd.concat([read_tsv(path, SHARD_COLUMNS) for path in shard_paths], ignore_index=True)
    rows = pair_sides(pairs, sentences).merge(audio, on="sent_id", how="left", validate="many_to_one")
    if rows["wav_path"].isna().any():
        missing = rows.loc[rows["wav_path"].isna(), "sent_id"].unique()
        raise ValueError(
            f"{output_path}: {len(missing)} sentence(s) have no audio in the shards {list(shard_paths)} "
            f"(e.g. {missing[0]}); rerun sts_synthesize for voice {voice}"
        )
    rows["utt_id"] = voice + "/" + rows["sent_id"]
    rows["voice"] = voice
    write_tsv(output_path, rows[MANIFEST_COLUMNS])
