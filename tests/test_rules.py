"""The rules as Snakemake parses them: what each declares and passes, checked on the loaded workflow.

Why load the workflow (Snakemake's own API, in-process, ~3 s a configuration) rather than grep the
``.smk`` text: a test must see the value a rule really passes (a params function called with
wildcards, a resource request, a report caption's file), whatever the text looks like.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from plan import load_rules
from vgs.evaluate.labels import natural_description, natural_label
from vgs.plan import WorkflowPlan
from vgs_ops.projection import load_layered

REPO = Path(__file__).resolve().parent.parent
#: Rules that only collect targets: no job runs, nothing to log or benchmark.
TARGET_RULES = {"all", "study"}
WORLD_AND_ABLATION = ("config.yaml", "workflow/config/ablation.yaml")


@pytest.fixture(scope="module")
def rules() -> dict:
    return load_rules(WORLD_AND_ABLATION)


@pytest.fixture(scope="module")
def plan() -> WorkflowPlan:
    return WorkflowPlan(load_layered([REPO / name for name in WORLD_AND_ABLATION]))


def test_every_job_rule_declares_resources_log_and_benchmark(rules):
    """A cluster needs memory and time for every job, and a slow job must leave a benchmark."""
    missing = {
        name: [
            what
            for what, present in (
                ("mem_mb", "mem_mb" in rule.resources),
                ("runtime", "runtime" in rule.resources),
                ("log", bool(rule.log)),
                ("benchmark", bool(rule.benchmark)),
            )
            if not present
        ]
        for name, rule in rules.items()
        if name not in TARGET_RULES
    }
    assert not {name: what for name, what in missing.items() if what}
    assert len(missing) >= 35  # every rule file was loaded


@pytest.mark.parametrize("rule_name", ["train", "embed_utterances", "embed_sts", "embed_images"])
def test_training_and_encoding_take_the_models_own_settings(rules, plan, rule_name):
    """An ablation arm trains and encodes with its own overrides (bf16), not the shared section."""
    settings = rules[rule_name].params["train"](SimpleNamespace(model="k5-bf16", seed="1"))
    assert settings == plan.train_settings("k5-bf16")
    assert settings["precision"] == "bf16" != plan.train_settings("k5-reference")["precision"]


def test_rules_give_the_captions_the_natural_label(rules, plan):
    """Every rule whose report caption names the natural sample passes the sample's label and
    description, as computed from the configured source (synthetic here)."""
    checked = 0
    for rule in rules.values():
        for item in rule.output:
            report = item.flags.get("report") if hasattr(item, "flags") else None
            if report is None or report.caption is None:
                continue
            caption = Path(report.caption.get_path_or_uri(secret_free=True)).read_text()
            if "snakemake.params.natural" not in caption:
                continue
            assert rule.params["natural"] == natural_label(plan.natural_source), rule.name
            assert rule.params["natural_description"] == natural_description(plan.natural_source), rule.name
            checked += 1
    assert checked >= 3  # sts_correlations, figure1, figure2


def test_evaluation_tables_get_their_runs_with_the_runs_own_files(rules, plan):
    """The STS tables' runs and inputs come from one list of records: each record names its own
    files, and the input list is those files in the records' order."""
    wildcards = SimpleNamespace(sts_set="world")
    for name, kind in (
        ("table_sts_correlations", "correlations"),
        ("table3_aic_all", "similarities"),
        ("table_model_comparisons", "similarities"),
    ):
        records = rules[name].params["runs"](wildcards)
        assert [record[kind] for record in records] == rules[name].input[0](wildcards)
        for record in records:
            key = (
                f"/{record['system']}/seed{record['seed']}/" if record["seed"] is not None else f"/{record['system']}/"
            )
            assert key in record[kind] or f"layer{record.get('layer')}/" in record[kind], record


def test_gpu_is_requested_by_the_jobs_that_run_models(rules):
    """With ``resources.gpu: true`` (the world's setting, as the paper's) the jobs that run a neural
    network ask the cluster for a GPU, and no other job does (vgs_ops.costs sizes them for it)."""
    assert sorted(name for name, rule in rules.items() if "gpu" in rule.resources) == [
        "embed_images",
        "embed_sts",
        "embed_sts_speech_model",
        "embed_utterances",
        "image_features",
        "train",
    ]


def test_log_paths_name_their_rule(rules):
    """``results/logs/<rule>/...``: a failed job's log is found from the rule name Snakemake prints."""
    wrong = [
        name
        for name, rule in rules.items()
        if name not in TARGET_RULES and not re.match(rf"results/logs/{name}[/.]", str(rule.log[0]))
    ]
    assert not wrong


def test_what_a_job_runs_is_fixed_when_its_rule_is_defined(rules):
    """A rule's run function may read no workflow variable: Snakemake evaluates ``script:`` when
    the job runs, so a rule defined in a loop with ``script: f"...{name}.py"`` ran the last
    iteration's script (figure1 drew Figure 2; found by the speech-models overlay test)."""
    late = {name: sorted(set(rule.run_func.__code__.co_names) - {"script", "config"}) for name, rule in rules.items()}
    assert not {name: names for name, names in late.items() if names}


def test_every_plan_name_the_rules_use_exists(plan):
    """Input and params functions run only when Snakemake plans a job that needs them, so a renamed
    plan method (``PLAN.study_targets`` after the study got its own planner) breaks one target
    (``make study``) while every other command plans. Every ``PLAN.a.b`` the Snakefile and the rule
    files name must resolve on the plan."""
    texts = [(REPO / "Snakefile").read_text()] + [path.read_text() for path in (REPO / "workflow/rules").glob("*.smk")]
    missing = set()
    for chain in {match for text in texts for match in re.findall(r"\bPLAN((?:\.\w+)+)", text)}:
        target: object = plan
        for name in chain.strip(".").split("."):
            if isinstance(target, dict) and name in ("get", "items", "keys", "values"):
                break
            if not hasattr(target, name):
                missing.add(f"PLAN{chain}")
                break
            target = getattr(target, name)
    assert not missing, f"the rules name plan attributes that do not exist: {sorted(missing)}"
