"""Runs as the plan hands them to tables, figures and comparisons: one record per run, carrying
its identity and the paths of its own files (so a script never pairs a run with a file by position).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from vgs import layout
from vgs.config import ConfigError
from vgs.identity import SPEECH, SPEECH_MODEL


class PlanError(ConfigError):
    """A configuration that validates but cannot be planned (names the key to change)."""


@dataclass(frozen=True)
class Run:
    """One evaluated system: a trained model x seed, an external speech model's layer, or a text topline."""

    system: str
    kind: str
    corpus: str
    subset_k: int | None = None
    seed: int | None = None
    speech_model: str | None = None
    layer: int | None = None

    def sts_file(self, sts_set: str, name: str) -> str:
        """``similarities`` or ``correlations`` of this system on ``sts_set``."""
        if self.kind == SPEECH:
            return layout.fill(layout.SPEECH_STS, model=self.system, seed=self.seed, sts_set=sts_set, name=name)
        if self.kind == SPEECH_MODEL:
            return layout.fill(
                layout.SPEECH_MODEL_STS, speech_model=self.speech_model, layer=self.layer, sts_set=sts_set, name=name
            )
        return layout.fill(layout.TOPLINE_STS, topline=self.system, sts_set=sts_set, name=name)

    @property
    def retrieval_json(self) -> str:
        return layout.fill(layout.RETRIEVAL_JSON, model=self.system, seed=self.seed)

    @property
    def train_log(self) -> str:
        return layout.fill(layout.TRAIN_LOG, model=self.system, seed=self.seed)

    def record(self, **files: str) -> dict[str, Any]:
        """What a rule script is given: the run's identity (without unset fields) and its files by kind."""
        identity = {
            key: value
            for key, value in asdict(self).items()
            if key in ("system", "kind", "corpus", "subset_k", "seed") or value is not None
        }
        return {**identity, **files}


def files_of(records: list[Mapping[str, Any]], kind: str) -> list[str]:
    """The ``kind`` file of every record, in the records' order (a rule's input list)."""
    return [record[kind] for record in records]


def records_input(records: Callable[[str], list[dict[str, Any]]], kind: str) -> Callable[[Any], list[str]]:
    """A rule's input function: the ``kind`` file of every record of the wildcard's STS set."""
    return lambda wildcards: files_of(records(wildcards.sts_set), kind)
