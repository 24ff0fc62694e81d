"""The ways published work scores SpokenSTS, as named protocols that every STS system gets.

Why a registry: a SpokenSTS number means nothing without its protocol. The papers differ in which
recordings they score (six synthetic voices, four human speakers), whether a pair's readings are
averaged before the correlation, how pairs are grouped (subtask, STS year, pooled) and which
correlation they take. A number of ours is comparable with a published one only under the same
protocol, so each protocol is written down once here, as data, with where it was read, and
:mod:`vgs.evaluate.protocol_tables` scores every system (trained VGS models and seeds, speech-model
layers, text toplines) under each.

What every protocol shares: the score of one reading of side a against one reading of side b is
their cosine; where a protocol averages, it averages that cosine over *every* reading of a times
every reading of b, same voice or speaker included (6 x 6 = 36 voice pairs, 4 x 4 = 16 speaker pairs
on the released natural speech). So on the same recordings Merkx's, Pasad's (default) and Zhu's
per-pair scores are the same numbers; the protocols differ in the recordings, the grouping, the
correlation, and (``pasad2024-points``) in averaging nothing.

A text topline has no recordings: one similarity per pair. Under a synthetic scope it is scored as
any system; under a natural scope on the natural sample's pairs, one point per pair (its natural
and its Sample numbers are the same), so ``pasad2024`` and ``pasad2024-points`` agree for it.

This module is data only (no numpy): the plan reads the protocols' names to name their tables.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Which recordings a scope scores: the synthetic voices (each pair's similarity averaged over every
#: voice of a times every voice of b), or the natural-speech sample's recordings.
SYNTHETIC, NATURAL = "synthetic", "natural"
#: What one correlated point is: a pair's cosine averaged over its readings, or one reading of side a
#: against one reading of side b (every speaker combination its own point, all with the pair's gold).
PAIR_MEAN, SPEAKER_PAIR = "pair mean", "speaker pair"
PEARSON, SPEARMAN = "pearson", "spearman"


@dataclass(frozen=True)
class Scope:
    """One set of correlations of a protocol: which recordings, which pairs, split how.

    ``split`` is ``None`` (one correlation over the scope's pairs, named ``label``), ``"subtask"`` or
    ``"year"`` (one per STS subtask or year, named by it). ``sample_only`` keeps the synthetic
    recordings of the natural sample's pairs (the paper's "Sample"). A natural scope is always the
    natural sample's pairs; its label is the sample's (vgs.evaluate.labels: never "Natural speech"
    unless people recorded it), so it has none here.
    """

    recordings: str
    split: str | None = None
    sample_only: bool = False
    label: str = ""


@dataclass(frozen=True)
class Protocol:
    """One published way of scoring SpokenSTS, and where its definition was read."""

    name: str
    title: str
    source: str
    points: str
    measures: tuple[str, ...]
    scopes: tuple[Scope, ...]
    #: The scope (index into ``scopes``, a pooled one) and measure that rank systems in the figure.
    headline: tuple[int, str]
    #: What interval the tables give, and why.
    interval: str

    def __post_init__(self) -> None:
        if self.points == SPEAKER_PAIR and any(scope.recordings != NATURAL for scope in self.scopes):
            raise ValueError(f"protocol {self.name}: only the natural recordings are kept per speaker pair")
        scope, measure = self.headline
        if self.scopes[scope].split is not None or measure not in self.measures:
            raise ValueError(f"protocol {self.name}: the headline must be a pooled scope and one of its measures")

    def describe(self) -> str:
        """One paragraph for captions: the protocol's definition and source."""
        scopes = "; ".join(_describe_scope(scope) for scope in self.scopes)
        per_pair = (
            "each pair's cosine averaged over every reading of side a times every reading of side b (same voice "
            "or speaker included)"
            if self.points == PAIR_MEAN
            else "every reading of side a against every reading of side b a separate point carrying the pair's "
            "gold score, nothing averaged"
        )
        measures = " and ".join(measure.capitalize() for measure in self.measures)
        return (
            f"protocol {self.name}: {self.title} ({self.source}). Points: {per_pair}. {measures} over: {scopes}. "
            f"{self.interval}"
        )


def _describe_scope(scope: Scope) -> str:
    if scope.recordings == NATURAL:
        return "the natural-speech sample's recordings, pooled"
    pairs = "the natural sample's pairs" if scope.sample_only else "all pairs"
    split = f"one per STS {scope.split}" if scope.split else f"pooled ({scope.label})"
    return f"the synthetic voices on {pairs}, {split}"


FISHER_PEARSON = "95% CIs of Pearson's r by Fisher's z with n = pairs."
FISHER_BOTH = (
    "95% CIs by Fisher's z with n = pairs, for Spearman's rho as for Pearson's r (slightly narrow for a rank "
    "correlation; the other tables' convention, vgs.evaluate.stats)."
)

PROTOCOLS: dict[str, Protocol] = {
    protocol.name: protocol
    for protocol in (
        Protocol(
            name="merkx2021",
            title="Merkx et al. (2021)",
            source="Interspeech 2021, sections 2.4 and 3; their scoring code is not public",
            points=PAIR_MEAN,
            measures=(PEARSON,),
            scopes=(
                Scope(SYNTHETIC, split="subtask"),
                Scope(SYNTHETIC, label="All"),
                Scope(NATURAL),
                Scope(SYNTHETIC, sample_only=True, label="Sample"),
            ),
            headline=(1, PEARSON),
            interval=FISHER_PEARSON,
        ),
        Protocol(
            name="pasad2024",
            title="Pasad et al. (2024)",
            source=(
                "TACL 2024, arXiv:2307.00162; ankitapasad/layerwise-analysis codes/tools/get_scores.py "
                "evaluate_spokensts, default mean=True since commit c030f2a (2024-10-18)"
            ),
            points=PAIR_MEAN,
            measures=(SPEARMAN,),
            scopes=(Scope(NATURAL),),
            headline=(0, SPEARMAN),
            interval=FISHER_BOTH + " Pasad et al. give no interval.",
        ),
        Protocol(
            name="pasad2024-points",
            title="Pasad et al. (2024), every speaker pair a point",
            source=(
                "ankitapasad/layerwise-analysis codes/tools/get_scores.py evaluate_spokensts with mean=False, "
                "the function's only behaviour in its first release (commit 112d416, 2024-08-07)"
            ),
            points=SPEAKER_PAIR,
            measures=(SPEARMAN,),
            scopes=(Scope(NATURAL),),
            headline=(0, SPEARMAN),
            interval=(
                "No interval: the points of one pair share its sentences and gold score, so they are not "
                "independent and any interval counting them as such would be too narrow."
            ),
        ),
        Protocol(
            name="zhu2022",
            title="Zhu et al. (2022)",
            source=(
                "Findings of EMNLP 2022, arXiv:2210.12857; lingjzhu/spoken_sent_embedding src/evaluate.py "
                "at commit 2c73cde"
            ),
            points=PAIR_MEAN,
            measures=(PEARSON, SPEARMAN),
            scopes=(Scope(NATURAL), Scope(SYNTHETIC, split="year")),
            headline=(0, PEARSON),
            interval=FISHER_BOTH + " Zhu et al. give no interval.",
        ),
    )
}
