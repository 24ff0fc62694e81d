"""Which run a file belongs to: recorded in the file by its writer, checked by every reader.

Why: a run (one evaluated system on one seed) reaches the evaluation and the tables as a
description (``params.runs``) while its files arrive as a separate list of paths, paired by
position. A reordered input list would put one model's numbers under another's name, and the
numbers alone cannot tell. So every file of the chain says whose it is, and every step that
reads one checks it against the run it is filed under:

* ``best.pt`` records ``model_name`` and ``seed`` (written by the train rule from its wildcards);
* embedding stores record ``model`` and ``seed`` in their metadata (speech-model layer stores record
  ``speech_model`` and ``layer``), checked against the checkpoint when encoding and against the job
  when evaluating;
* ``retrieval.json`` has ``system`` and ``seed`` keys; ``similarities.tsv``,
  ``correlations.tsv`` and ``train_log.tsv`` have ``system`` and ``seed`` columns (seed empty for
  text toplines and speech-model layers, which have none).

A file written before identities were recorded is refused, with the command-free remedy: delete
it and rerun (for ``best.pt`` and ``train_log.tsv`` the train rule rewrites them from the run's
``checkpoints/`` without training again).

Cost: nothing at any scale — one metadata attribute, one JSON key, two short columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from vgs import layout
from vgs.io import PathLike
from vgs.store import ArrayStore

SYSTEM, SEED = "system", "seed"  # the identity columns and JSON keys of evaluation outputs
#: Kinds of evaluated systems (the ``kind`` column of the tables): a trained VGS model, an external
#: speech model's layer, a text topline.
SPEECH = "speech"
SPEECH_MODEL = "speech model"
TEXT_TOPLINE = "text topline"
REBUILD_EVAL = f"delete {layout.EVAL} (or this file) and rerun the workflow, which remakes it from its inputs"
REBUILD_EMBEDDINGS = f"delete {layout.EMBEDDINGS_ROOT} (or this store) and rerun the workflow, which re-encodes it"
REBUILD_TRAINED = (
    "delete it and rerun the workflow: the train rule rewrites best.pt and train_log.tsv from the run's "
    "checkpoints/last.pt without training again (it retrains only if checkpoints/ is gone)"
)


class RunMismatch(ValueError):
    """A file belongs to another run than the one it is filed under, or records none."""


@dataclass(frozen=True)
class RunId:
    """A run's identity: the evaluated system (model, ``<speech_model>-L<layer>`` or topline) and its seed."""

    system: str
    seed: int | None

    def __str__(self) -> str:
        return f"{self.system} seed {self.seed}" if self.seed is not None else f"{self.system} (no seed)"

    def columns(self) -> dict[str, object]:
        """The identity columns of an evaluation TSV (seed empty when the system has none)."""
        return {SYSTEM: self.system, SEED: "" if self.seed is None else self.seed}


def _seed(value: Any) -> int | None:
    """A recorded seed as an int; None for none (JSON null, an empty TSV cell, NaN)."""
    return None if value is None or value == "" or (isinstance(value, float) and pd.isna(value)) else int(value)


def run_id(run: Mapping[str, object]) -> RunId:
    """The identity of a run description (``system``, ``seed``; see vgs.evaluate.tables)."""
    return RunId(str(run["system"]), _seed(run.get("seed")))


def speech_model_system(speech_model: str, layer: int) -> str:
    """The system name of an external speech model's layer in every table: ``<speech_model>-L<layer>``."""
    return f"{speech_model}-L{layer}"


def check_run(path: PathLike, recorded: RunId | None, expected: RunId, remedy: str) -> None:
    """Raise :class:`RunMismatch` naming ``path`` unless it records ``expected``."""
    if recorded is None:
        raise RunMismatch(
            f"{path}: records no run (system and seed; written before runs were recorded), expected {expected}; "
            f"{remedy}"
        )
    if recorded != expected:
        raise RunMismatch(
            f"{path}: holds run {recorded} but is read as run {expected}; the inputs are paired with the wrong "
            "runs (check the order of the rule's inputs against its runs), or the file is stale: " + remedy
        )


def metadata_run(metadata: Mapping[str, Any]) -> RunId | None:
    """The run an embedding store's metadata records: ``model``/``seed`` (vgs.train.embed) or
    ``speech_model``/``layer`` (vgs.speech_models.embed); None if neither."""
    if "model" in metadata and "seed" in metadata:
        return RunId(str(metadata["model"]), _seed(metadata["seed"]))
    if "speech_model" in metadata and "layer" in metadata:
        return RunId(speech_model_system(str(metadata["speech_model"]), int(metadata["layer"])), None)
    return None


def open_run_store(paths: PathLike | Sequence[PathLike], expected: RunId) -> ArrayStore:
    """Open embedding store file(s), each checked to belong to run ``expected`` (by its own
    metadata: a merged mapping of several shards would hide one foreign shard)."""
    path_list = [paths] if isinstance(paths, (str, Path)) else list(paths)
    store = ArrayStore(path_list)
    for path, metadata in zip(path_list, store.shard_metadata, strict=True):
        check_run(path, metadata_run(metadata), expected, REBUILD_EMBEDDINGS)
    return store


def checkpoint_run(payload: Mapping[str, object]) -> RunId | None:
    """The run a loaded ``best.pt`` records (``model_name`` and ``seed``; its ``model`` key holds the weights)."""
    if "model_name" not in payload or "seed" not in payload:
        return None
    return RunId(str(payload["model_name"]), _seed(payload["seed"]))


def frame_run(frame: pd.DataFrame, path: PathLike) -> RunId | None:
    """The run a TSV read with :func:`vgs.io.read_tsv` records in its ``system``/``seed`` columns."""
    if SYSTEM not in frame.columns or SEED not in frame.columns or frame.empty:
        return None
    runs = frame[[SYSTEM, SEED]].drop_duplicates()
    if len(runs) > 1:
        shown = ", ".join(str(RunId(s, _seed(d))) for s, d in runs.head(3).itertuples(index=False))
        raise RunMismatch(f"{path}: rows of several runs ({shown}); one file holds one run: {REBUILD_EVAL}")
    system, seed = runs.iloc[0]
    return RunId(str(system), _seed(seed))


def check_frame(
    frame: pd.DataFrame, path: PathLike, run: Mapping[str, object], remedy: str = REBUILD_EVAL
) -> pd.DataFrame:
    """Check a TSV's recorded run against ``run``; return it without the identity columns (the
    caller adds its own run description, in its own column order)."""
    check_run(path, frame_run(frame, path), run_id(run), remedy)
    return frame.drop(columns=[SYSTEM, SEED])


def check_result(result: Mapping[str, object], path: PathLike, run: Mapping[str, object]) -> None:
    """Check a JSON result's ``system`` and ``seed`` keys against ``run``."""
    recorded = RunId(str(result[SYSTEM]), _seed(result[SEED])) if SYSTEM in result and SEED in result else None
    check_run(path, recorded, run_id(run), REBUILD_EVAL)
