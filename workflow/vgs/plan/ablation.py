"""The speed-option ablation's plan (``evaluate.ablation``): a reference model and its arms, each
trained with the same seeds, set beside one another model-major (a paired comparison).

Size: a handful of runs; nothing is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vgs.identity import SPEECH
from vgs.plan.runs import PlanError, Run


class AblationPlan:
    """Which models the ablation compares, with which seeds, and each run's files."""

    def __init__(
        self, evaluate: Mapping[str, Any], models: Mapping[str, Mapping[str, Any]], seeds: Callable[[str], list[int]]
    ):
        self.section = evaluate.get("ablation")
        self.all_models = models
        self.seeds_of = seeds

    def models(self) -> dict[str, dict[str, Any]]:
        """Reference first, then the arms, each with its train overrides."""
        if not self.section:
            raise PlanError("the ablation table needs evaluate.ablation (see workflow/config/ablation.yaml)")
        names = [self.section["reference"], *self.section["arms"]]
        unknown = [name for name in names if name not in self.all_models]
        if unknown:
            raise PlanError(
                f"config error at evaluate.ablation: names {unknown}, which are not models (or subset models)"
            )
        return {name: dict(self.all_models[name].get("train", {})) for name in names}

    def seeds(self) -> list[int]:
        """The seeds every ablation model is trained with (the same for all: the comparison is paired)."""
        seeds = {name: self.seeds_of(name) for name in self.models()}
        if len({tuple(s) for s in seeds.values()}) > 1:
            raise PlanError(
                f"config error at evaluate.ablation: its models must share their seeds (paired "
                f"comparison); they have {seeds}"
            )
        return next(iter(seeds.values()))

    def records(self, sts_set: str) -> list[dict[str, Any]]:
        """Every ablation model x seed (model-major) with its retrieval JSON and STS similarities."""
        runs = [
            Run(model, SPEECH, self.all_models[model]["corpus"], self.all_models[model].get("subset_k"), seed)
            for model in self.models()
            for seed in self.seeds()
        ]
        return [
            run.record(retrieval=run.retrieval_json, similarities=run.sts_file(sts_set, "similarities")) for run in runs
        ]
