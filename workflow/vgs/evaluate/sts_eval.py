"""SpokenSTS evaluation (the paper's Figure 1): similarity of each pair's two spoken sentences
against the human similarity scores.

For every pair, the similarity is the cosine between the embeddings of its two sentences,
averaged over every combination of a voice for sentence A and a voice for sentence B (6 × 6 = 36
with six voices). Because the embeddings are L2-normalised, that average equals the dot product of
the per-side *mean* embeddings, which is how it is computed. Correlations with the gold scores are
reported (column ``level``) per subtask, per year, over all pairs ("All"), on the natural-speech sample ("Natural
speech") and on the same pairs in the synthetic voices ("Sample"), plus SentEval's mean and
size-weighted mean of the per-subtask correlations (named ``senteval_mean``/``senteval_wmean``).

The natural-speech sample is kept unaveraged as well (``natural_cosines.tsv``): the cosine of every
reading of a pair's side a with every reading of its side b (4 x 4 = 16 speaker pairs, same speaker
included, on the released SpokenSTS), from which the pair's natural similarity is their mean, and
which the protocols of other papers score point by point (vgs.evaluate.protocols). At the paper's
size that is 638 pairs x 16 = 10,208 rows (~0.5 MB) per run; computing them from 2,048-wide
embeddings took 2.9 s on a shared 2-core VM (measured, 2026-12).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from vgs.evaluate.labels import natural_label
from vgs.evaluate.stats import correlate
from vgs.identity import RunId, open_run_store
from vgs.io import PathLike, read_tsv, write_tsv
from vgs.store import ArrayStore

log = logging.getLogger(__name__)

PAIR_COLUMNS = ("pair_id", "year", "subtask", "gold")
MANIFEST_COLUMNS = ("utt_id", "pair_id", "side")
SIDES = ("a", "b")
NATURAL_COSINE_COLUMNS = ("pair_id", "speaker_a", "speaker_b", "cosine")
CORRELATION_COLUMNS = (
    "level", "group", "year", "n", "pearson", "pearson_low", "pearson_high", "pearson_p",
    "spearman", "spearman_low", "spearman_high", "spearman_p",
)  # fmt: skip


def read_pairs(path: PathLike) -> pd.DataFrame:
    """``pairs.tsv`` with ``gold`` as float; a non-numeric gold score names its line."""
    pairs = read_tsv(path, required=PAIR_COLUMNS)
    gold = pd.to_numeric(pairs["gold"], errors="coerce")
    bad = gold.isna()
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # header is line 1
        raise ValueError(f"{path}, line {line}: gold score {pairs['gold'][bad].iloc[0]!r} is not a number")
    pairs["gold"] = gold
    if pairs["pair_id"].duplicated().any():
        raise ValueError(f"{path}: duplicate pair_id {pairs['pair_id'][pairs['pair_id'].duplicated()].iloc[0]!r}")
    return pairs


def read_manifests(paths: Sequence[PathLike]) -> pd.DataFrame:
    """Concatenate utterance manifests, checking that ``side`` is ``a`` or ``b``."""
    frames = []
    for path in paths:
        frame = read_tsv(path, required=MANIFEST_COLUMNS)
        side = frame["side"].str.lower()
        bad = ~side.isin(SIDES)
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise ValueError(f"{path}, line {line}: side must be 'a' or 'b', got {frame['side'][bad].iloc[0]!r}")
        frames.append(frame.assign(side=side)[list(MANIFEST_COLUMNS)])
    return pd.concat(frames, ignore_index=True)


def require_embeddings(manifest: pd.DataFrame, store: ArrayStore, source: str) -> None:
    """Stop, naming ``source`` and an utterance, if any utterance of ``manifest`` has no embedding."""
    missing = sorted(set(manifest["utt_id"]) - set(store))
    if missing:
        raise ValueError(
            f"{len(missing)} utterance(s) of {source} have no embedding (e.g. {missing[0]!r}); "
            "rerun the encode rule for this model"
        )


def unit_vectors(store: ArrayStore, utt_ids: Sequence[str]) -> np.ndarray:
    """The embeddings of ``utt_ids`` as float64 rows of length 1 (a zero vector stays zero)."""
    vectors = store.matrix(list(utt_ids)).astype(np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def side_means(manifest: pd.DataFrame, store: ArrayStore, source: str) -> dict[tuple[str, str], np.ndarray]:
    """Mean L2-normalised embedding of each (pair, side) over all its utterances (voices)."""
    require_embeddings(manifest, store, source)
    return {
        (pair_id, side): unit_vectors(store, rows["utt_id"]).mean(axis=0)
        for (pair_id, side), rows in manifest.groupby(["pair_id", "side"], sort=False)
    }


def pair_similarities(pair_ids: Sequence[str], manifest: pd.DataFrame, store: ArrayStore, source: str) -> np.ndarray:
    """Voice-averaged cosine similarity of every pair in ``pair_ids`` (NaN if a side is absent)."""
    means = side_means(manifest[manifest["pair_id"].isin(set(pair_ids))], store, source)
    similarity = np.full(len(pair_ids), np.nan)
    for i, pair_id in enumerate(pair_ids):
        a, b = means.get((pair_id, "a")), means.get((pair_id, "b"))
        if a is not None and b is not None:
            similarity[i] = float(a @ b)
    return similarity


def speaker_of(manifest: pd.DataFrame) -> pd.Series:
    """The speaker (or voice) of each utterance: the first part of its ``utt_id`` (``<speaker>/…``)."""
    return manifest["utt_id"].str.split("/", n=1).str[0]


def natural_cosines(manifest: pd.DataFrame, store: ArrayStore, source: str) -> pd.DataFrame:
    """The cosine of every reading of each pair's side a with every reading of its side b.

    Columns ``pair_id speaker_a speaker_b cosine``, pairs in manifest order; a pair lacking a side
    has no rows. The mean of a pair's rows is its speaker-averaged similarity (as the voices' is).
    """
    require_embeddings(manifest, store, source)
    manifest = manifest.assign(speaker=speaker_of(manifest))
    rows = []
    for pair_id, readings in manifest.groupby("pair_id", sort=False):
        side_a, side_b = (readings[readings["side"] == side] for side in SIDES)
        cosines = unit_vectors(store, side_a["utt_id"]) @ unit_vectors(store, side_b["utt_id"]).T
        rows += [
            (pair_id, speaker_a, speaker_b, float(cosines[i, j]))
            for i, speaker_a in enumerate(side_a["speaker"])
            for j, speaker_b in enumerate(side_b["speaker"])
        ]
    return pd.DataFrame(rows, columns=list(NATURAL_COSINE_COLUMNS))


def speaker_pairs(manifest: pd.DataFrame, noun: str) -> str:
    """How many speakers a manifest holds and over how many speaker pairs a pair's similarity averages:
    ``"638 pairs, 4 speakers, 16 speaker pairs"`` (a range where pairs differ).

    A speaker is the first part of an ``utt_id`` (``<voice>/…``); a pair averages over every
    reading of side a times every reading of side b.
    """
    if manifest.empty:
        return f"0 pairs, 0 {noun}s"
    speakers = speaker_of(manifest).nunique()
    per_side = manifest.groupby(["pair_id", "side"]).size().unstack("side", fill_value=0)
    combos = (per_side.get("a", 0) * per_side.get("b", 0)).astype(int)
    low, high = int(combos.min()), int(combos.max())
    spread = str(low) if low == high else f"{low}-{high}"
    return f"{len(per_side)} pairs, {speakers} {noun}s, {spread} {noun} pairs"


def read_sample(path: PathLike, pairs: pd.DataFrame) -> set[str]:
    """Pair ids of the natural-speech sample; each must be a pair of ``pairs.tsv``."""
    sample = set(read_tsv(path, required=("pair_id",))["pair_id"])
    unknown = sorted(sample - set(pairs["pair_id"]))
    if unknown:
        raise ValueError(f"{path}: pair_id {unknown[0]!r} is not in pairs.tsv; rebuild the natural sample")
    return sample


def correlation_rows(frame: pd.DataFrame, level: float = 0.95, natural_source: str = "synthetic") -> pd.DataFrame:
    """Correlations of ``similarity`` (and ``natural_similarity``) with ``gold`` by group.

    ``frame`` has the columns of ``similarities.tsv``. Rows with a NaN similarity are left out
    of a group (and counted out of its ``n``). The natural-speech group is named by
    :func:`~vgs.evaluate.labels.natural_label` of ``natural_source`` (``sts.natural.source``).
    """
    rows: list[dict[str, object]] = []

    def add(scope: str, group: str, year: str, subset: pd.DataFrame, column: str = "similarity") -> None:
        valid = subset[np.isfinite(subset[column].to_numpy(dtype=float))]
        result = correlate(valid[column], valid["gold"], level).as_dict()
        rows.append({"level": scope, "group": group, "year": year, **result})

    for (year, subtask), subset in frame.groupby(["year", "subtask"], sort=True):
        add("subtask", f"{year} {subtask}", str(year), subset)
    for year, subset in frame.groupby("year", sort=True):
        add("year", str(year), str(year), subset)
    add("all", "All", "", frame)
    in_sample = frame[frame["in_sample"].astype(bool)]
    if "natural_similarity" in frame and in_sample["natural_similarity"].notna().any():
        add("natural", natural_label(natural_source), "", in_sample, column="natural_similarity")
    if not in_sample.empty:
        add("sample", "Sample", "", in_sample)
    table = pd.DataFrame(rows, columns=list(CORRELATION_COLUMNS))
    return pd.concat([table, senteval_means(table)], ignore_index=True)


def senteval_means(table: pd.DataFrame) -> pd.DataFrame:
    """SentEval's summary of per-subtask correlations: plain and ``n``-weighted means, per year
    and over all subtasks. No CIs: the subtasks are not a sample of anything."""
    subtasks = table[(table["level"] == "subtask") & table["pearson"].notna()]
    rows = []
    groups = [(str(year), subset) for year, subset in subtasks.groupby("year", sort=True)] + [("All", subtasks)]
    for group, subset in groups:
        weights = subset["n"].to_numpy(dtype=float)
        for scope, weighted in (("senteval_mean", False), ("senteval_wmean", True)):
            row: dict[str, object] = {"level": scope, "group": group, "year": "" if group == "All" else group,
                                      "n": int(weights.sum())}  # fmt: skip
            for measure in ("pearson", "spearman"):
                values = subset[measure].to_numpy(dtype=float)
                row[measure] = (
                    float(np.average(values, weights=weights if weighted else None)) if len(values) else np.nan
                )
            rows.append(row)
    return pd.DataFrame(rows, columns=list(CORRELATION_COLUMNS))


def similarity_frame(pairs: pd.DataFrame, similarity: np.ndarray, sample: set[str]) -> pd.DataFrame:
    """The ``similarities.tsv`` layout: pair metadata, gold, similarity, sample membership."""
    frame = pairs[list(PAIR_COLUMNS)].copy()
    frame["similarity"] = similarity
    frame["in_sample"] = frame["pair_id"].isin(sample).astype(int)
    return frame


def write_run_outputs(run: RunId, outputs: Sequence[tuple[pd.DataFrame, PathLike]]) -> None:
    """Write each (table, path) of ``outputs`` as TSV, with ``run``'s identity columns last."""
    for table, path in outputs:
        write_tsv(path, table.assign(**run.columns()))


def evaluate_sts(
    pairs_path: PathLike,
    voice_manifests: Sequence[PathLike],
    voice_stores: Sequence[PathLike],
    natural_manifest: PathLike,
    natural_store: PathLike,
    sample_path: PathLike,
    out_similarities: PathLike,
    out_correlations: PathLike,
    out_natural_cosines: PathLike,
    level: float = 0.95,
    natural_source: str = "synthetic",
    *,
    run: RunId,
) -> pd.DataFrame:
    """Evaluate ``run`` (a model and seed, or an speech model's layer) on one SpokenSTS set; write
    similarities, correlations and the natural sample's per-speaker-pair cosines.

    Every store must record ``run``; every output records it in ``system`` and ``seed`` columns
    (vgs.identity), which the tables check. The returned table has no identity columns.
    """
    pairs = read_pairs(pairs_path)
    sample = read_sample(sample_path, pairs)
    pair_ids = list(pairs["pair_id"])
    voices = read_manifests(voice_manifests)
    log.info("synthetic voices: %s", speaker_pairs(voices, "voice"))
    similarity = pair_similarities(pair_ids, voices, open_run_store(list(voice_stores), run), "the voice manifests")
    if np.isnan(similarity).any():
        missing = pair_ids[int(np.flatnonzero(np.isnan(similarity))[0])]
        raise ValueError(f"pair {missing!r} of {pairs_path} lacks a spoken side in the voice manifests")
    frame = similarity_frame(pairs, similarity, sample)
    natural = read_manifests([natural_manifest])
    natural = natural[natural["pair_id"].isin(set(pair_ids))]
    log.info("natural sample (%s): %s", natural_manifest, speaker_pairs(natural, "speaker"))
    cosines = natural_cosines(natural, open_run_store(natural_store, run), str(natural_manifest))
    frame["natural_similarity"] = cosines.groupby("pair_id")["cosine"].mean().reindex(pair_ids).to_numpy()
    lacking = frame["in_sample"].astype(bool) & frame["natural_similarity"].isna()
    if lacking.any():
        log.warning("%d sample pair(s) have no natural recording of both sides", int(lacking.sum()))
    table = correlation_rows(frame, level, natural_source)
    write_run_outputs(run, [(frame, out_similarities), (table, out_correlations), (cosines, out_natural_cosines)])
    log.info("STS All: pearson %.3f (n=%d)", *table.loc[table["level"] == "all", ["pearson", "n"]].iloc[0])
    return table
