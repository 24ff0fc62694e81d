"""The size x captions-per-image study's plan (``study:``): its cells (total captions x captions
per image) x seeds, each run with its files, and the paper-style subset models it is set against.

Size: the shipped study has 16 cells x 3 seeds = 48 runs; nothing is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vgs import layout
from vgs.config import subset_models, train_section
from vgs.identity import SPEECH
from vgs.plan.runs import PlanError, Run

STUDY_TABLES = (("by_seed", "csv"), ("cells", "csv"), ("cells", "md"), ("regression", "csv"), ("regression", "md"))


class StudyPlan:
    """The study's runs, their records and its targets; every method names the missing section."""

    def __init__(
        self,
        config: Mapping[str, Any],
        models: Mapping[str, Mapping[str, Any]],
        seeds: Callable[[str], list[int]],
    ):
        self.config = config
        self.models = models
        self.seeds = seeds

    def section(self) -> dict[str, Any]:
        study = self.config.get("study")
        if not study:
            raise PlanError("the study needs a study: section (see workflow/config/study.yaml and `make study`)")
        return study

    def records(self, sts_set: str) -> list[dict[str, Any]]:
        """Every study model x seed with its cell and files: retrieval, similarities, training benchmark."""
        self.section()
        return [
            {
                **Run(model, SPEECH, spec["corpus"], spec["subset_k"], seed).record(
                    retrieval=layout.fill(layout.RETRIEVAL_JSON, model=model, seed=seed),
                    similarities=layout.fill(
                        layout.SPEECH_STS, model=model, seed=seed, sts_set=sts_set, name="similarities"
                    ),
                    benchmark=layout.fill(layout.TRAIN_BENCHMARK, model=model, seed=seed),
                ),
                "total": spec["subset_total"],
                "k": spec["subset_k"],
            }
            for model, spec in self.models.items()
            if spec.get("study")
            for seed in spec["seeds"]
        ]

    def paper_style_records(self, sts_set: str) -> list[dict[str, Any]]:
        """The paper-style subset models of the study's corpus, first seed each: the single-seed
        comparison the study's seed spread is set against."""
        source = self.section()["source"]
        runs = [
            Run(model, SPEECH, spec["corpus"], spec["subset_k"], self.seeds(model)[0])
            for model, spec in subset_models(self.config).items()
            if spec["corpus"] == source
        ]
        return [
            {
                **run.record(retrieval=run.retrieval_json, similarities=run.sts_file(sts_set, "similarities")),
                "k": run.subset_k,
            }
            for run in runs
        ]

    def training(self) -> str:
        """What the study's models were trained with, for the tables' captions."""
        train = train_section(self.config, self.section()["train"], "study.train")
        return (
            f"the {self.config['model']['size']} model for {train['epochs']} epochs in batches of {train['batch_size']}"
        )

    def targets(self) -> list[str]:
        """The study's tables and figure for every evaluated STS set (target ``study``)."""
        self.section()
        sets = self.config["evaluate"]["sts_sets"]
        return [
            layout.fill(layout.STUDY_TABLE, sts_set=s, stem=stem, ext=ext) for s in sets for stem, ext in STUDY_TABLES
        ] + [layout.fill(layout.STUDY_FIGURE, sts_set=s, ext=ext) for s in sets for ext in layout.FIGURE_FORMATS]
