"""Checkpoints: saved atomically, loaded with ``weights_only=True``, checked against the config.

Two kinds of file, both plain dicts of tensors and Python scalars (safe to unpickle):

* a *training state* (``checkpoints/last.pt``): model, optimizer, grad-scaler and RNG state, the
  global step, the epochs done, the log so far and the best epoch — everything a killed run needs
  to continue exactly where its last complete epoch ended;
* a *model* file (``best.pt``): the model config and weights of the best epoch by dev loss,
  which is what encoding and evaluation load, and the run it belongs to (``model_name``, ``seed``:
  vgs.identity), which encoding checks against its job.

Why the config check: resuming or encoding with weights of a different architecture either
crashes deep inside ``load_state_dict`` or, worse, silently mixes runs; instead the error names the
file, the differing settings and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from vgs.identity import REBUILD_TRAINED, RunId, check_run, checkpoint_run
from vgs.io import PathLike, atomic_path
from vgs.model import ModelConfig, VGSModel

FORMAT = 1


class CheckpointMismatch(ValueError):
    """A checkpoint was made with a different model or training configuration."""


def save_checkpoint(path: PathLike, payload: Mapping[str, Any]) -> None:
    """``torch.save`` ``payload`` (plus a format tag) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **payload}, tmp)


def load_checkpoint(path: PathLike, expected: ModelConfig | None = None, map_location: str = "cpu") -> dict:
    """Load a checkpoint safely; raise :class:`CheckpointMismatch` if its model config differs."""
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # noqa: BLE001 - re-raised with the file name and a remedy
        raise ValueError(f"{path}: not a readable checkpoint ({error}); delete it and rerun") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "model_config" not in payload:
        raise ValueError(f"{path}: not a VGS checkpoint of format {FORMAT}; delete it and rerun")
    if expected is not None:
        differences = expected.differences(ModelConfig.from_dict(payload["model_config"]))
        if differences:
            raise CheckpointMismatch(
                f"{path}: checkpoint was made for a different model (requested vs. saved: "
                f"{'; '.join(differences)}); delete {Path(path).parent} to start over, or restore "
                "the model settings it was made with"
            )
    return payload


def load_run_checkpoint(path: PathLike, run: RunId) -> dict:
    """Load a ``best.pt`` and check that it is run ``run``'s (model name and seed it records)."""
    payload = load_checkpoint(path)
    check_run(path, checkpoint_run(payload), run, REBUILD_TRAINED)
    return payload


def model_from_checkpoint(payload: Mapping[str, Any], device: str = "cpu") -> VGSModel:
    """The model held by a loaded checkpoint, in eval mode on ``device``."""
    model = VGSModel(ModelConfig.from_dict(payload["model_config"]))
    model.load_state_dict(payload["model"])
    return model.to(device).eval()


def load_model(path: PathLike, expected: ModelConfig | None = None, device: str = "cpu") -> VGSModel:
    """The model of a ``best.pt`` file, in eval mode on ``device``."""
    return model_from_checkpoint(load_checkpoint(path, expected), device)
