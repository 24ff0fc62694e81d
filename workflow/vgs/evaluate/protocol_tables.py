"""SpokenSTS scored under each protocol of :mod:`vgs.evaluate.protocols`: one table per protocol and
STS set, every system in it.

A run's two evaluation files hold everything every protocol needs (vgs.evaluate.sts_eval):
``similarities.tsv`` (each pair's gold score, year, subtask, sample membership and its similarity
averaged over every synthetic voice of a times every voice of b) and ``natural_cosines.tsv`` (for
each natural-sample pair, the cosine of every reading of a with every reading of b). A protocol
that averages takes a pair's natural score as the mean of its rows there; ``pasad2024-points``
correlates the rows themselves. Both files are checked to be the run's own (vgs.identity).

Seeds are averaged as in the other STS tables: in Fisher z, the interval of the average at the
group's number of pairs (vgs.evaluate.tables.aggregate_seeds).

Size at the paper's scale: a run's files are 12,544 similarity rows and 638 x 16 = 10,208 cosines
(~1.5 MB of TSV); one run is read and scored at a time, so memory is one run's rows plus a few
result rows per run and scope. Measured on a shared 2-core VM (2026-12): 30 runs of that size in
17.7 s for merkx2021 (the most groups), under 300 MB peak; so ~45 s for 8 models x 3 seeds, some
50 speech-model layers and 3 toplines.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vgs.evaluate.labels import natural_description, natural_label
from vgs.evaluate.protocols import NATURAL, PAIR_MEAN, PROTOCOLS, Protocol, Scope
from vgs.evaluate.stats import correlate
from vgs.evaluate.sts_eval import CORRELATION_COLUMNS, NATURAL_COSINE_COLUMNS
from vgs.evaluate.tables import SEED_KEYS, aggregate_seeds, correlation_matrix, write_table
from vgs.identity import check_frame
from vgs.io import PathLike, read_tsv

log = logging.getLogger(__name__)

Run = Mapping[str, Any]
#: Beyond a correlation row's columns: the recordings scored, how many points (readings) were
#: correlated, and the measure that ranks systems where this row is the protocol's headline.
PROTOCOL_KEYS = ("recordings", "n_points", "headline")
RUN_KEYS = ("system", "kind", "corpus", "subset_k", "seed")
TOPLINE_NOTE = (
    "A text topline has no recordings: one similarity per pair, scored under a natural scope on the natural "
    "sample's pairs (one point each)."
)


@dataclass(frozen=True)
class RunScores:
    """What one run's evaluation files give every protocol.

    ``pairs``: one row per STS pair (``pair_id year subtask gold similarity in_sample``);
    ``natural``: one row per reading of a x reading of b of each natural-sample pair
    (``pair_id speaker_a speaker_b cosine gold``).
    """

    pairs: pd.DataFrame
    natural: pd.DataFrame


def read_run_scores(run: Run, similarities_path: PathLike, natural_cosines_path: PathLike) -> RunScores:
    """Both files of ``run``, each checked to record it; a natural cosine of a pair outside the natural
    sample stops with the file and pair; sample pairs without natural recordings are counted in the log."""
    pairs = check_frame(
        read_tsv(similarities_path, required=("pair_id", "year", "subtask", "gold", "similarity", "in_sample")),
        similarities_path,
        run,
    )
    pairs = pairs.assign(
        gold=pairs["gold"].astype(float),
        similarity=pairs["similarity"].astype(float),
        in_sample=pairs["in_sample"].astype(int).astype(bool),
    )
    natural = check_frame(read_tsv(natural_cosines_path, required=NATURAL_COSINE_COLUMNS), natural_cosines_path, run)
    sample = pairs.loc[pairs["in_sample"], ["pair_id", "gold"]]
    outside = sorted(set(natural["pair_id"]) - set(sample["pair_id"]))
    if outside:
        raise ValueError(
            f"{natural_cosines_path}: pair {outside[0]!r} is not a natural-sample pair of {similarities_path} "
            f"({len(outside)} such pairs); delete both and rerun their evaluation"
        )
    natural = natural.assign(cosine=natural["cosine"].astype(float)).merge(sample, on="pair_id", how="left")
    unrecorded = sorted(set(sample["pair_id"]) - set(natural["pair_id"]))
    if unrecorded:
        log.warning(
            "%s: %d of %d natural-sample pairs have no recording of both sides and are left out of the natural "
            "scopes (e.g. %s)", natural_cosines_path, len(unrecorded), len(sample), ", ".join(unrecorded[:3]),
        )  # fmt: skip
    return RunScores(pairs, natural)


def scope_points(
    scores: RunScores, scope: Scope, points: str, natural_group: str
) -> Iterator[tuple[str, str, str, pd.DataFrame]]:
    """(level, group, year, points) of each correlation of ``scope``: ``points`` has one row per
    correlated point with its score ``x`` and ``gold``, and ``pair_id``.

    Synthetic scopes score each pair's voice-averaged similarity. Natural scopes score the
    natural sample: per pair the mean of its readings' cosines (``PAIR_MEAN``), or each reading
    pair on its own (``SPEAKER_PAIR``).
    """
    if scope.recordings == NATURAL:
        natural = scores.natural
        if points == PAIR_MEAN:
            natural = natural.groupby("pair_id", sort=False).agg(x=("cosine", "mean"), gold=("gold", "first"))
            natural = natural.reset_index()
        else:
            natural = natural.rename(columns={"cosine": "x"})
        yield "natural", natural_group, "", natural[["pair_id", "x", "gold"]]
        return
    pairs = scores.pairs[scores.pairs["in_sample"]] if scope.sample_only else scores.pairs
    pairs = pairs.rename(columns={"similarity": "x"})
    if scope.split == "subtask":
        for (year, subtask), subset in pairs.groupby(["year", "subtask"], sort=True):
            yield "subtask", f"{year} {subtask}", str(year), subset
    elif scope.split == "year":
        for year, subset in pairs.groupby("year", sort=True):
            yield "year", str(year), str(year), subset
    else:
        yield scope.label.lower(), scope.label, "", pairs


def protocol_rows(
    protocol: Protocol, scores: RunScores, level: float = 0.95, natural_source: str = "synthetic"
) -> pd.DataFrame:
    """One run's correlations under ``protocol``: a row per group in the columns of ``correlations.tsv``
    plus :data:`PROTOCOL_KEYS`; ``n`` counts pairs, ``n_points`` the points correlated. A measure the
    protocol does not take is left empty, and so is every interval of a protocol whose points are not
    independent."""
    rows: list[dict[str, object]] = []
    headline_scope, headline_measure = protocol.headline
    for index, scope in enumerate(protocol.scopes):
        for scope_level, group, year, points in scope_points(
            scores, scope, protocol.points, natural_label(natural_source)
        ):
            result = correlate(points["x"], points["gold"], level).as_dict()
            row: dict[str, object] = {"level": scope_level, "group": group, "year": year, **result}
            row["n"] = int(points["pair_id"].nunique())
            for measure in ("pearson", "spearman"):
                if measure not in protocol.measures:
                    row.update({key: np.nan for key in result if key.startswith(measure)})
                elif protocol.points != PAIR_MEAN:
                    row.update({f"{measure}_low": np.nan, f"{measure}_high": np.nan, f"{measure}_p": np.nan})
            headline = headline_measure if index == headline_scope else ""
            rows.append({**row, "recordings": scope.recordings, "n_points": len(points), "headline": headline})
    return pd.DataFrame(rows, columns=[*CORRELATION_COLUMNS, *PROTOCOL_KEYS])


def protocol_caption(protocol: Protocol, natural_source: str) -> str:
    """The table's caption: the protocol's definition and source, what its natural sample is, toplines."""
    return (
        f"SpokenSTS under {protocol.describe()} The natural scope is {natural_label(natural_source)}: "
        f"{natural_description(natural_source)}. Seeds averaged in Fisher z. {TOPLINE_NOTE}"
    )


def protocol_table(
    protocol_name: str,
    runs: Sequence[Run],
    similarity_paths: Sequence[PathLike],
    natural_cosine_paths: Sequence[PathLike],
    paths: Mapping[str, PathLike],
    level: float = 0.95,
    natural_source: str = "synthetic",
) -> pd.DataFrame:
    """Score every run under protocol ``protocol_name``; write the seed-averaged table as CSV (one row
    per system and group, the protocol's measures only) and Markdown / LaTeX (groups x systems,
    ``r [low, high]``) with the protocol's name and source in the caption. Return the CSV's frame."""
    protocol = PROTOCOLS[protocol_name]
    frames = []
    for run, similarities, natural_cosines in zip(runs, similarity_paths, natural_cosine_paths, strict=True):
        scores = read_run_scores(run, similarities, natural_cosines)
        rows = protocol_rows(protocol, scores, level, natural_source)
        frames.append(rows.assign(**{key: run.get(key) for key in RUN_KEYS}))
    long = pd.concat(frames, ignore_index=True)
    aggregated = aggregate_seeds(long, level, keys=[*SEED_KEYS, *PROTOCOL_KEYS])
    unused = [column for column in aggregated if column.startswith(("pearson", "spearman"))
              and column.split("_")[0] not in protocol.measures]  # fmt: skip
    table = aggregated.drop(columns=unused).assign(protocol=protocol.name)
    write_table(table, {fmt: path for fmt, path in paths.items() if fmt == "csv"})
    shown = pd.concat(
        [correlation_matrix(aggregated, measure).assign(measure=measure) for measure in protocol.measures],
        ignore_index=True,
    )
    shown = shown[["group", "measure", *[column for column in shown if column not in ("group", "measure")]]]
    caption = protocol_caption(protocol, natural_source)
    write_table(shown, {fmt: path for fmt, path in paths.items() if fmt != "csv"}, caption)
    headline = table[table["headline"] != ""]
    for row in headline.itertuples(index=False):
        log.info("%s: %s %s %s = %.3f (%d pairs)", protocol.name, row.system, row.group, row.headline,
                 getattr(row, row.headline), row.n)  # fmt: skip
    return table
