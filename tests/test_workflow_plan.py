"""The workflow's plan (vgs.plan) for every shipped configuration, without Snakemake (milliseconds).

The expected counts are the papers' and the configurations' own, counted by hand: the paper trains
Flickr8k, Places and SpokenCOCO plus SpokenCOCO subsets at 1-5 captions per image (8 models); the
world trains its three corpora plus subsets at k = 1, 2, 3, 4, 5, 10 (9); the study adds 4 totals x
4 k x 3 seeds (48 runs); the ablation three recipes x three seeds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vgs import layout
from vgs.identity import SPEECH, SPEECH_MODEL, TEXT_TOPLINE
from vgs.plan import PlanError, WorkflowPlan
from vgs_ops.projection import load_layered

REPO = Path(__file__).resolve().parent.parent
CONFIGS = {
    "world": ["config.yaml"],
    "paper": ["workflow/config/paper.yaml"],
    "rehearsal": ["workflow/config/paper.yaml", "workflow/config/rehearsal.yaml"],
    "study": ["config.yaml", "workflow/config/study.yaml"],
    "ablation": ["config.yaml", "workflow/config/ablation.yaml"],
    "speech_models": ["config.yaml", "workflow/config/speech_models.yaml"],
}
PAPER_MODELS = ["flickr8k", "places", "spokencoco", *(f"spokencoco-k{k}" for k in range(1, 6))]
WORLD_MODELS = ["flickr", "places", "coco", *(f"world-coco-k{k}" for k in (1, 2, 3, 4, 5, 10))]


@pytest.fixture(scope="module")
def configs() -> dict[str, dict]:
    return {name: load_layered([REPO / path for path in paths]) for name, paths in CONFIGS.items()}


def plan_of(configs: dict[str, dict], name: str) -> WorkflowPlan:
    return WorkflowPlan(configs[name])


@pytest.mark.parametrize("name", ["paper", "rehearsal"])
def test_the_paper_plans_the_papers_systems(configs, name):
    plan = plan_of(configs, name)
    assert sorted(plan.table_models) == sorted(PAPER_MODELS)
    runs = plan.sts_runs()
    assert [run.kind for run in runs] == [SPEECH] * 8 + [TEXT_TOPLINE] * 2
    assert [run.system for run in plan.corpus_model_runs()] == ["flickr8k", "places", "spokencoco"]
    assert plan.paper_comparison_sets() == ["real"]
    targets = plan.final_targets()
    for table in ("table3_aic", "table3_aic_all", "sts_correlations", "paper_comparison"):
        assert f"results/tables/real/{table}.md" in targets
    assert (
        "results/figures/real/figure2.png" in targets and "results/figures/real/speech_model_layers.png" not in targets
    )
    assert "results/tables/table2_retrieval.tex" in targets
    assert_protocols_planned(targets, "real")


def assert_protocols_planned(targets: list[str], sts_set: str) -> None:
    """One table per SpokenSTS protocol in every format, and the figure of their rankings."""
    for protocol in ("merkx2021", "pasad2024", "pasad2024-points", "zhu2022"):
        for ext in ("csv", "md", "tex"):
            assert f"results/tables/{sts_set}/spokensts_{protocol}.{ext}" in targets
    assert f"results/figures/{sts_set}/spokensts_protocols.png" in targets


def test_the_world_trains_its_corpora_and_subsets_and_gets_no_paper_comparison(configs):
    plan = plan_of(configs, "world")
    assert sorted(plan.models) == sorted(WORLD_MODELS)
    assert plan.paper_comparison_sets() == []  # the world is another experiment
    assert not [t for t in plan.final_targets() if "paper_comparison" in t or "/study/" in t]
    assert plan.train_manifest("world-coco-k3") == "results/subsets/world-coco/n600/k3/manifest.tsv"
    assert plan.train_manifest("coco") == "results/corpora/world-coco/manifest.tsv"
    assert plan.mfcc_files("sts/world/natural") == ["results/features/mfcc/sts/world/natural/shard0.h5"]
    assert_protocols_planned(plan.final_targets(), "world")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_targets_are_concrete_unique_paths_under_results(configs, name):
    targets = plan_of(configs, name).final_targets()
    assert len(targets) == len(set(targets))
    assert all(t.startswith("results/") and "{" not in t and "None" not in t for t in targets)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_record_names_only_its_own_runs_files(configs, name):
    """The keyed hand-over: a record's files are the files of the run it describes, so a script that
    takes files from records cannot pair one run with another's numbers."""
    plan = plan_of(configs, name)
    records = plan.sts_records("world" if name not in ("paper", "rehearsal") else "real")
    records += plan.retrieval_records()
    if name == "study":
        records += plan.study.records("world") + plan.study.paper_style_records("world")
    if name == "ablation":
        records += plan.ablation.records("world")
    for record in records:
        if record["kind"] == SPEECH:
            key = f"/{record['system']}/seed{record['seed']}"
        elif record["kind"] == SPEECH_MODEL:
            key = f"/speech_models/{record['speech_model']}/layer{record['layer']}/"
        else:
            key = f"/toplines/{record['system']}/"
        files = [
            value
            for field, value in record.items()
            if field in ("similarities", "correlations", "natural_cosines", "retrieval", "train_log", "benchmark")
        ]
        assert files and all(key in path for path in files), record


def test_the_study_has_sixteen_cells_of_three_seeds_beside_the_paper_style_subsets(configs):
    plan = plan_of(configs, "study")
    records = plan.study.records("world")
    assert len(records) == 48
    assert {(r["total"], r["k"]) for r in records} == {(n, k) for n in (60, 120, 240, 480) for k in (1, 2, 5, 10)}
    assert {r["seed"] for r in records} == {1, 2, 3}
    assert records[0]["benchmark"] == "results/logs/benchmarks/train/world-coco-n60-k1/seed1.tsv"
    paper = plan.study.paper_style_records("world")
    assert [(r["system"], r["seed"], r["k"]) for r in paper] == [
        (f"world-coco-k{k}", 1, k) for k in (1, 2, 3, 4, 5, 10)
    ]
    assert len(plan.study.targets()) == 7
    assert "results/figures/study/world/study.pdf" in plan.final_targets()


def test_the_ablation_is_model_major_with_paired_seeds(configs):
    plan = plan_of(configs, "ablation")
    assert list(plan.ablation.models()) == ["k5-reference", "k5-bucketed", "k5-bf16"]
    assert plan.ablation.seeds() == [1, 2, 3]
    assert [(r["system"], r["seed"]) for r in plan.ablation.records("world")] == [
        (m, s) for m in ("k5-reference", "k5-bucketed", "k5-bf16") for s in (1, 2, 3)
    ]
    assert plan.train_settings("k5-bf16")["precision"] == "bf16"
    assert plan.train_settings("k5-reference")["precision"] != "bf16"


def test_unpaired_ablation_seeds_and_missing_sections_are_named(configs):
    config = {**configs["ablation"], "models": {**configs["ablation"]["models"]}}
    config["models"]["k5-bf16"] = {**config["models"]["k5-bf16"], "seeds": [1]}
    with pytest.raises(PlanError, match=r"evaluate\.ablation: its models must share their seeds"):
        WorkflowPlan(config).ablation.seeds()
    with pytest.raises(PlanError, match=r"needs evaluate\.ablation"):
        plan_of(configs, "world").ablation.models()
    with pytest.raises(PlanError, match="needs a study: section"):
        plan_of(configs, "world").study.targets()


def test_an_sts_set_to_evaluate_must_exist(configs):
    config = {**configs["world"], "evaluate": {**configs["world"]["evaluate"], "sts_sets": ["world", "nope"]}}
    with pytest.raises(PlanError, match=r"evaluate\.sts_sets: names \['nope'\]"):
        WorkflowPlan(config)


def test_encoder_layers_are_systems_with_their_own_files(configs):
    plan = plan_of(configs, "speech_models")
    speech_model_runs = plan.speech_model_runs()
    assert speech_model_runs and all(run.kind == SPEECH_MODEL and run.seed is None for run in speech_model_runs)
    run = speech_model_runs[0]
    assert run.system == f"{run.speech_model}-L{run.layer}"
    assert run.sts_file("world", "similarities") == (
        f"results/eval/speech_models/{run.speech_model}/layer{run.layer}/sts/world/similarities.tsv"
    )
    assert "results/figures/world/speech_model_layers.png" in plan.final_targets()


def test_study_and_paper_subsets_with_different_seeds_cannot_nest(configs):
    config = {**configs["study"], "study": {**configs["study"]["study"], "seed": 99}}
    with pytest.raises(PlanError, match="subsets.seed and study.seed differ"):
        WorkflowPlan(config).subset_ranking("world-coco", 600)
    ranking = plan_of(configs, "study").subset_ranking("world-coco", 600)
    assert ranking["ks"] == [1, 2, 3, 4, 5, 10] and ranking["total_key"] == "subsets.total"


def test_a_subset_names_the_config_keys_that_ask_for_it(configs):
    """config.yaml's subsets: 600 captions at k in 1-5 and 10; study.yaml's cells: 60-480 captions at
    k in 1, 2, 5, 10. A subset both ask for names both sections' keys."""

    def keys(config: dict, total: int, k: int) -> tuple[str, str]:
        ranking = WorkflowPlan(config).subset_ranking("world-coco", total, k)
        return ranking["total_key"], ranking["k_key"]

    assert keys(configs["study"], 600, 10) == ("subsets.total", "subsets.k")
    assert keys(configs["study"], 60, 5) == ("study.totals", "study.k")
    both = {**configs["study"], "study": {**configs["study"]["study"], "totals": [60, 600]}}
    assert keys(both, 600, 5) == ("subsets.total and study.totals", "subsets.k and study.k")
    assert keys(both, 600, 3) == ("subsets.total", "subsets.k")  # k = 3 is the paper subsets' only


def test_layout_fill_refuses_missing_and_unknown_wildcards():
    assert layout.fill(layout.CHECKPOINT, model="m", seed=2) == "results/models/m/seed2/best.pt"
    with pytest.raises(KeyError, match=r"missing \['seed'\]"):
        layout.fill(layout.CHECKPOINT, model="m")
    with pytest.raises(KeyError, match=r"unknown \['sed'\]"):
        layout.fill(layout.CHECKPOINT, model="m", seed=1, sed=1)
    assert layout.partial(layout.STS_TABLE, stem="t", ext="md") == "results/tables/{sts_set}/t.md"
