"""Which configuration a run uses: config.yaml alone, or exactly the --configfile files, layered.

Why: Snakemake by itself merges every --configfile onto the Snakefile's config.yaml, so a paper
run also generated, spoke and trained the world and sent espeak voice names to Google. The
Snakefile reads config.yaml only when no --configfile is given; these dry runs pin each route
(the README's own commands are run by tests/test_readme_commands.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checkout import fresh_checkout
from plan import dry_run

PAPER_AND_REHEARSAL = "--configfile workflow/config/paper.yaml workflow/config/rehearsal.yaml"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fresh_checkout(tmp_path_factory.mktemp("layering"))


def test_config_values_alone_apply_on_top_of_config_yaml(checkout: Path) -> None:
    plan = dry_run("snakemake -n --config 'evaluate={toplines: [bow]}'", checkout)
    assert "world_generate" in plan.counts()
    # evaluate.toplines is replaced, evaluate.sts_sets kept from config.yaml.
    assert plan.values("eval_text_topline", "topline") == {"bow"}
    assert plan.values("eval_text_topline", "sts_set") == {"world"}
    assert "paper_comparison" not in plan.counts()  # the world is not set beside the paper's numbers


def test_a_later_configfile_overrides_an_earlier_one_key_by_key(checkout: Path) -> None:
    plan = dry_run(f"snakemake -n {PAPER_AND_REHEARSAL}", checkout)
    counts = plan.counts()
    # rehearsal.yaml: one synthesis shard per voice (paper: 16), two MFCC shards per corpus (paper: 64)
    # and one for SpokenCOCO's 5k test set, no GPU (paper: one per training job); paper.yaml's keys it
    # leaves alone stay (5 subsets, the 5k test set's images: val beside rehearsal.yaml's size).
    assert counts["sts_synthesize"] == 6
    assert counts["mfcc"] == 3 * 2 + 1 + 6 + 1
    assert {resources.get("gpu") for rule, _, resources in plan.jobs if rule == "train"} == {None}
    assert plan.values("make_subset", "k") == {"1", "2", "3", "4", "5"}
    assert plan.values("paper_comparison", "sts_set") == {"real"}
    assert not [rule for rule in counts if rule.startswith("world_")]


def test_config_values_with_a_configfile_apply_on_top_of_it_not_of_config_yaml(checkout: Path) -> None:
    plan = dry_run(
        "snakemake -n --config 'evaluate={toplines: [bow]}' --configfile workflow/config/paper.yaml", checkout
    )
    assert not [rule for rule in plan.counts() if rule.startswith("world_")]
    assert plan.values("eval_text_topline", "topline") == {"bow"}
    assert plan.values("eval_text_topline", "sts_set") == {"real"}
