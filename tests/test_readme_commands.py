"""Every command in the documentation's fenced bash blocks (README.md and docs/*.md) runs here, as
written, and plans what the documentation says.

Why: the README is how a researcher reproduces the paper; a command that no longer runs (a renamed
target, a target read as a config file after ``--configfile``, a configuration that leaks the
generated world into the paper run) is a broken reproduction. Each command is matched to a
registered way of running it: as written, or as a dry run of itself (``-n``; ``make`` targets
through ``SNAKEMAKE_ARGS=-n``) where running it would take hours, a GPU or a cluster; a ``make``
target whose run is covered elsewhere runs as written with stand-ins for the programs it calls
(tests/make_stand_ins.py; tests/test_makefile.py checks what each target does). A documented
command nobody registered fails the test, so new documentation cannot go untested, on whichever
page it is written.
Commands run in a scratch copy of the repository (a fresh clone's files), never in the developer's
results.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from checkout import REPO, fresh_checkout, make_would_reinstall, run_shell
from conftest import skip_or_fail_in_ci
from make_stand_ins import run_make, stand_in_repository
from plan import Plan, dry_run
from readme import Command, documentation_pages, documentation_text, documented_commands, page_commands
from test_module import write_module_project

# Every test here runs README commands (make, Snakemake) in subprocesses: the slow tier.
pytestmark = pytest.mark.slow

# The paper's conditions, written out independently of paper.yaml (Merkx et al. 2021, Table 2).
PAPER_MODELS = {"flickr8k", "places", "spokencoco", *(f"spokencoco-k{k}" for k in range(1, 6))}
PAPER_VOICES = {"m1", "m2", "m3", "f1", "f2", "f3"}
PAPER_SUBSETS = {"1", "2", "3", "4", "5"}
DRY_RUN_TIMEOUT = 300


def readme_job_count() -> int:
    """The paper's job count as the documentation (docs/full-scale.md) states it."""
    match = re.search(r"plans the paper's ([\d,]+) jobs", documentation_text())
    assert match, 'no documentation page says "plans the paper\'s <N> jobs"; keep the count in docs/full-scale.md'
    return int(match.group(1).replace(",", ""))


def assert_paper_plan(plan: Plan) -> None:
    """The paper run: the README's job count, eight models, six voices, five subsets, no world."""
    counts = plan.counts()
    assert sum(counts.values()) == readme_job_count(), counts
    assert not [rule for rule in counts if rule.startswith("world_")]
    assert plan.values("train", "model") == PAPER_MODELS
    assert plan.values("sts_voice_manifest", "voice") == PAPER_VOICES
    assert plan.values("make_subset", "k") == PAPER_SUBSETS
    assert plan.values("sts_ingest", "sts_set") == {"real"}
    # paper.yaml asks for a GPU for every job that runs a CNN or the VGS model (resources.gpu: true).
    for gpu_rule in ("image_features", "train", "embed_utterances", "embed_sts", "embed_images"):
        assert {resources.get("gpu") for rule, _, resources in plan.jobs if rule == gpu_rule} == {"1"}, gpu_rule


def assert_rehearsal_plan(plan: Plan) -> None:
    """paper.yaml + rehearsal.yaml: the paper's conditions at miniature size, on CPUs."""
    counts = plan.counts()
    assert not [rule for rule in counts if rule.startswith("world_")]
    assert plan.values("train", "model") == PAPER_MODELS
    assert plan.values("sts_voice_manifest", "voice") == PAPER_VOICES
    assert "sts_download" not in counts  # the real STS text is linked in, not fetched
    assert {resources.get("gpu") for _, _, resources in plan.jobs} == {None}


def world_models() -> set[str]:
    """Models config.yaml trains: its models plus one per captions-per-image subset."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    subsets = config["subsets"]
    return set(config["models"]) | {f"{subsets['source']}-k{k}" for k in subsets["k"]}


def assert_world_plan(plan: Plan) -> None:
    """The embedded default (config.yaml): the generated world, every stage, nothing of the paper's."""
    counts = plan.counts()
    assert {"world_generate", "world_speak", "world_sts", "figure1", "figure2", "table2_retrieval"} <= set(counts)
    assert plan.values("train", "model") == world_models()
    assert plan.values("sts_ingest", "sts_set") == {"world"}


def assert_redraws_figure1(plan: Plan) -> None:
    assert plan.values("figure1", "sts_set") == {"world"}
    assert "figure2" not in plan.counts() and "table2_retrieval" not in plan.counts()


def assert_table2_only(plan: Plan) -> None:
    counts = plan.counts()
    assert counts["table2_retrieval"] == 1
    assert not {"eval_sts", "figure1", "figure2", "table3_aic"} & set(counts)


def assert_protocols_only(plan: Plan) -> None:
    """One table per SpokenSTS protocol and their figure, from every system's evaluation; no other table."""
    counts = plan.counts()
    assert counts["table_spokensts_protocol"] == 4 and counts["figure_spokensts_protocols"] == 1
    assert plan.values("table_spokensts_protocol", "protocol") == {"merkx2021", "pasad2024", "pasad2024-points",
                                                                   "zhu2022"}  # fmt: skip
    assert counts["eval_sts"] == len(world_models()) and counts["eval_text_topline"] == 2
    assert not {"figure1", "table2_retrieval", "table_sts_correlations"} & set(counts)


def trained_runs(plan: Plan) -> set[tuple[str, str]]:
    return {(wildcards["model"], wildcards["seed"]) for rule, wildcards, _ in plan.jobs if rule == "train"}


def assert_ablation_plan(plan: Plan) -> None:
    """The world's k = 5 subset recipe and its two speed-option arms, three seeds each, and the table."""
    assert plan.counts()["table_ablation"] == 1
    assert trained_runs(plan) == {(model, seed) for model in ("k5-reference", "k5-bucketed", "k5-bf16")
                                  for seed in "123"}  # fmt: skip


def assert_study_plan(plan: Plan) -> None:
    """The issue's grid (>= 3 sizes spanning 8x, k in {1, 2, 5, 10}, >= 3 seeds) and the paper-style
    subset models it is compared with; none of the world's other models."""
    study = yaml.safe_load((REPO / "workflow" / "config" / "study.yaml").read_text())["study"]
    totals, ks, seeds = study["totals"], study["k"], study["seeds"]
    assert len(totals) >= 3 and max(totals) >= 8 * min(totals) and set(ks) == {1, 2, 5, 10} and len(seeds) >= 3
    cells = {(f"world-coco-n{t}-k{k}", str(s)) for t in totals for k in ks for s in seeds}
    paper_style = {(model, "1") for model in world_models() if model.startswith("world-coco-k")}
    assert trained_runs(plan) == cells | paper_style
    counts = plan.counts()
    assert counts["study_tables"] == 1 and counts["study_figure"] == 1 and "table2_retrieval" not in counts


# --- my.yaml for "another configuration": config.yaml with one model and one subset ---------------

MY_MODELS = {"flickr", "world-coco-k2"}


def write_my_config(checkout: Path) -> None:
    """A user's configuration: config.yaml cut down to the flickr model and the k = 2 subset."""
    config = yaml.safe_load((checkout / "config.yaml").read_text())
    config["models"] = {"flickr": config["models"]["flickr"]}
    config["subsets"]["k"] = [2]
    (checkout / "my.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def assert_my_config_plan(plan: Plan) -> None:
    """Exactly my.yaml: merged onto config.yaml, the places/coco models and other subsets would leak in."""
    assert plan.values("train", "model") == MY_MODELS


# --- External speech models -------------------------------------------------------------------


def assert_speech_models_plan(plan: Plan) -> None:
    """The world plus the random tiny encoder: its model, one encoding job, three layers evaluated,
    the layer-wise figure; the world's models as usual."""
    counts = plan.counts()
    assert counts["speech_model_random"] == 1 and counts["embed_sts_speech_model"] == 1
    assert plan.values("eval_sts_speech_model", "layer") == {"0", "1", "2"}
    assert counts["figure_speech_model_layers"] == 1
    assert plan.values("train", "model") == world_models()


def write_checkpoint_overlay(checkout: Path) -> None:
    """hubert.yaml naming a local checkpoint directory: a tiny random HuBERT saved as a download is."""
    from vgs.speech_models.hf import save_random_model, tiny_config

    directory = save_random_model(checkout / "tiny-hubert-checkpoint", tiny_config("hubert"), seed=0)
    overlay = {"speech_models": {"hubert-base": {"kind": "hf", "model": str(directory), "layers": [0, 2]}}}
    (checkout / "hubert.yaml").write_text(yaml.safe_dump(overlay))


def assert_checkpoint_plan(plan: Plan) -> None:
    counts = plan.counts()
    assert "speech_model_random" not in counts and counts["embed_sts_speech_model"] == 1
    assert plan.values("eval_sts_speech_model", "layer") == {"0", "2"}


def write_world_module_project(checkout: Path) -> None:
    """my-project/ beside the checkout: docs/usage.md's module Snakefile importing the checkout, config.yaml."""
    write_module_project(checkout / "my-project", yaml.safe_load((checkout / "config.yaml").read_text()), checkout)


def quick(command: str) -> str:
    return f"{command} --quick --out results/benchmarks"


# --- How each README command runs here ----------------------------------------------------------


@dataclass(frozen=True)
class Way:
    """How a README command is run here and what its outcome must show."""

    run: Callable[[str], str | None]  # the command as written -> the shell line to run (None: don't)
    check: Callable[[Plan], None] | None = None  # assertions on the planned jobs
    prepare: Callable[[Path], None] | None = None  # files the command needs in the checkout
    reason: str = ""  # why the command is not run as written
    stand_ins: bool = False  # a make target run with stand-ins for every program (tests/make_stand_ins.py)


def as_written(command: str) -> str:
    return command


def snakemake_dry_run(command: str) -> str:
    return command if re.search(r"(^|\s)-n(\s|$)", command) else f"{command} -n"


def make_dry_run(command: str) -> str:
    return f"{command} SNAKEMAKE_ARGS=-n"


def pip_dry_run(command: str) -> str:
    """pip's own dry run, offline: every requirement must already be satisfiable from this environment."""
    return command.replace("pip install", "pip install --dry-run --no-index --no-build-isolation", 1)


def with_stand_ins(reason: str) -> Way:
    """A make target whose real run is covered elsewhere (``reason``): it runs as written, every
    program it calls a stand-in; it must succeed, call something and install nothing (what it calls
    and how: tests/test_makefile.py)."""
    return Way(as_written, reason=f"run with stand-ins for the programs it calls; {reason}", stand_ins=True)


WAYS: list[tuple[str, Way]] = [
    (r"source \.venv/bin/activate", Way(as_written)),
    (r'P="--workflow-profile workflow/profiles/default"', Way(as_written)),
    (r"make run", Way(make_dry_run, assert_world_plan, reason="dry run: the whole world takes ~12 min")),
    (r"make test", with_stand_ins("CI runs it (.ci/run: make slurm-deps, then make test)")),
    (r"snakemake \$P", Way(snakemake_dry_run, assert_world_plan, reason="dry run of the whole world")),
    (r"snakemake \$P -n", Way(as_written, assert_world_plan)),
    (
        r"snakemake \$P results/figures/world/figure1\.pdf --forcerun figure1",
        Way(snakemake_dry_run, assert_redraws_figure1, reason="dry run: needs the world's models"),
    ),
    (
        r"snakemake \$P results/tables/table2_retrieval\.md",
        Way(snakemake_dry_run, assert_table2_only, reason="dry run: needs the world's models"),
    ),
    (
        r"snakemake \$P results/figures/world/spokensts_protocols\.png",
        Way(snakemake_dry_run, assert_protocols_only, reason="dry run: needs the world's models"),
    ),
    (
        r"snakemake \$P --configfile my\.yaml",
        Way(snakemake_dry_run, assert_my_config_plan, write_my_config, reason="dry run of a user's my.yaml"),
    ),
    (
        r"make report",
        with_stand_ins(
            "needs a finished run; tests/test_workflow_e2e.py builds the report of a finished world with "
            "snakemake --report",
        ),
    ),
    (r"make bench", with_stand_ins("tests/test_bench.py runs every benchmark (python -m vgs_ops.bench --quick)")),
    (r"make bench BENCH_ARGS=--quick", with_stand_ins("tests/test_bench.py runs python -m vgs_ops.bench --quick")),
    (
        r"make test-fast",
        with_stand_ins("the not-slow part of the suite that CI runs in full (make test)"),
    ),
    (
        r"make gpu-check",
        with_stand_ins("tests/test_gpu_check.py runs its quick CPU mode (python -m vgs_ops.bench --only gpu --quick)"),
    ),
    (
        r"make gpu-check BENCH_ARGS=--quick",
        with_stand_ins("tests/test_gpu_check.py runs this command's quick mode"),
    ),
    (
        r"python -m vgs_ops\.bench --only scale",
        Way(lambda command: f"{command} --quick", reason="quick mode: the full run writes a 32 GB store"),
    ),
    (
        r"VGS_SCALE_SIZES_GB=4 VGS_SCALE_PARTS=train python -m vgs_ops\.bench --only scale",
        Way(
            lambda command: f"{command} --quick",
            reason="quick mode (tiny store, training part only); the 4 GB run is for a GPU machine",
        ),
    ),
    (
        r"snakemake results/tables/ablation/world\.md --workflow-profile workflow/profiles/default "
        r"--configfile config\.yaml workflow/config/ablation\.yaml",
        Way(snakemake_dry_run, assert_ablation_plan, reason="dry run: nine training runs, bf16 ones slow on CPUs"),
    ),
    (
        r"make study",
        Way(
            make_dry_run,
            assert_study_plan,
            reason="dry run: ~30 min; tests/test_workflow_e2e.py runs the study's rules on a tiny world, twice",
        ),
    ),
    (r"snakemake -n --configfile workflow/config/paper\.yaml", Way(as_written, assert_paper_plan)),
    (
        r"make run CONFIG=workflow/config/paper\.yaml",
        Way(make_dry_run, assert_paper_plan, reason="dry run: the paper needs the corpora and ~56 GPU-hours"),
    ),
    (
        r"make plan CONFIG=workflow/config/paper\.yaml",
        Way(as_written, reason="prints the plan; tests/test_projection.py checks its counts and sums"),
    ),
    (
        r"make plan CONFIG=workflow/config/paper\.yaml GPUS=4",
        with_stand_ins("the command above runs the plan; tests/test_projection.py checks the wall-clock it prints"),
    ),
    (
        r'make run CONFIG="workflow/config/paper\.yaml workflow/config/rehearsal\.yaml"',
        Way(
            make_dry_run,
            assert_rehearsal_plan,
            reason="dry run here; tests/test_rehearsal.py runs it as written on miniature corpora",
        ),
    ),
    (r"pip install -e \. -r requirements\.txt", Way(pip_dry_run, reason="pip's offline dry run: installs nothing")),
    (
        r"snakemake --workflow-profile workflow/profiles/default "
        r"--configfile config\.yaml workflow/config/speech_models\.yaml",
        Way(
            snakemake_dry_run,
            assert_speech_models_plan,
            reason="dry run: tests/test_speech_models_workflow.py runs it on a tiny world",
        ),
    ),
    (
        r"snakemake --workflow-profile workflow/profiles/default --configfile config\.yaml hubert\.yaml",
        Way(
            snakemake_dry_run,
            assert_checkpoint_plan,
            write_checkpoint_overlay,
            reason="dry run, with a saved tiny random model as the local checkpoint (no hub offline)",
        ),
    ),
    (r"python -m vgs_ops\.bench --only speech_models", Way(quick, reason="quick mode: the full CPU run takes minutes")),
    (
        r"PYTHONPATH=workflow python3 -m vgs_ops\.bench\.speech_models",
        Way(quick, reason="quick mode: the full CPU run takes minutes"),
    ),
    (
        r"cd my-project && snakemake --cores 2",
        Way(
            snakemake_dry_run,
            assert_world_plan,
            write_world_module_project,
            reason="dry run of the world through the module; tests/test_module.py runs a shrunk world's target",
        ),
    ),
    (
        r"snakemake --profile workflow/profiles/slurm --configfile workflow/config/paper\.yaml",
        Way(snakemake_dry_run, assert_paper_plan, reason="dry run: needs a GPU cluster"),
    ),
]


def way_of(command: Command) -> Way:
    ways = [way for pattern, way in WAYS if re.fullmatch(pattern, command.text)]
    assert ways, (
        f"{command.where}: {command.text!r} is not registered in tests/test_readme_commands.py "
        "(WAYS): register how it runs here and what it must plan"
    )
    return ways[0]


def unregistered(commands: list[Command]) -> list[str]:
    return [f"{c.where}: {c.text}" for c in commands if not any(re.fullmatch(pattern, c.text) for pattern, _ in WAYS)]


def block_context(command: Command, commands: list[Command]) -> list[str]:
    """Lines before ``command`` in its block that set up the shell (activation, variables)."""
    return [
        other.text
        for other in commands
        if other.page == command.page
        and other.block == command.block
        and other.line < command.line
        and re.match(r"source |[A-Z_]+=", other.text)
    ]


COMMANDS = documented_commands()


def distinct(commands: list[Command]) -> list[Command]:
    """One command per text and shell context: a command repeated on another page runs once."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for command in commands:
        key = (*block_context(command, commands), command.text)
        if key not in seen:
            seen.add(key)
            kept.append(command)
    return kept


RUNS = distinct(COMMANDS)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fresh_checkout(tmp_path_factory.mktemp("readme-checkout"))


def test_documentation_has_commands_and_every_one_is_registered() -> None:
    """README.md and every docs/*.md page: each command has a registered way to run it."""
    assert {c.page for c in COMMANDS} >= {"README.md", "docs/full-scale.md", "docs/usage.md"}, "pages not read"
    assert len(COMMANDS) >= 10
    missing = unregistered(COMMANDS)
    assert not missing, (
        "documented commands without a registered way to run them in tests/test_readme_commands.py (WAYS): "
        + "; ".join(missing)
    )


@pytest.mark.parametrize("command", RUNS, ids=[c.where for c in RUNS])
def test_documented_command_runs_and_plans_what_it_says(command: Command, checkout: Path, tmp_path: Path) -> None:
    way = way_of(command)
    line = way.run(command.text)
    if way.stand_ins:
        run = run_make(stand_in_repository(tmp_path), *shlex.split(line)[1:])
        assert run.returncode == 0 and run.calls and not run.installs(), (command.where, run.output, run.calls)
        return
    if line.startswith("make ") and make_would_reinstall(checkout):
        skip_or_fail_in_ci(
            f"`{command.text}` would reinstall .venv here (stamp older than requirements); run make setup"
        )
    if way.prepare:
        way.prepare(checkout)
    script = "\n".join([*block_context(command, COMMANDS), line])
    result = run_shell(script, checkout, timeout=DRY_RUN_TIMEOUT)
    assert result.returncode == 0, (
        f"{command.where} ran as `{line}` ({way.reason or 'as written'}) and failed:\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    )
    if way.check:
        way.check(Plan.parse(result.stdout + result.stderr))


def test_activation_puts_the_venv_first(checkout: Path) -> None:
    """``source .venv/bin/activate`` then ``snakemake`` runs the environment's Snakemake."""
    result = run_shell("source .venv/bin/activate\ncommand -v snakemake", checkout, timeout=60)
    assert Path(result.stdout.strip()).resolve() == (checkout / ".venv" / "bin" / "snakemake").resolve()


def test_world_plan_and_make_run_plan_are_the_same(checkout: Path) -> None:
    """README: `snakemake $P` is "same as make run"."""
    if make_would_reinstall(checkout):
        skip_or_fail_in_ci("make would reinstall .venv here (stamp older than requirements); run make setup")
    by_make = dry_run("make run SNAKEMAKE_ARGS=-n", checkout)
    by_snakemake = dry_run("snakemake --workflow-profile workflow/profiles/default -n", checkout)
    assert by_make.counts() == by_snakemake.counts()


def test_an_unregistered_command_on_a_new_docs_page_is_reported(tmp_path: Path) -> None:
    """A page added under docs/ is read, and its command nobody registered is named with page and line."""
    page = tmp_path / "new-page.md"
    page.write_text("# New\n\n```bash\nmake run   # registered\nmake frobnicate   # nobody registered this\n```\n")
    assert page in documentation_pages(tmp_path)
    assert unregistered(page_commands(page)) == [f"{page}:5: make frobnicate"]
