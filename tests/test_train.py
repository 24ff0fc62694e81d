"""Training: loss values, LR schedule, bucketing, resume equivalence, checkpoint checks."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

import vgs.train.loop as loop
from vgs.io import PARTIAL_GLOB
from vgs.model import ModelConfig
from vgs.train.batching import epoch_batches, pad_batch
from vgs.train.checkpoint import CheckpointMismatch, load_checkpoint, load_model
from vgs.train.data import load_training_data
from vgs.train.loss import hinge_loss, infonce_loss, recall_at_k
from vgs.train.schedule import cyclic_lr
from vgs.train.synthetic import synthetic_corpus

TINY = {"conv_channels": 8, "conv_kernel": 6, "conv_stride": 2, "rnn_layers": 1, "rnn_hidden": 8, "attention_hidden": 4}
FAST = {"epochs": 3, "batch_size": 8, "lr_max": 2e-3, "lr_min": 2e-5, "lr_period_epochs": 2, "progress": False}


# --- loss, recall, schedule -----------------------------------------------------------------------


def test_hinge_loss_matches_hand_computation():
    # captions = identity, images chosen so that S = captions @ images.T = [[.9, .5], [.8, .3]].
    sims = torch.tensor([[0.9, 0.5], [0.8, 0.3]])
    captions, images = torch.eye(2), sims.T.clone()
    # pair (0,1): caption 0 vs image 1: max(0, .2-.9+.5)=0; image 1 vs caption 0: max(0, .2-.3+.5)=.4
    # pair (1,0): caption 1 vs image 0: max(0, .2-.3+.8)=.7; image 0 vs caption 1: max(0, .2-.9+.8)=.1
    # Mean over all 4 cells of the cost matrix, whose diagonal is zero (the authors' normalisation).
    assert hinge_loss(captions, images, margin=0.2).item() == pytest.approx((0.4 + 0.8) / 4)


def test_hinge_loss_normalisation_with_four_pairs():
    """B = 4: every hinge term worked out by hand, so the normalisation is pinned: the authors'
    (speech2image ``batch_hinge_loss``) mean over all 16 cells of a cost matrix with a zero
    diagonal, not a mean over the 12 negative pairs, nor one that charges the positive pairs."""
    sims = torch.tensor([[0.9, 0.5, 0.1, 0.8],
                         [0.3, 0.6, 0.7, 0.2],
                         [0.4, 0.0, 0.5, 0.6],
                         [0.2, 0.9, 0.3, 0.7]])  # fmt: skip
    # Caption i against image j != i: max(0, .2 - S[i,i] + S[i,j]); non-zero terms:
    # (0,3) .1, (1,2) .3, (2,0) .1, (2,3) .3, (3,1) .4  -> 1.2
    # Image j against caption i != j: max(0, .2 - S[j,j] + S[i,j]); non-zero terms:
    # image 1: (0,1) .1, (3,1) .5; image 2: (1,2) .4; image 3: (0,3) .3, (2,3) .1  -> 1.4
    # Both directions summed, divided by B * B = 16 (the 4 positive cells cost nothing).
    loss = hinge_loss(torch.eye(4), sims.T.clone(), margin=0.2).item()
    assert loss == pytest.approx((1.2 + 1.4) / 16, abs=1e-6)
    # Identical embeddings give 2 * margin per negative pair: 2 * 0.2 * B (B - 1) / B**2 at B = 6.
    same = torch.nn.functional.normalize(torch.ones(6, 3), dim=1)
    assert hinge_loss(same, same, margin=0.2).item() == pytest.approx(0.4 * 30 / 36, abs=1e-6)


def test_infonce_matches_hand_computation():
    sims = torch.tensor([[0.9, 0.5], [0.8, 0.3]])
    t = 0.5
    row = (
        -(
            math.log(math.exp(0.9 / t) / (math.exp(0.9 / t) + math.exp(0.5 / t)))
            + math.log(math.exp(0.3 / t) / (math.exp(0.8 / t) + math.exp(0.3 / t)))
        )
        / 2
    )
    col = (
        -(
            math.log(math.exp(0.9 / t) / (math.exp(0.9 / t) + math.exp(0.8 / t)))
            + math.log(math.exp(0.3 / t) / (math.exp(0.5 / t) + math.exp(0.3 / t)))
        )
        / 2
    )
    assert infonce_loss(torch.eye(2), sims.T.clone(), t).item() == pytest.approx((row + col) / 2, rel=1e-5)


def test_recall_counts_ties_against_the_caption():
    images = torch.eye(3)
    captions = torch.tensor([[1.0, 0, 0], [0.5, 0.5, 0], [0, 0.2, 0.9]])
    recall = recall_at_k(captions, images, torch.tensor([0, 1, 0]), ks=(1, 2))
    # caption 0: rank 1; caption 1 ties image 0 -> rank 2; caption 2: its image 0 is last (rank 3).
    assert recall == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3)}


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (0, 2e-6),
        (100, 2e-4),
        (50, (2e-4 + 2e-6) / 2),
        (200, 2e-6),
        (300, 2e-4),
        (25, 2e-6 + (2e-4 - 2e-6) * (1 - math.sqrt(0.5)) / 2),
    ],
)
def test_cyclic_lr_at_known_steps(step, expected):
    assert cyclic_lr(step, lr_min=2e-6, lr_max=2e-4, period=200) == pytest.approx(expected, rel=1e-9)


# --- batching -------------------------------------------------------------------------------------


def corpus_ids(images: int, captions: list[int]) -> list[str]:
    """Image id of each caption; image i has captions[i % len(captions)] captions."""
    return [f"img{i}" for i in range(images) for _ in range(captions[i % len(captions)])]


def test_every_caption_exactly_once_and_no_image_twice_in_a_batch():
    image_ids = corpus_ids(50, [5, 5, 3, 1])
    lengths = np.random.default_rng(0).integers(100, 400, size=len(image_ids))
    batches = epoch_batches(image_ids, lengths, 8, np.random.default_rng(1))
    covered = np.concatenate(batches)
    assert sorted(covered.tolist()) == list(range(len(image_ids)))
    assert max(len(b) for b in batches) <= 8
    for batch in batches:
        assert len({image_ids[i] for i in batch}) == len(batch)
    # 13 images with 5 captions, 13 with 5, 12 with 3, 12 with 1: passes of 50, 38, 38, 26, 26.
    assert len(batches) == sum(math.ceil(n / 8) for n in (50, 38, 38, 26, 26))


def test_bucketing_cuts_padding_and_varies_between_epochs():
    image_ids = corpus_ids(200, [5])
    lengths = np.random.default_rng(0).lognormal(np.log(300), 0.4, size=len(image_ids)).astype(int)

    def padded(batches):
        return sum(len(b) * lengths[b].max() for b in batches) / lengths.sum()

    bucketed = epoch_batches(image_ids, lengths, 32, np.random.default_rng(1), bucket=True)
    random = epoch_batches(image_ids, lengths, 32, np.random.default_rng(1))
    assert padded(bucketed) < 1.3 < 1.8 < padded(random)  # ~1.23 vs ~2.08 padded frames per frame
    again = epoch_batches(image_ids, lengths, 32, np.random.default_rng(1), bucket=True)
    other = epoch_batches(image_ids, lengths, 32, np.random.default_rng(2), bucket=True)
    assert all(np.array_equal(a, b) for a, b in zip(bucketed, again, strict=True))
    assert Counter(map(frozenset, bucketed)) != Counter(map(frozenset, other))


def test_pad_batch_truncates_and_pads_with_zeros():
    frames, lengths = pad_batch([np.ones((5, 39), np.float32), np.ones((12, 39), np.float32)], max_frames=10)
    assert frames.shape == (2, 10, 39) and lengths.tolist() == [5, 10]
    assert frames[0, 5:].abs().sum() == 0 and frames[1].sum() == 10 * 39


# --- training loop, checkpoints, resume -----------------------------------------------------------


@pytest.fixture()
def corpus(tmp_path):
    return synthetic_corpus(tmp_path / "data", images={"train": 16, "dev": 8}, captions_per_image=2)


def make_trainer(corpus, directory, sizes=TINY, **settings):
    train_set, dev_set = load_training_data(corpus["manifest"], [corpus["mfcc"]], corpus["images"])
    config = ModelConfig.from_dict({**sizes, "image_dim": train_set.image_features.shape[1]})
    trainer = loop.Trainer(
        config, loop.TrainConfig.from_section({**FAST, **settings}), 1, directory, train_set.fingerprint()
    )
    return trainer, train_set, dev_set


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_killed_run_resumes_to_the_identical_result(corpus, tmp_path, monkeypatch):
    trainer, train_set, dev_set = make_trainer(corpus, tmp_path / "straight")
    straight = trainer.fit(train_set, dev_set)

    calls = {"n": 0}
    real_lr = loop.cyclic_lr

    def dies_in_epoch_three(step, *args):
        calls["n"] += 1
        if (
            calls["n"]
            == 2 * len(loop.epoch_batches(train_set.image_ids, train_set.lengths, 8, np.random.default_rng(0))) + 2
        ):
            raise KeyboardInterrupt("killed")
        return real_lr(step, *args)

    monkeypatch.setattr(loop, "cyclic_lr", dies_in_epoch_three)
    killed, _, _ = make_trainer(corpus, tmp_path / "resumed")
    with pytest.raises(KeyboardInterrupt):
        killed.fit(train_set, dev_set)
    assert load_checkpoint(tmp_path / "resumed" / "last.pt")["state"]["epoch"] == 2
    monkeypatch.setattr(loop, "cyclic_lr", real_lr)

    resumed_trainer, _, _ = make_trainer(corpus, tmp_path / "resumed")
    resumed = resumed_trainer.fit(train_set, dev_set)
    assert resumed.step == straight.step and resumed.best_epoch == straight.best_epoch
    drop = lambda rows: [{k: v for k, v in row.items() if k != "seconds"} for row in rows]  # noqa: E731
    assert drop(resumed.log) == drop(straight.log)
    assert states_equal(resumed_trainer.model.state_dict(), trainer.model.state_dict())
    best_a = load_checkpoint(tmp_path / "straight" / "best.pt")["model"]
    best_b = load_checkpoint(tmp_path / "resumed" / "best.pt")["model"]
    assert states_equal(best_a, best_b)


KILLED_WHILE_SAVING = """
import io, os, signal, sys
from pathlib import Path
import torch
sys.path.insert(0, sys.argv[1])
from test_train import make_trainer
data, directory = Path(sys.argv[2]), Path(sys.argv[3])
real_save = torch.save

def save_half_then_die(payload, target, *args, **kwargs):
    \"\"\"The epoch-2 training state: write half its bytes where asked, then SIGKILL (no cleanup runs).\"\"\"
    if payload.get("state", {}).get("epoch") == 2:
        buffer = io.BytesIO()
        real_save(payload, buffer, *args, **kwargs)
        with open(target, "wb") as out:
            out.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
            out.flush()
            os.fsync(out.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    real_save(payload, target, *args, **kwargs)

torch.save = save_half_then_die
corpus = {"manifest": data / "manifest.tsv", "mfcc": data / "mfcc.h5", "images": data / "images.h5"}
trainer, train_set, dev_set = make_trainer(corpus, directory)
trainer.fit(train_set, dev_set)
"""


def test_sigkill_while_a_checkpoint_is_written_resumes_from_the_last_complete_one(corpus, tmp_path):
    """The real save path (Trainer.save -> save_checkpoint) killed half-way through writing last.pt.

    The kill must leave the previous epoch's checkpoint loadable; resuming must then give the
    uninterrupted result and remove the half-written temporary file.
    """
    trainer, train_set, dev_set = make_trainer(corpus, tmp_path / "straight")
    straight = trainer.fit(train_set, dev_set)

    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_WHILE_SAVING,
            str(Path(__file__).parent),
            str(corpus["manifest"].parent),
            str(tmp_path / "resumed"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert load_checkpoint(tmp_path / "resumed" / "last.pt")["state"]["epoch"] == 1  # never the torn one
    assert list((tmp_path / "resumed").glob(PARTIAL_GLOB)), "the kill should land inside the write"

    resumed_trainer, _, _ = make_trainer(corpus, tmp_path / "resumed")
    resumed = resumed_trainer.fit(train_set, dev_set)
    drop = lambda rows: [{k: v for k, v in row.items() if k != "seconds"} for row in rows]  # noqa: E731
    assert drop(resumed.log) == drop(straight.log)
    assert states_equal(resumed_trainer.model.state_dict(), trainer.model.state_dict())
    assert not list((tmp_path / "resumed").glob(PARTIAL_GLOB)), "the torn temporary file must not stay"


SIGTERM_AT_STEP = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from torch.optim.optimizer import register_optimizer_step_post_hook
from test_train import make_trainer
data, directory, ready, at_step = Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5])
corpus = {"manifest": data / "manifest.tsv", "mfcc": data / "mfcc.h5", "images": data / "images.h5"}
trainer, train_set, dev_set = make_trainer(corpus, directory)

def hold_step_until_signalled(optimizer, args, kwargs):
    \"\"\"Inside optimizer step ``at_step``: tell the test, then wait until its SIGTERM was handled.\"\"\"
    if trainer.state.step == at_step - 1:
        ready.touch()
        deadline = time.monotonic() + 120
        while not trainer.stop_requested and time.monotonic() < deadline:
            time.sleep(0.01)

register_optimizer_step_post_hook(hold_step_until_signalled)
trainer.fit(train_set, dev_set)
"""


def test_sigterm_mid_epoch_saves_the_step_and_resumes_bit_identical(corpus, tmp_path):
    """SLURM's time-limit signal (SIGTERM) sent to a training process inside epoch 2.

    The process must finish the step, save its place in the epoch (step 6 = batch 2 of 4) and
    stop; the resumed run must continue from that batch (not redo the epoch) and end with the
    uninterrupted run's weights, log and best epoch, bit for bit.
    """
    trainer, train_set, dev_set = make_trainer(corpus, tmp_path / "straight")
    straight = trainer.fit(train_set, dev_set)
    batches = loop.steps_per_epoch(train_set, FAST["batch_size"])
    assert batches == 4 and straight.step == 12  # 32 captions, batches of 8, 3 epochs

    ready = tmp_path / "ready"
    job = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SIGTERM_AT_STEP,
            str(Path(__file__).parent),
            str(corpus["manifest"].parent),
            str(tmp_path / "resumed"),
            str(ready),
            "6",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not ready.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGTERM)
    _, stderr = job.communicate(timeout=300)
    assert job.returncode == 1, stderr[-3000:]  # stopped by TrainingInterrupted, not killed by the signal
    assert "stopped by SIGTERM after batch 2 of 4 in epoch 2 (step 6)" in stderr, stderr[-3000:]
    saved = load_checkpoint(tmp_path / "resumed" / "last.pt")["state"]
    assert (saved["epoch"], saved["batches_done"], saved["step"]) == (1, 2, 6)

    resumed_trainer, _, _ = make_trainer(corpus, tmp_path / "resumed")
    steps = []
    resumed_trainer.train_step = lambda *args, real=resumed_trainer.train_step: steps.append(1) or real(*args)
    resumed = resumed_trainer.fit(train_set, dev_set)
    assert len(steps) == straight.step - 6  # continued after step 6
    assert resumed.step == straight.step and resumed.best_epoch == straight.best_epoch
    drop = lambda rows: [{k: v for k, v in row.items() if k != "seconds"} for row in rows]  # noqa: E731
    assert drop(resumed.log) == drop(straight.log)
    assert states_equal(resumed_trainer.model.state_dict(), trainer.model.state_dict())
    assert states_equal(
        load_checkpoint(tmp_path / "straight" / "best.pt")["model"],
        load_checkpoint(tmp_path / "resumed" / "best.pt")["model"],
    )
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # fit() gave SIGTERM back


def test_checkpoint_of_another_model_fails_clearly(corpus, tmp_path):
    trainer, train_set, dev_set = make_trainer(corpus, tmp_path / "run", epochs=1)
    trainer.fit(train_set, dev_set)
    bigger, _, _ = make_trainer(corpus, tmp_path / "run", sizes={**TINY, "rnn_hidden": 16}, epochs=2)
    with pytest.raises(CheckpointMismatch, match=r"last\.pt.*rnn_hidden: 16 != 8.*delete"):
        bigger.fit(train_set, dev_set)
    other_margin, _, _ = make_trainer(corpus, tmp_path / "run", margin=0.5, epochs=2)
    with pytest.raises(CheckpointMismatch, match=r"margin: 0.5 != 0.2"):
        other_margin.fit(train_set, dev_set)
    with pytest.raises(CheckpointMismatch, match="rnn_hidden"):
        load_model(tmp_path / "run" / "best.pt", expected=bigger.config)


def test_checkpoint_made_on_other_data_is_replaced(corpus, tmp_path):
    trainer, train_set, dev_set = make_trainer(corpus, tmp_path / "run", epochs=1)
    trainer.fit(train_set, dev_set)
    other = synthetic_corpus(tmp_path / "other", images={"train": 12, "dev": 8}, captions_per_image=2, seed=5)
    again, train_b, dev_b = make_trainer(other, tmp_path / "run", epochs=1)
    assert not again.resume()
    assert again.fit(train_b, dev_b).epoch == 1


class Arbitrary:
    """An object a weights-only unpickler must refuse to construct."""


def test_unsafe_checkpoint_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "model_config": {}, "payload": Arbitrary()}, path)
    with pytest.raises(ValueError, match="evil.pt: not a readable checkpoint"):
        load_checkpoint(path)


def test_missing_features_are_named(corpus):
    manifest = pd.read_csv(corpus["manifest"], sep="\t")
    manifest.loc[0, "utt_id"] = "ghost"
    manifest.to_csv(corpus["manifest"], sep="\t", index=False)
    with pytest.raises(ValueError, match=r"mfcc\.h5.*1 of 32 utterances' MFCCs missing \(ghost\)"):
        load_training_data(corpus["manifest"], [corpus["mfcc"]], corpus["images"])


@pytest.mark.slow
def test_train_rule_entry_writes_outputs_and_learns(tmp_path):
    data = synthetic_corpus(tmp_path / "data", images={"train": 60, "dev": 30}, captions_per_image=3)
    out = tmp_path / "model"

    def train_entry() -> None:
        """The rule's entry, as train_model.py calls it."""
        loop.train(
            data["manifest"],
            [data["mfcc"]],
            data["images"],
            out / "best.pt",
            out / "train_log.tsv",
            out / "curve.png",
            out / "checkpoints",
            {"size": "t", "sizes": {"t": {**TINY, "rnn_hidden": 24}}},
            {**FAST, "epochs": 6, "batch_size": 16, "threads": 1, "mem_mb": 1000},
            seed=3,
            model_name="t-model",
        )

    train_entry()
    log = pd.read_csv(out / "train_log.tsv", sep="\t")
    assert list(log.columns) == [*loop.LOG_COLUMNS, "system", "seed"] and log["epoch"].tolist() == [1, 2, 3, 4, 5, 6]
    assert set(zip(log["system"], log["seed"])) == {("t-model", 3)}  # the run, for the figure to check
    best = load_checkpoint(out / "best.pt")
    assert (best["model_name"], best["seed"]) == ("t-model", 3)  # the run, for encoding to check
    candidates = log[log["epoch"].isin([4, 6])]  # select_every 4 (the authors' default) and the last epoch
    assert best["epoch"] == int(candidates.loc[candidates["dev_loss"].idxmin(), "epoch"])
    assert (out / "curve.png").read_bytes()[:4] == b"\x89PNG"
    # chance with 30 dev images: R@1 = 1/30, R@10 = 1/3
    assert log["dev_r1"].max() > 3 / 30 and log["dev_r10"].max() > 2 / 3

    # The remedy vgs.identity names for a best.pt that records no run: delete it and rerun; the
    # entry rewrites best.pt and train_log.tsv from checkpoints/ without a single optimizer step.
    (out / "best.pt").unlink()
    steps: list[int] = []
    hook = register_optimizer_step_pre_hook(lambda optimizer, args, kwargs: steps.append(1))
    try:
        train_entry()
    finally:
        hook.remove()
    rewritten = load_checkpoint(out / "best.pt")
    assert not steps and (rewritten["model_name"], rewritten["epoch"]) == ("t-model", best["epoch"])
    assert all(torch.equal(rewritten["model"][key], best["model"][key]) for key in best["model"])
    pd.testing.assert_frame_equal(pd.read_csv(out / "train_log.tsv", sep="\t"), log)


def test_shipped_config_sections_build_settings_and_model():
    from conftest import REPO
    from vgs.config import load_config
    from vgs.model import model_config

    config = load_config(REPO / "config.yaml")
    settings = loop.TrainConfig.from_section(config["train"])
    assert settings.margin == 0.2 and settings.lr_max == 2e-4 and settings.batch_size == 32
    assert model_config({**config["model"], "size": "paper"}, image_dim=2048).embed_dim == 2048
    assert model_config(config["model"], image_dim=1280).image_dim == 1280


def test_runtime_selection_on_cpu_and_unknown_settings():
    from vgs.train.device import select_runtime

    runtime = select_runtime("auto", "auto")
    if not torch.cuda.is_available():
        assert runtime.device.type == "cpu" and runtime.dtype is None
        with pytest.raises(RuntimeError, match="no CUDA device"):
            select_runtime("cuda")
    assert select_runtime("cpu", "bf16").dtype == torch.bfloat16
    with pytest.raises(ValueError, match="unknown train setting.*'epoch'"):
        loop.TrainConfig.from_section({"epoch": 3})


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_trains_on_cpu_with_the_lstm_in_that_precision(corpus, tmp_path, precision):
    """The speed-option ablation's bf16 arm runs on CPUs without bf16 instructions too, and there
    it is a real reduced-precision arm: the convolution's reduced-precision output feeds the LSTMs,
    which oneDNN then runs in that dtype (an fp32 input under CPU autocast would make oneDNN fail)."""
    trainer, train_set, _ = make_trainer(corpus, tmp_path, precision=precision, device="cpu")
    encoder = trainer.model.caption_encoder
    dtypes: list[torch.dtype] = []
    encoder.conv.register_forward_hook(lambda module, args, output: dtypes.append(output.dtype))
    encoder.rnn.forward_layers[0].register_forward_hook(lambda module, args, output: dtypes.append(output[0].dtype))
    loss = trainer.train_step(*trainer.batch_tensors(train_set, np.arange(8)), 1e-3)
    assert torch.isfinite(loss) and dtypes == [trainer.runtime.dtype] * 2


@pytest.mark.slow
def test_logged_lr_follows_the_cyclic_schedule_step_by_step(tmp_path):
    """17 images x 2 captions with batches of 8: each pass of 17 captions is 3 batches, so an epoch
    is 6 steps (not ceil(34 / 8) = 5) and the 4-epoch period is 24 steps. The learning rate Adam
    uses at every step, and the ``lr`` column of train_log.tsv (the last step of each epoch),
    follow lr_min + (lr_max - lr_min) (1 - cos(2 pi s / 24)) / 2."""
    data = synthetic_corpus(tmp_path / "data", images={"train": 17, "dev": 8}, captions_per_image=2)
    settings = {
        **FAST,
        "epochs": 5,
        "batch_size": 8,
        "lr_period_epochs": 4,
        "lr_cycle": "epochs",
        "threads": 1,
        "mem_mb": 1000,
    }
    used: list[float] = []
    hook = register_optimizer_step_pre_hook(
        lambda optimizer, args, kwargs: used.append(optimizer.param_groups[0]["lr"])
    )
    try:
        out = tmp_path / "model"
        loop.train(data["manifest"], [data["mfcc"]], data["images"], out / "best.pt", out / "train_log.tsv",
                   out / "curve.png", out / "checkpoints", {"size": "t", "sizes": {"t": TINY}}, settings,
                   seed=1, model_name="t")  # fmt: skip
    finally:
        hook.remove()
    lr_min, lr_max, steps_per_epoch, period = FAST["lr_min"], FAST["lr_max"], 6, 24
    expected = [lr_min + (lr_max - lr_min) * (1 - math.cos(2 * math.pi * (step % period) / period)) / 2
                for step in range(5 * steps_per_epoch)]  # fmt: skip
    assert used == pytest.approx(expected, rel=1e-12)
    log = pd.read_csv(out / "train_log.tsv", sep="\t")
    epoch_ends = [expected[epoch * steps_per_epoch - 1] for epoch in log["epoch"]]
    assert log["lr"].tolist() == pytest.approx(epoch_ends, rel=1e-9)
    assert log["lr"].iloc[3] < lr_min + 0.02 * (lr_max - lr_min)  # the end of a period is a low point


class Captions:
    """The parts of a CaptionSet that the cycle length and the dev batches read."""

    def __init__(self, image_ids: list[str]) -> None:
        self.image_ids, self.lengths = image_ids, np.full(len(image_ids), 100)

    def __len__(self) -> int:
        return len(self.image_ids)


def test_authors_cycle_on_flickr8k_against_a_hand_computation():
    """Flickr8k: 6,000 training images x 5 captions, batches of 32. The authors' cycle is
    int(6000 / 32) * 5 * 4 = 3,740 steps and their epoch ceil(30,000 / 32) = 938 steps, so after
    epoch 32 (step 30,016) the phase is 30,016 - 8 * 3,740 = 96 steps: by hand,
    1e-6 + 1.99e-4 * (1 - cos(2 pi 96 / 3740)) / 2 = 1e-6 + 1.99e-4 * 0.0064885 = 2.2912e-6.
    Here an epoch is 5 passes of ceil(6000 / 32) = 188 batches = 940 steps; after epoch 32 (step
    30,080) the phase is 160: 1e-6 + 1.99e-4 * (1 - cos(2 pi 160 / 3740)) / 2 = 4.573e-6."""
    flickr = Captions([f"img{i}" for i in range(6000) for _ in range(5)])
    authors = loop.TrainConfig()
    assert (authors.lr_cycle, authors.lr_min, authors.lr_max) == ("authors", 1e-6, 2e-4)
    assert loop.cycle_steps(flickr, authors) == 3740
    assert cyclic_lr(32 * 938, 1e-6, 2e-4, 3740) == pytest.approx(2.2912e-6, rel=1e-4)
    assert loop.steps_per_epoch(flickr, 32) == 940
    assert cyclic_lr(32 * 940, 1e-6, 2e-4, loop.cycle_steps(flickr, authors)) == pytest.approx(4.573e-6, rel=1e-3)
    assert loop.cycle_steps(flickr, loop.TrainConfig(lr_cycle="epochs")) == 4 * 940
    places = Captions([f"img{i}" for i in range(1000)])  # one caption per image: int(1000 / 32) * 1 * 4
    assert loop.cycle_steps(places, authors) == 124


def test_ordered_dev_batches_read_the_manifest_order_and_random_ones_keep_images_apart():
    dev = Captions([f"img{i}" for _ in range(5) for i in range(250)])  # caption-major, as the loaders write
    ordered = loop.dev_loss_batches(dev, loop.TrainConfig(dev_batches="ordered"), seed=1)
    assert [batch.tolist() for batch in ordered] == [list(range(s, s + 100)) for s in range(0, 1200, 100)] + [
        list(range(1200, 1250))
    ]
    random = loop.dev_loss_batches(dev, loop.TrainConfig(dev_batches="random"), seed=1)
    assert sorted(np.concatenate(random).tolist()) == list(range(1250))
    assert all(len({dev.image_ids[i] for i in batch}) == len(batch) for batch in random)


# --- the authors' recipe is the default -----------------------------------------------------------


def test_defaults_are_the_authors_recipe():
    from conftest import REPO
    from vgs.config import load_config

    paper = loop.TrainConfig.from_section(load_config(REPO / "workflow" / "config" / "paper.yaml")["train"])
    for settings in (loop.TrainConfig(), paper):
        assert (settings.bucket, settings.precision, settings.init) == (False, "fp32", "authors")
        assert (settings.lr_min, settings.select_every, settings.dev_batch_size) == (1e-6, 4, 100)


def test_fp32_on_cuda_unless_autocast_is_asked_for(monkeypatch):
    from vgs.train.device import select_runtime

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_runtime("auto").device.type == "cuda"
    assert select_runtime("auto").dtype is None
    assert select_runtime("auto", loop.TrainConfig().precision).dtype is None
    assert select_runtime("auto", "auto").dtype == torch.float16  # the opt-in speed option, fastest on the H200


def test_authors_initialisation(corpus, tmp_path):
    """Orthogonal first attention layer and Xavier-uniform image projection, as the authors' code."""
    authors, _, _ = make_trainer(corpus, tmp_path / "a", init="authors")
    default, _, _ = make_trainer(corpus, tmp_path / "b", init="pytorch")

    def attention_gram(trainer):
        weight = trainer.model.caption_encoder.pool.score[0].weight.detach()
        return weight @ weight.T

    def projection_bound(trainer):
        return float(trainer.model.image_encoder.project.weight.detach().abs().max())

    eye = torch.eye(TINY["attention_hidden"])
    assert torch.allclose(attention_gram(authors), eye, atol=1e-5)
    assert not torch.allclose(attention_gram(default), eye, atol=1e-2)
    out_features, in_features = authors.model.image_encoder.project.weight.shape
    xavier = math.sqrt(6 / (in_features + out_features))
    assert xavier > 1.5 / math.sqrt(in_features)  # the two bounds are distinguishable at these sizes
    assert 0.9 * xavier < projection_bound(authors) <= xavier
    assert projection_bound(default) <= 1 / math.sqrt(in_features)


def test_best_epoch_is_chosen_among_every_fourth_and_the_last(corpus, tmp_path):
    trainer, _, _ = make_trainer(corpus, tmp_path / "run", epochs=10)
    assert [epoch for epoch in range(1, 11) if trainer.is_candidate(epoch)] == [4, 8, 10]
    every, _, _ = make_trainer(corpus, tmp_path / "every", epochs=3, select_every=1)
    assert [epoch for epoch in range(1, 4) if every.is_candidate(epoch)] == [1, 2, 3]


def test_fp32_on_cuda_switches_tf32_off_and_tf32_is_the_opt_in(monkeypatch):
    """PyTorch lets cuDNN use TF32 by default (seen on the H200: cudnn True, matmul False), so the
    authors' fp32 must switch it off; ``tf32`` is the speed option that switches both on."""
    from vgs.train.device import select_runtime

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = False, True  # PyTorch's defaults
        runtime = select_runtime("cuda", "fp32")
        assert (runtime.dtype, runtime.tf32) == (None, False)
        assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == (False, False)
        runtime = select_runtime("cuda", "tf32")
        assert (runtime.dtype, runtime.tf32) == (None, True)
        assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == (True, True)
        assert select_runtime("cuda", "bf16").tf32 is False and torch.backends.cudnn.allow_tf32 is False
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_cuda_lstm_leaves_autocast_unless_it_is_fp16():
    """PyTorch's cuDNN RNN autocast computes in fp16 whatever the autocast dtype (seen on the H200:
    bf16 autocast gave an fp16 LSTM without gradient scaling); under bf16 the LSTM runs in fp32."""
    from vgs.model import lstm_leaves_autocast

    assert lstm_leaves_autocast(True, torch.bfloat16)
    assert not lstm_leaves_autocast(True, torch.float16)  # fp16 is what cuDNN does; GradScaler covers it
    assert not lstm_leaves_autocast(False, torch.bfloat16)
