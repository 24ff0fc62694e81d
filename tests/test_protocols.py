"""SpokenSTS under the published protocols (vgs.evaluate.protocols, vgs.evaluate.protocol_tables),
checked against numbers worked out by hand on a fixture small enough to do so.

The fixture: 8 STS pairs, 4 in 2012 (one subtask) and 4 in 2013 (another), gold 1-4 in each year;
each pair's similarity averaged over the synthetic voices rises with gold in steps of 0.1 within a
year, 2013's all 0.4 above 2012's. Four pairs (gold 1, 2, 3, 4) form the natural sample, read by
two speakers on each side: 2 x 2 = 4 cosines per pair, written below. By hand:

* synthetic, within each year: r = rho = 1 (similarity linear in gold);
* synthetic, all 8 pairs: sum of products of deviations 1.0, sums of squares 10 and 0.42, so
  r = 1 / sqrt(4.2) = 0.48795 (the 0.4 offset between the years);
* synthetic, the sample's 4 pairs (0.1, 0.2, 0.7, 0.8): r = 1.3 / sqrt(5 * 0.37) = 0.95578;
* natural, each pair's mean of its 4 cosines: 0.2, 0.3, 0.4, 0.9 — rising with gold, so rho = 1,
  not linearly: r = 1.1 / sqrt(5 * 0.29) = 0.91349 (the same-speaker cosines alone would average
  0.3, 0.1, 0.4, 0.9: rho = 0.8);
* natural, the 16 cosines as points: the pairs' ranges overlap (gold 2 reaches 0.5, gold 3 starts
  at 0.2), so rho < 1; scipy ranks the 16 hand-written points for the expected value.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vgs.evaluate.figures import protocol_ranks_figure
from vgs.evaluate.protocol_tables import RunScores, protocol_rows, protocol_table, read_run_scores
from vgs.evaluate.protocols import NATURAL, PAIR_MEAN, PROTOCOLS, SPEAKER_PAIR, Protocol, Scope
from vgs.evaluate.sts_eval import evaluate_sts
from vgs.evaluate.text_toplines import evaluate_topline
from vgs.identity import SPEECH, TEXT_TOPLINE, RunId, RunMismatch
from vgs.io import read_tsv, write_tsv
from vgs.store import write_store

NATURAL_GROUP = "Synthetic stand-in (natural-speech pairs)"  # vgs.evaluate.labels for source "synthetic"
# pair_id: (year, subtask, gold, voice-averaged similarity)
PAIRS = {
    "p1": ("2012", "MSRvid", 1.0, 0.1), "p2": ("2012", "MSRvid", 2.0, 0.2),
    "p3": ("2012", "MSRvid", 3.0, 0.3), "p4": ("2012", "MSRvid", 4.0, 0.4),
    "p5": ("2013", "headlines", 1.0, 0.5), "p6": ("2013", "headlines", 2.0, 0.6),
    "p7": ("2013", "headlines", 3.0, 0.7), "p8": ("2013", "headlines", 4.0, 0.8),
}  # fmt: skip
# Natural sample: pair_id -> cosines of (s1, s1), (s1, s2), (s2, s1), (s2, s2) as (speaker of a, speaker of b).
# The same-speaker cosines alone average 0.3, 0.1, 0.4, 0.9: not the same order as the full means.
NATURAL_COSINES = {
    "p1": (0.3, 0.1, 0.1, 0.3),  # mean 0.2
    "p2": (0.1, 0.5, 0.5, 0.1),  # mean 0.3
    "p7": (0.2, 0.4, 0.4, 0.6),  # mean 0.4
    "p8": (0.8, 0.9, 0.9, 1.0),  # mean 0.9
}
SPEAKER_PAIRS = (("s1", "s1"), ("s1", "s2"), ("s2", "s1"), ("s2", "s2"))
ALL_R = 1 / math.sqrt(4.2)
SAMPLE_R = 1.3 / math.sqrt(1.85)
NATURAL_MEAN_R = 1.1 / math.sqrt(1.45)
# The 16 points of pasad2024-points, written out: each cosine with its pair's gold score.
POINT_COSINES = [0.3, 0.1, 0.1, 0.3, 0.1, 0.5, 0.5, 0.1, 0.2, 0.4, 0.4, 0.6, 0.8, 0.9, 0.9, 1.0]
POINT_GOLDS = [1.0] * 4 + [2.0] * 4 + [3.0] * 4 + [4.0] * 4
Z95 = 1.959963984540054


def fisher(r: float, n: int) -> tuple[float, float]:
    """The 95% Fisher-z interval, written out: tanh(atanh(r) -+ z_0.975 / sqrt(n - 3))."""
    half = Z95 / math.sqrt(n - 3)
    return math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)


def write_run(
    root: Path,
    run: dict,
    similarity: dict[str, float] | None = None,
    cosines: dict[str, tuple[float, ...]] | None = None,
    speakers: tuple[tuple[str, str], ...] = SPEAKER_PAIRS,
) -> tuple[Path, Path]:
    """A run's similarities.tsv and natural_cosines.tsv in the layout eval_sts writes, with its identity."""
    similarity = similarity or {pair: values[3] for pair, values in PAIRS.items()}
    cosines = NATURAL_COSINES if cosines is None else cosines
    identity = {"system": run["system"], "seed": "" if run["seed"] is None else run["seed"]}
    pairs = pd.DataFrame([
        {"pair_id": pair, "year": year, "subtask": subtask, "gold": gold, "similarity": similarity[pair],
         "in_sample": int(pair in NATURAL_COSINES),
         "natural_similarity": np.mean(cosines[pair]) if pair in cosines else np.nan}
        for pair, (year, subtask, gold, _) in PAIRS.items()
    ])  # fmt: skip
    natural = pd.DataFrame(
        [
            (pair, a, b, value)
            for pair, values in cosines.items()
            for (a, b), value in zip(speakers, values, strict=True)
        ],
        columns=["pair_id", "speaker_a", "speaker_b", "cosine"],
    )
    directory = root / run["system"] / f"seed{run['seed']}"
    write_tsv(directory / "similarities.tsv", pairs.assign(**identity))
    write_tsv(directory / "natural_cosines.tsv", natural.assign(**identity))
    return directory / "similarities.tsv", directory / "natural_cosines.tsv"


VGS = {"system": "vgs", "kind": "speech", "corpus": "c", "subset_k": None, "seed": 1}


@pytest.fixture
def scores(tmp_path: Path) -> RunScores:
    return read_run_scores(VGS, *write_run(tmp_path, VGS))


def rows_of(name: str, scores: RunScores) -> pd.DataFrame:
    return protocol_rows(PROTOCOLS[name], scores).set_index("group")


def test_merkx2021_by_hand(scores):
    """Pearson per subtask, over all pairs, on the natural sample (pair means) and on the Sample."""
    rows = rows_of("merkx2021", scores)
    assert list(rows.index) == ["2012 MSRvid", "2013 headlines", "All", NATURAL_GROUP, "Sample"]
    expected = {"2012 MSRvid": 1.0, "2013 headlines": 1.0, "All": ALL_R, NATURAL_GROUP: NATURAL_MEAN_R,
                "Sample": SAMPLE_R}  # fmt: skip
    assert rows["pearson"].to_dict() == pytest.approx(expected)
    assert rows["n"].tolist() == [4, 4, 8, 4, 4] and rows["n_points"].tolist() == [4, 4, 8, 4, 4]
    assert (rows.loc["All", "pearson_low"], rows.loc["All", "pearson_high"]) == pytest.approx(fisher(ALL_R, 8))
    assert rows["spearman"].isna().all()  # the paper reports Pearson only
    assert rows.loc["All", "headline"] == "pearson" and (rows.drop(index="All")["headline"] == "").all()


def test_pasad2024_by_hand(scores):
    """The natural sample only, each pair's 4 cosines averaged (0.2, 0.3, 0.4, 0.9), one Spearman: 1."""
    rows = rows_of("pasad2024", scores)
    assert list(rows.index) == [NATURAL_GROUP]
    row = rows.iloc[0]
    assert row["spearman"] == pytest.approx(1.0) and (row["n"], row["n_points"]) == (4, 4)
    assert np.isnan(row["pearson"]) and row["headline"] == "spearman"


def test_pasad2024_points_by_hand(scores):
    """Every speaker pair its own point with its pair's gold: Spearman over the 16 hand-written points,
    no interval (the points of a pair are not independent)."""
    row = rows_of("pasad2024-points", scores).iloc[0]
    expected = stats.spearmanr(POINT_COSINES, POINT_GOLDS).statistic
    assert row["spearman"] == pytest.approx(expected) and expected < 0.95
    assert (row["n"], row["n_points"]) == (4, 16)
    assert np.isnan(row["spearman_low"]) and np.isnan(row["spearman_high"])


def test_zhu2022_by_hand(scores):
    """The natural sample pooled, and the synthetic set one correlation per STS year (no pooled All);
    Pearson and Spearman each."""
    rows = rows_of("zhu2022", scores)
    assert list(rows.index) == [NATURAL_GROUP, "2012", "2013"]
    assert rows["pearson"].tolist() == pytest.approx([NATURAL_MEAN_R, 1.0, 1.0])
    assert rows["spearman"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    interval = (rows.loc[NATURAL_GROUP, "pearson_low"], rows.loc[NATURAL_GROUP, "pearson_high"])
    assert interval == pytest.approx(fisher(NATURAL_MEAN_R, 4))
    assert rows.loc[NATURAL_GROUP, "headline"] == "pearson"


def headline(name: str, scores: RunScores) -> float:
    rows = protocol_rows(PROTOCOLS[name], scores)
    row = rows[rows["headline"] != ""].iloc[0]
    return float(row[row["headline"]])


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        ("merkx2021", "pasad2024", "synthetic voices, all pairs, Pearson against the natural sample, Spearman"),
        ("merkx2021", "zhu2022", "all pairs pooled against one correlation per STS year"),
        ("pasad2024", "zhu2022", "Spearman against Pearson on the same natural pair means"),
        ("pasad2024", "pasad2024-points", "pair means against every speaker pair a point"),
    ],
)
def test_each_pair_of_protocols_gives_different_numbers(scores, a, b, reason):
    """The fixture tells every pair of protocols apart (their headline numbers differ), each for a
    stated reason checked below."""
    assert headline(a, scores) != pytest.approx(headline(b, scores), abs=0.02), reason


def test_what_the_protocols_differ_in(scores):
    """The reasons, one by one. Averaged before the correlation: Merkx's, Pasad's and Zhu's natural
    pair scores are the same means (Zhu's natural Spearman *is* Pasad's number, Zhu's natural Pearson
    Merkx's natural-speech r); only pasad2024-points averages nothing. Recordings and grouping: the
    year offset costs Merkx's pooled All (0.49) but none of Zhu's per-year correlations (1.0)."""
    merkx, pasad, zhu = (rows_of(name, scores) for name in ("merkx2021", "pasad2024", "zhu2022"))
    assert zhu.loc[NATURAL_GROUP, "spearman"] == pasad.loc[NATURAL_GROUP, "spearman"]
    assert zhu.loc[NATURAL_GROUP, "pearson"] == merkx.loc[NATURAL_GROUP, "pearson"]
    assert merkx.loc["All", "pearson"] == pytest.approx(ALL_R)
    assert zhu.loc[["2012", "2013"], "pearson"].tolist() == pytest.approx([1.0, 1.0])
    assert "All" not in zhu.index  # Zhu et al. log no pooled synthetic correlation
    points = rows_of("pasad2024-points", scores)
    assert points.loc[NATURAL_GROUP, "spearman"] < pasad.loc[NATURAL_GROUP, "spearman"] == pytest.approx(1.0)


def test_a_text_topline_is_one_point_per_pair(tmp_path):
    """A topline has no readers: evaluate_topline writes one "text" row per natural-sample pair (its
    text similarity), so under every protocol its natural number is its Sample number and
    pasad2024-points equals pasad2024."""
    rows = [("2012", "MSRvid", f"{gold:.1f}", words) for gold, words in
            ((1, "a b c d"), (2, "a b c e"), (3, "a b x e"), (4, "a y x e"), (5, "z y x e"))]  # fmt: skip
    pairs = pd.DataFrame([{"pair_id": f"q{i}", "year": year, "subtask": subtask, "gold": gold,
                           "sent_a": "a b c d", "sent_b": words, "sent_a_id": "s0", "sent_b_id": f"s{i}"}
                          for i, (year, subtask, gold, words) in enumerate(rows)])  # fmt: skip
    write_tsv(tmp_path / "pairs.tsv", pairs)
    write_tsv(tmp_path / "sample.tsv", pd.DataFrame({"pair_id": ["q0", "q2", "q3", "q4"]}))
    out = tmp_path / "bow"
    evaluate_topline(
        "bow", tmp_path / "pairs.tsv", tmp_path / "sample.tsv", out / "s.tsv", out / "c.tsv", out / "n.tsv"
    )
    cosines = read_tsv(out / "n.tsv")
    # bag-of-words cosine of "a b c d" with q0 ... q4: 4, 3, 2, 1, 0 shared words of 4.
    assert cosines[["pair_id", "speaker_a", "speaker_b"]].values.tolist() == [
        ["q0", "text", "text"], ["q2", "text", "text"], ["q3", "text", "text"], ["q4", "text", "text"]]  # fmt: skip
    assert cosines["cosine"].astype(float).tolist() == pytest.approx([1.0, 0.5, 0.25, 0.0])
    topline = {"system": "bow", "kind": "text topline", "corpus": "text", "subset_k": None, "seed": None}
    scores = read_run_scores(topline, out / "s.tsv", out / "n.tsv")
    merkx = rows_of("merkx2021", scores)
    assert merkx.loc[NATURAL_GROUP, "pearson"] == pytest.approx(merkx.loc["Sample", "pearson"])
    assert headline("pasad2024-points", scores) == pytest.approx(headline("pasad2024", scores)) == pytest.approx(-1)


def test_eval_writes_every_speaker_pairs_cosine_and_averages_them(tmp_path):
    """evaluate_sts: the natural sample's cosines of every reading of a with every reading of b, from
    embeddings at known angles and lengths (a: s1 at 0 deg, s2 at 90 deg; b: s1 at 60 deg, s2 at
    0 deg), and the pair's natural similarity their mean: (cos 60 + cos 0 + cos 30 + cos 90) / 4."""
    pairs = pd.DataFrame([{"pair_id": pair, "year": year, "subtask": subtask, "gold": gold, "sent_a": "x",
                           "sent_b": "y", "sent_a_id": f"{pair}-a", "sent_b_id": f"{pair}-b"}
                          for pair, (year, subtask, gold, _) in PAIRS.items()])  # fmt: skip
    write_tsv(tmp_path / "pairs.tsv", pairs)
    write_tsv(tmp_path / "sample.tsv", pd.DataFrame({"pair_id": ["p1", "p2", "p7"]}))
    voice = pd.DataFrame([{"utt_id": f"m1/{pair}-{side}", "pair_id": pair, "side": side}
                          for pair in PAIRS for side in "ab"])  # fmt: skip
    write_tsv(tmp_path / "voice.tsv", voice)
    natural = pd.DataFrame([{"utt_id": f"{speaker}/{pair}/{side}", "pair_id": pair, "side": side}
                            for pair in ("p1", "p2", "p7") for side in "ab" for speaker in ("s1", "s2")])  # fmt: skip
    write_tsv(tmp_path / "natural.tsv", natural)
    rng = np.random.default_rng(0)
    metadata = {"model": "m", "seed": 1}
    write_store(tmp_path / "m1.h5", ((u, rng.normal(size=2)) for u in voice["utt_id"]), 2, "embedding", metadata)

    def at(degrees: float, length: float) -> np.ndarray:
        return length * np.array([math.cos(math.radians(degrees)), math.sin(math.radians(degrees))])

    angle = {("s1", "a"): at(0, 3.0), ("s2", "a"): at(90, 0.5), ("s1", "b"): at(60, 2.0), ("s2", "b"): at(0, 7.0)}
    vectors = ((u, angle[(u.split("/")[0], u.split("/")[2])]) for u in natural["utt_id"])
    write_store(tmp_path / "natural.h5", vectors, 2, "embedding", metadata)
    out = tmp_path / "eval"
    evaluate_sts(tmp_path / "pairs.tsv", [tmp_path / "voice.tsv"], [tmp_path / "m1.h5"], tmp_path / "natural.tsv",
                 tmp_path / "natural.h5", tmp_path / "sample.tsv", out / "s.tsv", out / "c.tsv", out / "n.tsv",
                 run=RunId("m", 1))  # fmt: skip
    cosines = read_tsv(out / "n.tsv")
    first = cosines[cosines["pair_id"] == "p1"]
    assert list(zip(first["speaker_a"], first["speaker_b"], strict=True)) == list(SPEAKER_PAIRS)
    assert first["cosine"].astype(float).tolist() == pytest.approx([0.5, 1.0, math.sqrt(3) / 2, 0.0])
    assert len(cosines) == 12 and set(zip(cosines["system"], cosines["seed"])) == {("m", "1")}
    similarities = read_tsv(out / "s.tsv").set_index("pair_id")
    mean = (0.5 + 1.0 + math.sqrt(3) / 2 + 0.0) / 4
    assert similarities.loc[["p1", "p2", "p7"], "natural_similarity"].astype(float).tolist() == pytest.approx(
        [mean] * 3
    )
    assert similarities.loc["p3", "natural_similarity"] == ""  # not in the sample
    scores = read_run_scores({"system": "m", "seed": 1}, out / "s.tsv", out / "n.tsv")
    assert scores.natural.groupby("pair_id")["cosine"].mean().tolist() == pytest.approx([mean] * 3)


# --- Tables, run identity and the figure ------------------------------------------------------------

# A topline that scores every pair by gold / 5 (r = rho = 1 everywhere) and a speech-model layer that
# scores against it; with the vgs run of the fixture, each protocol's ranking is known by hand.
BOW = {"system": "bow", "kind": "text topline", "corpus": "text", "subset_k": None, "seed": None}
LAYER = {"system": "hub-L1", "kind": "speech model", "corpus": "random weights", "subset_k": None, "seed": None}
VGS_SEED2 = {**VGS, "seed": 2}


def write_three_systems(root: Path) -> tuple[list[dict], list[Path], list[Path]]:
    """vgs (two seeds: the fixture, and its similarities 0.8 - similarity on 2013), bow and hub-L1."""
    gold = {pair: values[2] for pair, values in PAIRS.items()}
    runs_files = [
        (VGS, write_run(root, VGS)),
        (VGS_SEED2, write_run(root, VGS_SEED2, {p: v[3] if v[0] == "2012" else 0.8 - v[3] for p, v in PAIRS.items()})),
        (BOW, write_run(root, BOW, {p: g / 5 for p, g in gold.items()}, {p: (gold[p] / 5,) for p in NATURAL_COSINES},
                        (("text", "text"),))),
        (LAYER, write_run(root, LAYER, {p: -g for p, g in gold.items()},
                          {p: tuple(-gold[p] + d for d in (0.0, 0.1, 0.2, 0.3)) for p in NATURAL_COSINES})),
    ]  # fmt: skip
    runs = [run for run, _ in runs_files]
    return runs, [files[0] for _, files in runs_files], [files[1] for _, files in runs_files]


def test_protocol_table_files(tmp_path):
    """CSV with the protocol's own measures and both seeds of vgs averaged in Fisher z; Markdown and
    LaTeX with the protocol's name and source in the caption."""
    runs, similarities, cosines = write_three_systems(tmp_path / "eval")
    paths = {fmt: tmp_path / f"merkx.{fmt}" for fmt in ("csv", "md", "tex")}
    table = protocol_table("merkx2021", runs, similarities, cosines, paths)
    csv = pd.read_csv(paths["csv"])
    assert not [column for column in csv if column.startswith("spearman")]
    assert set(csv["protocol"]) == {"merkx2021"}
    vgs_2013 = table[(table["system"] == "vgs") & (table["group"] == "2013 headlines")].iloc[0]
    # seed 1: r = 1; seed 2: r = -1 on 2013 (clipped in z): their z mean is 0.
    assert vgs_2013["seeds"] == 2 and vgs_2013["pearson"] == pytest.approx(0.0, abs=1e-9)
    all_vgs = table[(table["system"] == "vgs") & (table["group"] == "All")].iloc[0]
    seed2_all = stats.pearsonr([1, 2, 3, 4, 1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4, 0.3, 0.2, 0.1, 0.0]).statistic
    assert all_vgs["pearson"] == pytest.approx(math.tanh((math.atanh(ALL_R) + math.atanh(seed2_all)) / 2))
    markdown = paths["md"].read_text()
    assert "protocol merkx2021: Merkx et al. (2021) (Interspeech 2021" in markdown and "bow (text topline)" in markdown
    assert "Merkx et al. (2021)" in paths["tex"].read_text()
    points = protocol_table("pasad2024-points", runs, similarities, cosines, {"md": tmp_path / "p.md"})
    assert points["spearman_low"].isna().all()
    assert "ankitapasad/layerwise-analysis" in (tmp_path / "p.md").read_text()


def test_a_file_of_another_run_is_refused(tmp_path):
    """Each run's two files must record it: natural cosines swapped between runs stop the table."""
    runs, similarities, cosines = write_three_systems(tmp_path / "eval")
    swapped = [cosines[2], cosines[1], cosines[0], cosines[3]]
    with pytest.raises(RunMismatch, match=f"{cosines[2]}: holds run bow \\(no seed\\) but is read as run vgs seed 1"):
        protocol_table("pasad2024", runs, similarities, swapped, {"csv": tmp_path / "t.csv"})
    assert not (tmp_path / "t.csv").exists()


def test_a_natural_cosine_outside_the_sample_names_file_and_pair(tmp_path):
    similarities, cosines = write_run(tmp_path, VGS, cosines={**NATURAL_COSINES, "p3": (0.1, 0.1, 0.1, 0.1)})
    with pytest.raises(ValueError, match=f"{cosines}: pair 'p3' is not a natural-sample pair"):
        read_run_scores(VGS, similarities, cosines)


def test_a_protocol_scoring_synthetic_speech_per_speaker_pair_is_refused():
    with pytest.raises(ValueError, match="only the natural recordings"):
        Protocol("x", "x", "x", SPEAKER_PAIR, ("spearman",), (Scope("synthetic", label="All"),), (0, "spearman"), "")
    with pytest.raises(ValueError, match="headline must be a pooled scope"):
        Protocol("x", "x", "x", PAIR_MEAN, ("spearman",), (Scope(NATURAL),), (0, "pearson"), "")


def test_the_figure_ranks_every_system_under_each_protocol(tmp_path):
    """Ranks by hand. merkx2021 (All, Pearson): bow 1.0, vgs (seeds' z-mean of 0.49 and 0.0) ~0.25,
    hub-L1 -1 -> 1, 2, 3. pasad2024 (natural means, Spearman): bow 1 and vgs 1 tie for rank 1, hub-L1
    -1 -> 3. pasad2024-points: bow 1 (one point a pair), vgs < 1, hub-L1 < 0 -> 1, 2, 3. zhu2022
    (natural, Pearson): bow 1, vgs 0.91, hub-L1 -> 1, 2, 3."""
    runs, similarities, cosines = write_three_systems(tmp_path / "eval")
    csvs = []
    for name in PROTOCOLS:
        csvs.append(tmp_path / f"{name}.csv")
        protocol_table(name, runs, similarities, cosines, {"csv": csvs[-1]})
    figure = protocol_ranks_figure(csvs, [tmp_path / "ranks.png"])
    assert (tmp_path / "ranks.png").stat().st_size > 0
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    assert set(lines) == {"vgs", "bow (text topline)", "hub-L1 (random weights)"}
    assert lines["bow (text topline)"].get_ydata().tolist() == [1, 1, 1, 1]
    assert lines["vgs"].get_ydata().tolist() == [2, 1, 2, 2]
    assert lines["hub-L1 (random weights)"].get_ydata().tolist() == [3, 3, 3, 3]
    assert lines["bow (text topline)"].get_linestyle() == "--"
    ticks = [tick.get_text() for tick in figure.axes[0].get_xticklabels()]
    assert ticks[0].startswith("Merkx et al. (2021)\nAll") and "Spearman" in ticks[1]
    plt.close(figure)


def test_tied_end_labels_stack_instead_of_overlapping(tmp_path):
    """Two systems sharing a rank at the last column (the world's bow and tfidf under zhu2022) get
    their names one below the other, not printed over each other."""
    table = pd.DataFrame(
        {
            "system": ["a", "b", "c"],
            "kind": [SPEECH, TEXT_TOPLINE, TEXT_TOPLINE],
            "corpus": ["x", "text", "text"],
            "protocol": "zhu2022",
            "group": "natural",
            "headline": "pearson",
            "pearson": [0.5, 0.7, 0.7],
        }
    )
    table.to_csv(tmp_path / "zhu2022.csv", index=False)
    figure = protocol_ranks_figure([tmp_path / "zhu2022.csv"], [tmp_path / "ranks.png"])
    right = [text for text in figure.axes[0].texts if text.get_ha() == "left"]
    tied = [text.xyann for text in right if text.xy[1] == 1]
    assert len(tied) == 2 and tied[0] != tied[1]
    plt.close(figure)
