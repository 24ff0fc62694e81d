"""Divergence stops (vgs.train.divergence): a forced NaN stops training with a message naming the
model, epoch and step, keeps the last good checkpoint, and is not retried blindly; fp16 steps the
grad scaler skips are counted, and only a run of them is divergence."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

import vgs.train.divergence as divergence
import vgs.train.loop as loop
from test_train import make_trainer, states_equal
from vgs.train.checkpoint import CheckpointMismatch, load_checkpoint
from vgs.train.divergence import MARKER, TrainingDiverged
from vgs.train.synthetic import synthetic_corpus

NAME = "t seed 1"


@pytest.fixture()
def corpus(tmp_path):
    """16 training images x 2 captions: 4 batches of 8 per epoch, 3 epochs (test_train's FAST)."""
    return synthetic_corpus(tmp_path / "data", images={"train": 16, "dev": 8}, captions_per_image=2)


def poison_steps(trainer: loop.Trainer, steps: set[int], stop_at: int | None = None) -> list[int]:
    """Make the batches of global ``steps`` (1-based) hold NaN frames, which the caption encoder
    turns into a NaN loss; ask the loop to stop (as SIGTERM does) at step ``stop_at``. Returns the
    steps taken, as they happen."""
    taken: list[int] = []
    real = trainer.batch_tensors

    def batch_tensors(train_set, indices):
        frames, lengths, images = real(train_set, indices)
        step = trainer.state.step + 1
        taken.append(step)
        if step in steps:
            frames = torch.full_like(frames, float("nan"))
        if step == stop_at:
            trainer.stop_requested = True
        return frames, lengths, images

    trainer.batch_tensors = batch_tensors
    return taken


def diverge(corpus, directory, **settings) -> tuple[loop.Trainer, TrainingDiverged]:
    """A fp32 run whose step 6 (epoch 2, batch 2) has a NaN loss, stopped by the divergence."""
    trainer, train_set, dev_set = make_trainer(corpus, directory, **settings)
    trainer.name = NAME
    poison_steps(trainer, {6})
    with pytest.raises(TrainingDiverged) as stopped:
        trainer.fit(train_set, dev_set)
    return trainer, stopped.value


def test_a_nan_loss_stops_training_names_the_step_and_keeps_the_last_good_checkpoint(corpus, tmp_path):
    _, stopped = diverge(corpus, tmp_path / "run")
    message = str(stopped)
    assert message.startswith(f"training of {NAME} diverged: non-finite loss (nan) at epoch 2, step 6 (batch 2 of 4)")
    assert f"{tmp_path / 'run' / 'last.pt'} holds the last good state, after epoch 1 (step 4)" in message
    assert "lr_max" in message and "precision" in message and "models.<model>.train" in message
    assert str(tmp_path / "run" / MARKER) in message

    # last.pt is the end of epoch 1, loadable, finite and equal to an undisturbed run's epoch 1.
    saved = load_checkpoint(tmp_path / "run" / "last.pt")
    assert (saved["state"]["epoch"], saved["state"]["step"]) == (1, 4)
    assert all(torch.isfinite(value).all() for value in saved["model"].values())
    one_epoch, train_set, dev_set = make_trainer(corpus, tmp_path / "one", epochs=1)
    one_epoch.fit(train_set, dev_set)
    assert states_equal(saved["model"], load_checkpoint(tmp_path / "one" / "last.pt")["model"])
    assert not (tmp_path / "run" / "best.pt").exists()  # epoch 3 would have been the first candidate
    marker = json.loads((tmp_path / "run" / MARKER).read_text())
    assert marker["message"] == message

    # The train rule's retry: same settings, same data -> stops before a single step, same message.
    retry, _, _ = make_trainer(corpus, tmp_path / "run")
    steps: list[int] = []
    hook = register_optimizer_step_pre_hook(lambda optimizer, args, kwargs: steps.append(1))
    try:
        with pytest.raises(TrainingDiverged, match="not trained again, training of t seed 1 diverged") as refused:
            retry.fit(train_set, dev_set)
    finally:
        hook.remove()
    assert not steps and message in str(refused.value)
    assert load_checkpoint(tmp_path / "run" / "last.pt")["state"]["step"] == 4


def test_a_diverged_run_continues_from_its_last_good_checkpoint_with_a_lower_learning_rate(corpus, tmp_path):
    diverge(corpus, tmp_path / "run")
    other_margin, train_set, dev_set = make_trainer(corpus, tmp_path / "run", margin=0.5)
    with pytest.raises(CheckpointMismatch, match=r"margin: 0.5 != 0.2"):  # not a remedy: the recipe itself
        other_margin.fit(train_set, dev_set)

    lower, _, _ = make_trainer(corpus, tmp_path / "run", lr_max=1e-3)
    steps: list[int] = []
    lower.train_step = lambda *args, real=lower.train_step: steps.append(1) or real(*args)
    state = lower.fit(train_set, dev_set)
    assert len(steps) == 8 and state.epoch == 3  # epochs 2 and 3, from last.pt's step 4
    assert state.remedies == [{"step": 4, "changed": {"lr_max": [2e-3, 1e-3]}}]
    assert not (tmp_path / "run" / MARKER).exists()  # saved past the divergence
    assert load_checkpoint(tmp_path / "run" / "last.pt")["train_settings"]["lr_max"] == 1e-3


def test_a_nan_before_a_sigterm_save_is_not_saved(corpus, tmp_path):
    """The time-limit path: SIGTERM's save at step 7 comes after the NaN of step 6; it must stop
    as diverged, with last.pt still the end of epoch 1, not save the NaN weights."""
    trainer, train_set, dev_set = make_trainer(corpus, tmp_path / "run")
    poison_steps(trainer, {6}, stop_at=7)
    with pytest.raises(TrainingDiverged, match=r"non-finite loss \(nan\) at epoch 2, step 6 \(batch 2 of 4\)"):
        trainer.fit(train_set, dev_set)
    saved = load_checkpoint(tmp_path / "run" / "last.pt")["state"]
    assert (saved["epoch"], saved["batches_done"], saved["step"]) == (1, 0, 4)


def test_non_finite_weights_after_a_finite_loss_are_never_saved(corpus, tmp_path):
    """A finite loss whose update broke a weight (an overflowed gradient) in epoch 1's last step:
    no checkpoint may be written, and the message says nothing was saved."""
    trainer, train_set, dev_set = make_trainer(corpus, tmp_path / "run")
    real = trainer.train_step

    def breaks_a_weight_at_step_four(*args):
        loss = real(*args)
        if trainer.state.step == 4:
            with torch.no_grad():
                trainer.model.image_encoder.project.weight[0, 0] = float("inf")
        return loss

    trainer.train_step = breaks_a_weight_at_step_four
    expected = r"non-finite weights \(image_encoder\.project\.weight\) at epoch 1 after step 4\. .*nothing was saved"
    with pytest.raises(TrainingDiverged, match=expected):
        trainer.fit(train_set, dev_set)
    assert not (tmp_path / "run" / "last.pt").exists() and (tmp_path / "run" / MARKER).exists()


@pytest.mark.parametrize(
    ("poisoned", "diverges"),
    [({2, 3, 6}, False), ({5, 6, 7}, True)],
    ids=["two-in-a-row-are-skipped", "three-in-a-row-diverge"],
)
def test_fp16_skipped_steps_are_counted_and_only_a_run_of_them_diverges(
    corpus, tmp_path, monkeypatch, poisoned, diverges
):
    """Real fp16 autocast and GradScaler on the CPU. A NaN loss there is a step the scaler skips
    (optimizer.step is not called), not divergence; MAX_CONSECUTIVE_SKIPS (3 here) in a row is.
    The count per epoch is checked against the optimizer steps that did not happen."""
    monkeypatch.setattr(divergence, "MAX_CONSECUTIVE_SKIPS", 3)
    trainer, train_set, dev_set = make_trainer(corpus, tmp_path / "run", precision="fp16", device="cpu")
    taken = poison_steps(trainer, poisoned)
    applied: list[int] = []
    hook = register_optimizer_step_pre_hook(lambda optimizer, args, kwargs: applied.append(trainer.state.step + 1))
    try:
        if diverges:
            with pytest.raises(
                TrainingDiverged, match=r"skipped 3 steps in a row .* at epoch 2, step 7 \(batch 3 of 4\)"
            ):
                trainer.fit(train_set, dev_set)
            assert load_checkpoint(tmp_path / "run" / "last.pt")["state"]["step"] == 4
            return
        state = trainer.fit(train_set, dev_set)
    finally:
        hook.remove()
    not_applied = sorted(set(taken) - set(applied))
    assert set(poisoned) <= set(not_applied)  # every NaN step skipped (and any overflow the scale found)
    per_epoch = [sum(1 for step in not_applied if (step - 1) // 4 == epoch) for epoch in range(3)]
    assert [row["skipped_steps"] for row in state.log] == per_epoch
    assert all(np.isfinite(row["train_loss"]) for row in state.log)  # skipped steps are left out of the mean
