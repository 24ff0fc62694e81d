"""The rules as Snakemake parses them: what each declares and passes, checked on the loaded workflow.

Why load the workflow (Snakemake's own API, in-process, ~3 s a configuration) rather than grep the
``.smk`` text: a test must see the value a rule really passes (a params function called with
wildcards, a resource request, a report caption's file), whatever the text looks like.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from plan import load_rules, rules_loaded_aside
from vgs.evaluate.labels import natural_description, natural_label
from vgs.evaluate.protocols import PROTOCOLS
from vgs.identity import SPEECH, TEXT_TOPLINE
from vgs.plan import WorkflowPlan
from vgs_ops.costs import HEAVY_RULES, job_cost
from vgs_ops.projection import load_layered

REPO = Path(__file__).resolve().parent.parent
#: Rules that only collect targets: no job runs, nothing to log or benchmark.
TARGET_RULES = {"all", "study"}
WORLD_AND_ABLATION = ("config.yaml", "workflow/config/ablation.yaml")
PAPER = ("workflow/config/paper.yaml",)


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


def test_protocol_tables_get_every_runs_two_files_and_make_the_planned_targets(rules, plan):
    """Each SpokenSTS protocol table reads every STS system's similarities and natural cosines, in the
    order of the runs it is given; the rule makes the plan's protocol tables and nothing else, and the
    figure reads one table per protocol."""
    wildcards = SimpleNamespace(sts_set="world", protocol="pasad2024-points")
    rule = rules["table_spokensts_protocol"]
    records = rule.params["runs"](wildcards)
    assert records == plan.sts_records("world") and {record["kind"] for record in records} >= {SPEECH, TEXT_TOPLINE}
    for kind in ("similarities", "natural_cosines"):
        assert getattr(rule.input, kind)(wildcards) == [record[kind] for record in records]
    targets = plan.protocol_tables("world")
    assert len(targets) == 3 * len(PROTOCOLS) and all(rule.is_producer(target) for target in targets)
    assert not rule.is_producer("results/tables/world/spokensts_nobody2020.csv")
    assert rule.get_wildcards("results/tables/world/spokensts_pasad2024-points.md")["protocol"] == "pasad2024-points"
    figure = rules["figure_spokensts_protocols"]
    assert sorted(figure.input) == sorted(f"results/tables/{{sts_set}}/spokensts_{name}.csv" for name in PROTOCOLS)
    assert figure.is_producer("results/figures/world/spokensts_protocols.pdf")


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


#: Jobs of every heavy rule (vgs_ops.costs.HEAVY_RULES) under the world's and the paper's
#: configuration: corpora, utterance sets and models of different sizes, so a request that does
#: not follow its job's data cannot match all of them.
HEAVY_JOBS = {
    WORLD_AND_ABLATION: [
        ("load_corpus", {"corpus": "world-flickr"}),
        ("load_corpus", {"corpus": "world-places"}),
        ("mfcc", {"uttset": "corpus/world-coco", "shard": "1"}),
        ("mfcc", {"uttset": "sts/world/m1", "shard": "0"}),
        ("mfcc", {"uttset": "sts/world/natural", "shard": "0"}),
        ("image_features", {"corpus": "world-places"}),
        ("train", {"model": "flickr", "seed": "1"}),
        ("train", {"model": "coco", "seed": "1"}),
        ("train", {"model": "k5-bf16", "seed": "2"}),
        ("embed_utterances", {"model": "places", "seed": "1", "uttset": "corpus/world-places"}),
        ("embed_sts", {"model": "coco", "seed": "1", "sts_set": "world"}),
        ("embed_images", {"model": "flickr", "seed": "1", "corpus": "world-flickr"}),
    ],
    PAPER: [
        ("load_corpus", {"corpus": "places"}),
        ("mfcc", {"uttset": "corpus/spokencoco", "shard": "7"}),
        ("mfcc", {"uttset": "sts/real/m1", "shard": "0"}),
        ("image_features", {"corpus": "flickr8k"}),
        ("image_features", {"corpus": "places"}),
        ("train", {"model": "places", "seed": "1"}),
        ("train", {"model": "spokencoco-k3", "seed": "1"}),
        ("embed_utterances", {"model": "spokencoco", "seed": "1", "uttset": "corpus/spokencoco"}),
        ("embed_sts", {"model": "flickr8k", "seed": "1", "sts_set": "real"}),
        ("embed_images", {"model": "places", "seed": "1", "corpus": "places"}),
    ],
}
#: Requests a configuration sets by hand, replacing the computed ones (train.schema.yaml).
CONFIGURED_REQUESTS = {"train": ("runtime", "mem_mb")}


def requested(rule, wildcards: dict[str, str]) -> dict:
    """What a job of ``rule`` asks the scheduler for, computed by Snakemake itself (the call that
    builds every job's resources) for these wildcards; ``_cores`` is its threads."""
    return dict(rule.expand_resources(wildcards, None, 1).items())


@pytest.mark.parametrize("configfiles", list(HEAVY_JOBS), ids=["world", "paper"])
def test_heavy_jobs_request_what_their_projected_cost_says(rules, configfiles):
    """mem_mb, runtime, disk_mb, threads and the GPU of each heavy job, as Snakemake computes them
    for concrete wildcards, are vgs_ops.costs' projection of that job (``make plan`` prints the
    same), unless the configuration sets the request by hand (``train.runtime``, ``train.mem_mb``).
    A rule whose request is a constant, or whose threads differ from those the projection divides
    the work by, fails here."""
    config = load_layered([REPO / name for name in configfiles])
    assert {rule for rule, _ in HEAVY_JOBS[configfiles]} == set(HEAVY_RULES)
    with contextlib.ExitStack() as stack:
        parsed = rules if configfiles == WORLD_AND_ABLATION else stack.enter_context(rules_loaded_aside(configfiles))
        requests = [
            (rule, wildcards, requested(parsed[rule], wildcards)) for rule, wildcards in HEAVY_JOBS[configfiles]
        ]
    for rule, wildcards, got in requests:
        cost = job_cost(config, rule, wildcards)
        expected = cost.resources() | {
            key: config[rule][key] for key in CONFIGURED_REQUESTS.get(rule, ()) if config[rule].get(key) is not None
        }
        assert {key: got[key] for key in expected} == expected, (rule, wildcards)
        assert got["_cores"] == cost.threads, (rule, wildcards, "threads")
        assert (got.get("gpu", 0) == 1) == cost.gpu, (rule, wildcards, "gpu")


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
