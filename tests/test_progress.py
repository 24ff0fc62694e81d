"""Progress of long jobs (vgs.progress, vgs.train.progress): lines, their fields and ETA arithmetic
against hand computations with a fake clock; where rule scripts send them (vgs.rulekit)."""

from __future__ import annotations

import logging
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from test_train import make_trainer
from vgs.progress import ProgressLog, Throttle, format_duration
from vgs.rulekit import rule_context
from vgs.train.progress import EpochProgress
from vgs.train.synthetic import synthetic_corpus


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0:00:00"), (59.6, "0:01:00"), (3661, "1:01:01"), (77 * 3600 + 600, "77:10:00"), (-3, "0:00:00")],
)
def test_durations_are_hours_minutes_seconds(seconds, shown):
    assert format_duration(seconds) == shown


def test_a_line_is_due_every_so_many_seconds_or_units_whichever_comes_first():
    """Every 300 s or 500 units. At 0.5 s a unit the count decides (500 units in 250 s): lines at
    500 and 1,000 (t = 500 s). At 2 s a unit from t = 650 s (unit 1,300) time does: 300 s after
    the last line is t = 800 s, reached at unit 1,375."""
    clock = FakeClock()
    throttle = Throttle(every_seconds=300, every_count=500, clock=clock)
    due = []
    for count in range(1, 1501):
        clock.now += 0.5 if count <= 1300 else 2
        if throttle.due(count):
            due.append(count)
    assert due == [500, 1000, 1375]


def test_progress_log_lines_rate_and_eta_by_hand(caplog):
    """1,000 utterances in batches of 100, 10 s a batch, a line every 60 s: after the first batch
    (100, 10 utt/s, 900 left: 90 s), at 60 s (600 done, 10 utt/s, 400 left: 40 s) and at the end."""
    clock = FakeClock()
    logger = logging.getLogger("vgs.test_progress")
    with caplog.at_level(logging.INFO, logger="vgs.test_progress"):
        progress = ProgressLog(logger, "mfcc shard0", 1000, "utt", every_seconds=60, clock=clock)
        for _ in range(10):
            clock.now += 10
            progress.advance(100)
    assert caplog.messages == [
        "mfcc shard0: 100/1,000 utt (10.0%), 10.0 utt/s, ETA 0:01:30",
        "mfcc shard0: 600/1,000 utt (60.0%), 10.0 utt/s, ETA 0:00:40",
        "mfcc shard0: 1,000/1,000 utt (100.0%), 10.0 utt/s, ETA 0:00:00",
    ]


@pytest.fixture()
def restore_logging(monkeypatch):
    """rule_context configures the root logger and the thread variables as a rule script's process
    would; give both back afterwards."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(variable, "1")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.mark.parametrize("slurm", [False, True], ids=["local", "in-a-slurm-job"])
def test_rule_logs_go_to_the_log_file_and_inside_slurm_also_to_the_jobs_stderr(
    tmp_path, capsys, monkeypatch, restore_logging, slurm
):
    """Locally, a job's lines go to its log file only (Snakemake's terminal stays readable); inside
    a SLURM job, where the executor plugin keeps the job's stderr as its log, there too. No
    carriage returns in the log file: one line per update."""
    if slurm:
        monkeypatch.setenv("SLURM_JOB_ID", "123")
    else:
        monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    log_file = tmp_path / "logs" / "train" / "m" / "seed1.log"
    job = SimpleNamespace(log=[str(log_file)], threads=1, rule="train")
    with rule_context(job):
        progress = ProgressLog(logging.getLogger("vgs.features.mfcc"), "mfcc", 4, "utt")
        for _ in range(4):
            progress.advance(1)
        print("a library's warning", file=sys.stderr)
    written = log_file.read_text()
    assert "\r" not in written
    lines = [line for line in written.splitlines() if " INFO vgs.features.mfcc: " in line]
    assert [line.split(": ", 1)[1].split(",")[0] for line in lines] == [
        "mfcc: 1/4 utt (25.0%)",
        "mfcc: 4/4 utt (100.0%)",
    ]
    assert "a library's warning" in written
    stderr = capsys.readouterr().err
    assert ("mfcc: 4/4 utt (100.0%)" in stderr) is slurm
    assert "a library's warning" not in stderr  # what libraries print stays in the rule's log


def test_training_progress_lines_show_step_rate_loss_and_eta(tmp_path, caplog):
    """The real loop with a fake clock that moves 2 s per step: 3 epochs of 4 batches of 8
    captions, a line every 2 steps. After step 2 of epoch 1: 4 s for 16 captions (4.0 captions/s),
    2 steps left at 2 s (ETA epoch 0:00:04), then 2 epochs of 4 steps (training 4 + 16 = 20 s);
    the loss is the mean of the epoch's step losses so far."""
    corpus = synthetic_corpus(tmp_path / "data", images={"train": 16, "dev": 8}, captions_per_image=2)
    trainer, train_set, dev_set = make_trainer(
        corpus, tmp_path / "run", progress=True, progress_every_steps=2, progress_every_minutes=60
    )
    trainer.name = "t seed 1"
    clock = FakeClock()
    trainer.clock = clock
    losses: list[float] = []

    def two_seconds_a_step(*args, real=trainer.train_step):
        clock.now += 2
        loss = real(*args)
        losses.append(float(loss))
        return loss

    trainer.train_step = two_seconds_a_step
    with caplog.at_level(logging.INFO, logger="vgs.train.loop"):
        trainer.fit(train_set, dev_set)
    progress = [message for message in caplog.messages if message.startswith("t seed 1:")]
    expected = []
    for epoch in (1, 2, 3):
        for done in (2, 4):
            epoch_losses = losses[(epoch - 1) * 4 : (epoch - 1) * 4 + done]
            epoch_left, training_left = (4 - done) * 2, (4 - done) * 2 + (3 - epoch) * 4 * 2
            expected.append(
                f"t seed 1: epoch {epoch}/3 step {done}/4 ({25 * done:.1f}%), 4.0 captions/s, "
                f"loss {np.mean(epoch_losses):.4f} (epoch mean so far), "
                f"ETA epoch {format_duration(epoch_left)}, training {format_duration(training_left)}"
            )
    assert progress == expected
    assert expected[0].endswith("ETA epoch 0:00:04, training 0:00:20")  # the hand computation above


def test_time_alone_brings_a_line_inside_an_epoch(tmp_path, caplog):
    """At the step default (500), an epoch of 4 steps gets a line at its end; a step of 2 s with a
    line every 0.05 min (3 s) adds one at step 2 (4 s), as the paper-size epochs get one every 5 min."""
    corpus = synthetic_corpus(tmp_path / "data", images={"train": 16, "dev": 8}, captions_per_image=2)
    trainer, train_set, dev_set = make_trainer(corpus, tmp_path / "run", epochs=1, progress=True)
    clock = FakeClock()
    trainer.clock = clock
    trainer.train_step = lambda *args, real=trainer.train_step: setattr(clock, "now", clock.now + 2) or real(*args)
    with caplog.at_level(logging.INFO, logger="vgs.train.loop"):
        trainer.fit(train_set, dev_set)
    assert [m.split(" (")[0].split(": ", 1)[1] for m in caplog.messages if "captions/s" in m] == ["epoch 1/1 step 4/4"]

    timed, _, _ = make_trainer(corpus, tmp_path / "timed", epochs=1, progress=True, progress_every_minutes=0.05)
    timed.clock = clock
    timed.train_step = lambda *args, real=timed.train_step: setattr(clock, "now", clock.now + 2) or real(*args)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="vgs.train.loop"):
        timed.fit(train_set, dev_set)
    steps = [m.split(" (")[0].split(": ", 1)[1] for m in caplog.messages if "captions/s" in m]
    assert steps == ["epoch 1/1 step 2/4", "epoch 1/1 step 4/4"]


def test_a_resumed_epoch_counts_its_rate_from_where_it_resumed():
    """Resumed after batch 6 of 10 in epoch 2 of 3: two batches in 8 s here is 4 s a batch, so
    2 batches (8 s) to the epoch's end and 10 more (40 s) for epoch 3; counting the 6 batches done
    before the resumption would make it 1 s a batch."""
    clock = FakeClock()
    progress = EpochProgress("m seed 1", 2, 3, 10, 6, every_seconds=300, every_steps=500, clock=clock)
    clock.now += 8
    assert progress.line(8, 64, 0.5).endswith("8.0 captions/s, loss 0.5000 (epoch mean so far), ETA epoch 0:00:08, "
                                              "training 0:00:48")  # fmt: skip
