"""The training loop: epochs of batches, dev evaluation, checkpoints, resume.

Why it is built the way it is:

* **Exact resume.** Each epoch's batch order comes from a generator seeded by ``(seed, epoch)``
  and the learning rate is a function of the global step, so the only state to carry over is
  model, optimizer, grad scaler, step and torch's RNG — all saved after every epoch in
  ``checkpoints/last.pt``. A killed run restarts after its last complete epoch and, on CPU, ends
  bit-identical to an uninterrupted run.
* **Time limits survived inside an epoch.** On SIGTERM (what SLURM sends at a job's time limit,
  ``scancel`` and preemption, ``KillWait`` seconds before SIGKILL; 30 s by default) the trainer
  finishes the current step, saves ``last.pt`` with its position in the epoch's batch plan (the
  plan itself is rebuilt from ``(seed, epoch)``) and the epoch's running loss, and stops with
  :class:`TrainingInterrupted`; the resubmitted job continues with the next batch, so a job longer
  than its partition's limit ends, after several submissions, bit-identical (CPU) to one
  uninterrupted run. At the paper's size a step takes well under a second on a GPU and ``last.pt``
  (weights and Adam moments of the paper model) a few seconds to write, within ``KillWait``.
* **Best epoch by dev loss** (the paper's rule), among the epochs the authors evaluated: the end of
  every ``select_every``-th epoch (4: the end of each learning-rate cycle) and the last epoch. Its
  weights are kept in ``checkpoints/best.pt`` and become the rule's ``best.pt``.
* **Dev evaluation from embeddings.** The caption encoder is batch-invariant, so dev captions
  are encoded once per epoch; the dev loss (over fixed random dev batches of ``dev_batch_size``,
  like the authors' validation batches of 100) and caption -> image recall are both computed from
  those embeddings.
* **Progress and divergence.** Inside an epoch the loop logs progress lines (vgs.train.progress)
  and stops on a non-finite loss without saving, leaving a marker that keeps retries from running
  into it again (vgs.train.divergence); fp16 steps skipped by the grad scaler are counted per epoch
  (``skipped_steps``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import signal
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from vgs.config import TRAIN_RULE_KEYS, schema_defaults
from vgs.identity import RunId
from vgs.io import PathLike, atomic_path, remove_partial_files, write_tsv
from vgs.model import ModelConfig, VGSModel, initialise_like_authors, model_config
from vgs.train import divergence
from vgs.train.batching import epoch_batches, pad_batch
from vgs.train.checkpoint import CheckpointMismatch, load_checkpoint, save_checkpoint
from vgs.train.data import CaptionSet, load_training_data
from vgs.train.device import Runtime, select_runtime
from vgs.train.divergence import NonFiniteLossWatch, TrainingDiverged
from vgs.train.embed import embed_features, embed_frames
from vgs.train.loss import batch_loss, recall_at_k
from vgs.train.progress import EpochProgress
from vgs.train.schedule import authors_period, cyclic_lr

log = logging.getLogger(__name__)

LOG_COLUMNS = ["epoch", "train_loss", "dev_loss", "dev_r1", "dev_r5", "dev_r10", "lr", "seconds", "skipped_steps"]
# Settings that may change between a killed run and its resumption without changing the result
# (on CPU): more epochs continue the same trajectory; the device only changes rounding.
RESUMABLE_CHANGES = (
    "epochs",
    "device",
    "compile",
    "eval_batch_size",
    "progress",
    "progress_every_minutes",
    "progress_every_steps",
)
DEV_SEED = 2**31 - 1  # seeds the fixed dev batches, distinct from every epoch's generator


#: The training settings' defaults (the paper's recipe), written once in workflow/schemas/train.schema.yaml.
DEFAULTS: dict[str, Any] = schema_defaults("train.schema.yaml")


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (the ``train:`` config section; see workflow/schemas/train.schema.yaml).

    Every default is the schema's (:data:`DEFAULTS`), so the paper's recipe is written in one place;
    tests/test_config.py checks that the fields are the schema's settings less the rule-level keys.
    """

    epochs: int = DEFAULTS["epochs"]
    batch_size: int = DEFAULTS["batch_size"]
    lr_max: float = DEFAULTS["lr_max"]
    lr_min: float = DEFAULTS["lr_min"]
    lr_period_epochs: float = DEFAULTS["lr_period_epochs"]
    lr_cycle: str = DEFAULTS["lr_cycle"]
    loss: str = DEFAULTS["loss"]
    margin: float = DEFAULTS["margin"]
    temperature: float = DEFAULTS["temperature"]
    max_frames: int = DEFAULTS["max_frames"]
    bucket: bool = DEFAULTS["bucket"]
    length_jitter: float = DEFAULTS["length_jitter"]
    select_every: int = DEFAULTS["select_every"]
    dev_batch_size: int = DEFAULTS["dev_batch_size"]
    dev_batches: str = DEFAULTS["dev_batches"]
    init: str = DEFAULTS["init"]
    eval_batch_size: int = DEFAULTS["eval_batch_size"]
    device: str = DEFAULTS["device"]
    precision: str = DEFAULTS["precision"]
    compile: bool = DEFAULTS["compile"]
    progress: bool = DEFAULTS["progress"]
    progress_every_minutes: float = DEFAULTS["progress_every_minutes"]
    progress_every_steps: int = DEFAULTS["progress_every_steps"]

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> TrainConfig:
        """From the ``train:`` config section (rule-only keys such as ``threads`` are ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(section) - known - set(TRAIN_RULE_KEYS))
        if unknown:
            raise ValueError(f"unknown train setting(s) {unknown}; known: {sorted(known)}")
        return cls(**{key: value for key, value in section.items() if key in known})

    def fingerprint(self) -> dict[str, Any]:
        """Settings a resumed run must share with the checkpoint it continues."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in RESUMABLE_CHANGES}


class TrainingInterrupted(RuntimeError):
    """Training stopped on a signal after saving where it was; running again continues from there."""


@dataclass
class TrainingState:
    """What a checkpoint carries besides model and optimizer.

    ``batches_done`` .. ``epoch_skipped`` describe epoch ``epoch + 1`` when a run stopped inside
    it (batches of its plan done, their summed loss as the float32 accumulator held it, captions
    counted, the last learning rate, seconds spent, fp16 steps skipped); all zero at an epoch's end,
    which is also what checkpoints from before mid-epoch resume load as. ``remedies``: the settings
    a diverged run continued with changed (vgs.train.divergence), where and from what to what.
    """

    step: int = 0
    epoch: int = 0
    best_epoch: int = 0
    best_dev_loss: float = math.inf
    log: list[dict[str, float]] = field(default_factory=list)
    batches_done: int = 0
    epoch_loss_sum: float = 0.0
    epoch_captions: int = 0
    epoch_lr: float = 0.0
    epoch_seconds: float = 0.0
    epoch_skipped: int = 0
    remedies: list[dict[str, Any]] = field(default_factory=list)

    def end_epoch(self, epoch: int) -> None:
        """Record ``epoch`` as complete: the next one starts at its first batch."""
        self.epoch = epoch
        self.batches_done, self.epoch_loss_sum, self.epoch_captions = 0, 0.0, 0
        self.epoch_lr, self.epoch_seconds, self.epoch_skipped = 0.0, 0.0, 0

    def position(self) -> str:
        """Where the run is, as the log and messages say it."""
        if self.batches_done:
            return f"in epoch {self.epoch + 1} after batch {self.batches_done} (step {self.step})"
        return f"after epoch {self.epoch} (step {self.step})"


def steps_per_epoch(train_set: CaptionSet, batch_size: int) -> int:
    """Batches per epoch; fixed for a data set (pass sizes do not depend on the shuffle)."""
    return len(epoch_batches(train_set.image_ids, train_set.lengths, batch_size, np.random.default_rng(0)))


def cycle_steps(train_set: CaptionSet, settings: TrainConfig) -> int:
    """Steps per learning-rate cycle: the authors' arithmetic (``lr_cycle: authors``) or whole epochs."""
    if settings.lr_cycle == "authors":
        counts = Counter(train_set.image_ids)
        return authors_period(len(counts), max(counts.values()), settings.batch_size, settings.lr_period_epochs)
    return max(1, round(settings.lr_period_epochs * steps_per_epoch(train_set, settings.batch_size)))


def dev_loss_batches(dev_set: CaptionSet, settings: TrainConfig, seed: int) -> list[np.ndarray]:
    """The dev-loss batches: consecutive runs of the dev set's (manifest) order, or fixed random ones.

    ``ordered`` is the authors' validation: batches of ``dev_batch_size`` read in their sampler's
    order, which the Flickr8k and SpokenCOCO loaders write (every image's first caption, then every
    image's second, ...). ``random`` draws fixed batches (pass p holds caption p of each dev image).
    """
    if settings.dev_batches == "ordered":
        return [
            np.arange(start, min(start + settings.dev_batch_size, len(dev_set)))
            for start in range(0, len(dev_set), settings.dev_batch_size)
        ]
    return epoch_batches(
        dev_set.image_ids, dev_set.lengths, settings.dev_batch_size, np.random.default_rng([seed, DEV_SEED])
    )


@torch.no_grad()
def evaluate(
    model: VGSModel, dev_set: CaptionSet, settings: TrainConfig, seed: int, runtime: Runtime
) -> dict[str, float]:
    """Dev loss over fixed batches and caption -> image recall@1/5/10 over the dev images."""
    model.eval()
    captions = embed_frames(
        model,
        dev_set.frames.arrays(dev_set.utt_ids),
        settings.eval_batch_size,
        settings.max_frames,
        runtime,
        lengths=dev_set.lengths,
    )
    images = embed_features(model, dev_set.image_features, settings.eval_batch_size, runtime)
    batches = dev_loss_batches(dev_set, settings, seed)
    targets = torch.from_numpy(dev_set.image_rows)
    losses = [
        float(batch_loss(settings.loss, captions[b], images[targets[b]], settings.margin, settings.temperature))
        * len(b)
        for b in batches
        if len(b) > 1
    ]
    counted = sum(len(b) for b in batches if len(b) > 1)
    recall = recall_at_k(captions, images, targets, (1, 5, 10))
    return {"dev_loss": sum(losses) / max(counted, 1), "dev_r1": recall[1], "dev_r5": recall[5], "dev_r10": recall[10]}


class Trainer:
    """One training run (model, optimizer, state) with checkpoints in ``checkpoint_dir``; ``name``
    says whose run it is in log lines and messages (the checkpoint directory if not given)."""

    def __init__(
        self,
        config: ModelConfig,
        settings: TrainConfig,
        seed: int,
        checkpoint_dir: PathLike,
        data_key: str = "",
        name: str = "",
    ):
        self.config, self.settings, self.seed, self.data_key = config, settings, seed, data_key
        self.dir = Path(checkpoint_dir)
        self.name = name or str(self.dir)
        self.runtime = select_runtime(settings.device, settings.precision)
        torch.manual_seed(seed)
        model = VGSModel(config)
        if settings.init == "authors":
            initialise_like_authors(model)
        self.model = model.to(self.runtime.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=settings.lr_min)
        self.scaler = torch.amp.GradScaler(self.runtime.device.type, enabled=self.runtime.dtype == torch.float16)
        self.scale = self.scaler.get_scale()  # after the last step; a fall means the step was skipped
        self.step_skipped = False  # whether the grad scaler skipped the last step (fp16 only)
        self.consecutive_skips = 0
        self.watch = NonFiniteLossWatch(self.runtime.device)
        self.clock = time.perf_counter  # of progress lines and epoch seconds; tests give a fake one
        self.state = TrainingState()
        self.saved: str | None = None  # where the run was at its last save (TrainingState.position)
        self.step_model = torch.compile(self.model, dynamic=True) if settings.compile else self.model
        self.stop_requested = False  # set by the SIGTERM handler while fit() runs

    @property
    def last_path(self) -> Path:
        return self.dir / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.dir / "best.pt"

    def resume(self) -> bool:
        """Continue from ``last.pt`` if present; raise :class:`CheckpointMismatch` if it is foreign.

        A checkpoint of the same settings on *different data* (an upstream stage was rerun) is
        stale rather than foreign: training starts over and overwrites it. A run that diverged
        (its marker is there) may continue with other values of the remedy keys
        (:data:`vgs.train.divergence.REMEDY_KEYS`), recorded in ``state.remedies``.
        """
        if not self.last_path.exists():
            return False
        # Loaded on the CPU whatever the device: the RNG states must stay CPU byte tensors
        # (torch.set_rng_state and torch.cuda.set_rng_state_all refuse CUDA tensors), and
        # load_state_dict copies weights and optimizer moments onto the model's device anyway.
        payload = load_checkpoint(self.last_path, self.config)
        if payload["data"] != self.data_key:
            log.warning("%s was made on other training data; starting over", self.last_path)
            return False
        saved = {**payload["train_settings"], "seed": payload["seed"]}
        wanted = {**self.settings.fingerprint(), "seed": self.seed}
        changed = [key for key in sorted(set(saved) | set(wanted)) if saved.get(key) != wanted.get(key)]
        diverged = divergence.read_marker(self.dir) is not None
        remedies = [key for key in changed if diverged and key in divergence.REMEDY_KEYS]
        differences = [f"{key}: {wanted.get(key)} != {saved.get(key)}" for key in changed if key not in remedies]
        if differences:
            raise CheckpointMismatch(
                f"{self.last_path}: checkpoint was made with different training settings (requested vs. "
                f"saved: {'; '.join(differences)}); delete {self.dir} to start over, or restore them"
            )
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        if payload["scaler"]:  # empty when saved without fp16 (e.g. precision auto on a CPU)
            self.scaler.load_state_dict(payload["scaler"])
        self.scale = self.scaler.get_scale()
        self.state = TrainingState(**payload["state"])
        torch.set_rng_state(payload["rng"]["torch"])
        if self.runtime.device.type == "cuda" and payload["rng"]["cuda"]:
            torch.cuda.set_rng_state_all(payload["rng"]["cuda"])
        self.saved = self.state.position()
        log.info("resumed %s %s", self.dir, self.saved)
        if remedies:
            changes = {key: [saved.get(key), wanted.get(key)] for key in remedies}
            self.state.remedies.append({"step": self.state.step, "changed": changes})
            log.warning("%s diverged before; continuing %s with %s", self.name, self.saved,
                        ", ".join(f"{key} {old} -> {new}" for key, (old, new) in changes.items()))  # fmt: skip
        return True

    def refuse_if_diverged(self) -> None:
        """Stop at once, with the divergence's message, when this run diverged with the same
        settings and data before (a blind retry; vgs.train.divergence)."""
        marker = divergence.read_marker(self.dir)
        if marker and marker["data"] == self.data_key and marker["settings"] == self.settings.fingerprint():
            raise TrainingDiverged(f"not trained again, {marker['message']}")

    def check_diverged(self, epoch: int, batches: int) -> None:
        """Raise :class:`TrainingDiverged` on a non-finite loss so far or non-finite weights;
        called before every save and progress line (it waits for the device)."""
        first = self.watch.first()
        if first is not None:
            step, position, value = first
            raise self.diverged(
                f"non-finite loss ({value}) at epoch {epoch}, step {step} (batch {position + 1} of {batches})"
            )
        broken = divergence.non_finite_parameters(self.model)
        if broken:
            raise self.diverged(
                f"non-finite weights ({', '.join(broken[:3])}) at epoch {epoch} after step {self.state.step}"
            )

    def count_skip(self, epoch: int, position: int, batches: int) -> None:
        """Count a step the fp16 grad scaler skipped; too many in a row is divergence."""
        self.state.epoch_skipped += 1
        self.consecutive_skips += 1
        if self.consecutive_skips >= divergence.MAX_CONSECUTIVE_SKIPS:
            raise self.diverged(
                f"the fp16 grad scaler skipped {self.consecutive_skips} steps in a row (non-finite gradients at "
                f"every scale down to {self.scale:g}) at epoch {epoch}, step {self.state.step} (batch {position + 1} "
                f"of {batches})"
            )

    def diverged(self, what: str) -> TrainingDiverged:
        """The error that stops a diverged run, once its marker is written (vgs.train.divergence)."""
        kept = f"{self.last_path} holds the last good state, {self.saved}" if self.saved else "nothing was saved before"
        message = f"training of {self.name} diverged: {what}. Stopped without saving; {kept}. "
        message += divergence.remedy(self.dir, resumable=self.saved is not None)
        divergence.write_marker(self.dir, message, self.settings.fingerprint(), self.data_key)
        return TrainingDiverged(message)

    def save(self) -> None:
        cuda = torch.cuda.get_rng_state_all() if self.runtime.device.type == "cuda" else []
        save_checkpoint(
            self.last_path,
            {
                "model_config": self.config.as_dict(),
                "train_settings": self.settings.fingerprint(),
                "seed": self.seed,
                "data": self.data_key,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(),
                "state": dataclasses.asdict(self.state),
                "rng": {"torch": torch.get_rng_state(), "cuda": cuda},
            },
        )
        self.saved = self.state.position()
        (self.dir / divergence.MARKER).unlink(missing_ok=True)  # saved with finite weights: past any divergence

    def save_best(self, row: Mapping[str, float]) -> None:
        save_checkpoint(
            self.best_path,
            {
                "model_config": self.config.as_dict(),
                "model": self.model.state_dict(),
                "seed": self.seed,
                "epoch": int(row["epoch"]),
                "metrics": {key: float(value) for key, value in row.items()},
            },
        )

    def batch_tensors(
        self, train_set: CaptionSet, indices: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Padded frames, lengths and image features of a batch, on the device (the data pipeline)."""
        frames, lengths = pad_batch(train_set.arrays(indices), self.settings.max_frames)
        images = torch.from_numpy(train_set.image_features[train_set.image_rows[indices]])
        return self.runtime.put(frames), self.runtime.put(lengths), self.runtime.put(images)

    def train_step(self, frames: torch.Tensor, lengths: torch.Tensor, images: torch.Tensor, lr: float) -> torch.Tensor:
        """One optimizer step at learning rate ``lr``; returns the detached loss (still on the device).

        The loss stays on the device so that a step does not wait for the GPU to finish; the
        grad scaler is a no-op except in fp16.
        """
        s = self.settings
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with self.runtime.autocast():
            captions, pictures = self.step_model(frames, lengths, images)
        loss = batch_loss(s.loss, captions, pictures, s.margin, s.temperature)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.state.step += 1
        if self.scaler.is_enabled():
            # update() lowers the scale exactly when step() skipped the optimizer (non-finite
            # gradients); step() has already waited for the device, so reading it costs little.
            scale = self.scaler.get_scale()
            self.step_skipped, self.scale = scale < self.scale, scale
        return loss.detach()

    def train_epoch(self, train_set: CaptionSet, epoch: int, period: int) -> tuple[float, float]:
        """One pass over every caption; returns (mean train loss, last learning rate).

        Starts after ``state.batches_done`` batches of the epoch's plan (a run stopped inside
        it). After each batch, a pending stop signal saves that position and raises
        :class:`TrainingInterrupted`; progress lines are logged when due (vgs.train.progress).
        The mean leaves out fp16 steps that the grad scaler skipped. Raises
        :class:`TrainingDiverged` (vgs.train.divergence) at the first check after a divergence.
        """
        s, state = self.settings, self.state
        start = self.clock()
        batches = epoch_batches(
            train_set.image_ids,
            train_set.lengths,
            s.batch_size,
            np.random.default_rng([self.seed, epoch]),
            s.bucket,
            s.length_jitter,
        )
        self.model.train()
        # The float32 accumulator continues from its saved value: the same sums in the same order.
        total = torch.tensor(state.epoch_loss_sum, dtype=torch.float32, device=self.runtime.device)
        counted, lr = state.epoch_captions, state.epoch_lr if state.batches_done else s.lr_min
        trained = 0  # captions through the model in this process, for the rate
        progress = EpochProgress(
            self.name, epoch, s.epochs, len(batches), state.batches_done,
            60 * s.progress_every_minutes, s.progress_every_steps, self.clock,
        ) if s.progress else None  # fmt: skip
        for position in range(state.batches_done, len(batches)):
            indices = batches[position]
            if len(indices) >= 2:  # a lone caption has no negatives (only in passes of one image)
                lr = cyclic_lr(state.step, s.lr_min, s.lr_max, period)
                loss = self.train_step(*self.batch_tensors(train_set, indices), lr)
                trained += len(indices)
                if self.step_skipped:
                    self.count_skip(epoch, position, len(batches))
                else:
                    self.consecutive_skips = 0
                    self.watch.observe(loss, state.step, position)
                    total += loss * len(indices)
                    counted += len(indices)
            if progress is not None and progress.due(position + 1):
                self.check_diverged(epoch, len(batches))
                skipped = state.epoch_skipped if self.scaler.is_enabled() else None
                log.info("%s", progress.line(position + 1, trained, float(total) / max(counted, 1), skipped))
            if self.stop_requested:
                self.check_diverged(epoch, len(batches))
                state.batches_done, state.epoch_loss_sum, state.epoch_captions = position + 1, float(total), counted
                state.epoch_lr = lr
                state.epoch_seconds += self.clock() - start
                self.save()
                raise self.interrupted(f"after batch {position + 1} of {len(batches)} in epoch {epoch}")
        self.check_diverged(epoch, len(batches))
        return float(total) / max(counted, 1), lr

    def interrupted(self, where: str) -> TrainingInterrupted:
        """The error that ends a run stopped by SIGTERM after saving ``last.pt``."""
        return TrainingInterrupted(
            f"stopped by SIGTERM {where} (step {self.state.step}); saved in {self.last_path}, running "
            "the job again continues from there"
        )

    @contextmanager
    def stop_on_sigterm(self) -> Iterator[None]:
        """While inside, SIGTERM only asks the loop to save and stop after the current step.

        A handler may run between any two bytecodes, so it only records the signal; the loop acts
        on it where the model, optimizer and plan position agree.
        """

        def request_stop(signum: int, frame: object) -> None:
            self.stop_requested = True

        previous = signal.signal(signal.SIGTERM, request_stop)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)

    def is_candidate(self, epoch: int) -> bool:
        """Whether ``epoch`` may become the best epoch: every ``select_every``-th and the last."""
        return epoch % self.settings.select_every == 0 or epoch == self.settings.epochs

    def fit(self, train_set: CaptionSet, dev_set: CaptionSet) -> TrainingState:
        """Train up to ``settings.epochs`` epochs (resuming if possible); return the final state.

        Raises :class:`TrainingInterrupted` after saving when SIGTERM arrives (see the module
        docstring); a signal during the last epoch's evaluation lets the run finish instead.
        Raises :class:`TrainingDiverged` when the run diverges, and at once when it diverged
        before with these settings and data.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        for partial in remove_partial_files(self.dir):  # a save killed mid-write; last.pt is intact
            log.warning("removed %s, left by a run killed while saving a checkpoint", partial)
        self.refuse_if_diverged()
        with self.stop_on_sigterm():
            self.resume()
            period = cycle_steps(train_set, self.settings)
            for epoch in range(self.state.epoch + 1, self.settings.epochs + 1):
                start = self.clock() - self.state.epoch_seconds
                train_loss, lr = self.train_epoch(train_set, epoch, period)
                row = {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    **evaluate(self.model, dev_set, self.settings, self.seed, self.runtime),
                    "lr": lr,
                    "seconds": round(self.clock() - start, 2),
                    "skipped_steps": self.state.epoch_skipped,
                }
                log.info("epoch %s", " ".join(f"{k}={v:.4g}" for k, v in row.items()))
                self.state.log.append(row)
                self.state.end_epoch(epoch)
                if self.is_candidate(epoch) and row["dev_loss"] < self.state.best_dev_loss:
                    self.state.best_epoch, self.state.best_dev_loss = epoch, row["dev_loss"]
                    self.save_best(row)
                self.save()
                if self.stop_requested and epoch < self.settings.epochs:  # came during evaluation
                    raise self.interrupted(f"after epoch {epoch}")
        if not self.best_path.exists():
            raise RuntimeError(f"{self.dir}: no epoch was trained (train.epochs = {self.settings.epochs})")
        return self.state


def plot_learning_curve(frame: pd.DataFrame, best_epoch: int, path: PathLike) -> None:
    """Losses (train, dev) and dev recall per epoch, the best epoch marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (losses, recall) = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    losses.plot(frame["epoch"], frame["train_loss"], marker="o", label="train")
    losses.plot(frame["epoch"], frame["dev_loss"], marker="o", label="dev")
    losses.set(xlabel="epoch", ylabel="loss", title="loss")
    for k in (1, 5, 10):
        recall.plot(frame["epoch"], frame[f"dev_r{k}"], marker="o", label=f"R@{k}")
    recall.set(xlabel="epoch", ylabel="caption → image recall (dev)", title="dev recall", ylim=(0, 1))
    for axis in (losses, recall):
        axis.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label=f"best ({best_epoch})")
        axis.legend(fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def train(
    manifest: PathLike,
    mfcc: list[PathLike],
    image_features: PathLike,
    best: PathLike,
    train_log: PathLike,
    curve: PathLike,
    checkpoint_dir: PathLike,
    model_section: Mapping[str, Any],
    train_section: Mapping[str, Any],
    seed: int,
    model_name: str,
) -> None:
    """Rule entry: train on ``manifest``; write ``best``, ``train_log`` and ``curve``.

    ``best`` and ``train_log`` record the run (``model_name`` and ``seed``, the rule's wildcards;
    vgs.identity), which encoding and the learning-curve figure check. Both are written from
    ``checkpoint_dir`` after the last epoch, so rerunning a finished run only rewrites them.
    """
    settings = TrainConfig.from_section(train_section)
    train_set, dev_set = load_training_data(manifest, mfcc, image_features)
    config = model_config(model_section, image_dim=train_set.image_features.shape[1])
    log.info("training %d captions (%d dev) with %s, seed %d", len(train_set), len(dev_set), config, seed)
    data_key = train_set.fingerprint() + dev_set.fingerprint()
    trainer = Trainer(config, settings, seed, checkpoint_dir, data_key, name=f"{model_name} seed {seed}")
    state = trainer.fit(train_set, dev_set)
    for remedy in state.remedies:
        log.warning(
            "%s continued after a divergence at step %d with %s", trainer.name, remedy["step"], remedy["changed"]
        )
    save_checkpoint(best, {**load_checkpoint(trainer.best_path, config), "model_name": model_name})
    # Six decimals, except the learning rate: at lr_min = 2e-6 that would leave one significant digit.
    frame = pd.DataFrame(state.log, columns=LOG_COLUMNS).round({c: 6 for c in LOG_COLUMNS if c != "lr"})
    frame = frame.assign(**RunId(model_name, seed).columns())
    write_tsv(train_log, frame)
    plot_learning_curve(frame, state.best_epoch, curve)
