"""Progress lines inside a training epoch: where it is, how fast, the loss so far, and when it ends.

A line is due every ``train.progress_every_minutes`` or every ``train.progress_every_steps`` steps,
whichever comes first, and at the end of every epoch, so the world's epochs of a few dozen steps
show one line each. At the paper's size (Places: 12,500 steps of 32 captions per epoch, ~2.4 h on
an H200, ~0.7 s a step) the defaults (5 minutes, 500 steps) write a line every 5 minutes (~430
steps), ~30 lines an epoch and ~950 over 32 epochs (~190 kB); Flickr8k's 938-step epochs (~5 min)
get one at 500 steps and one at the end.

The rate is this process's in this epoch (a resumed epoch counts from where it resumed), and both
ETAs extrapolate it: the epoch's remaining steps, and those of the remaining epochs (every epoch
has the same steps). Dev evaluation after each epoch is not counted: an estimate, called ETA.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vgs.progress import Clock, Throttle, format_duration


@dataclass
class EpochProgress:
    """The progress lines of one epoch of one run (``name``, e.g. ``places seed 1``).

    ``batches`` is the epoch's plan; ``first_batch`` the batches done before this process started
    on it (a run resumed inside the epoch), from which the rate is counted.
    """

    name: str
    epoch: int
    epochs: int
    batches: int
    first_batch: int
    every_seconds: float
    every_steps: int
    clock: Clock
    started: float = field(init=False)
    throttle: Throttle = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()
        self.throttle = Throttle(self.every_seconds, self.every_steps, self.clock, self.first_batch)

    def due(self, done: int) -> bool:
        """Whether a line is due after ``done`` batches of the epoch (always at its last)."""
        return self.throttle.due(done) or done == self.batches

    def line(self, done: int, captions: int, loss: float, skipped: int | None = None) -> str:
        """The line after ``done`` batches, ``captions`` of them trained in this process, ``loss``
        the epoch's running mean; ``skipped``: fp16 steps the grad scaler skipped this epoch."""
        elapsed = self.clock() - self.started
        per_batch = elapsed / max(done - self.first_batch, 1)
        epoch_left = (self.batches - done) * per_batch
        training_left = epoch_left + (self.epochs - self.epoch) * self.batches * per_batch
        rate = f"{captions / elapsed:.1f}" if elapsed > 0 else "-"
        skips = "" if skipped is None else f", fp16 steps skipped: {skipped}"
        return (
            f"{self.name}: epoch {self.epoch}/{self.epochs} step {done}/{self.batches} "
            f"({100 * done / self.batches:.1f}%), {rate} captions/s, loss {loss:.4f} (epoch mean so far){skips}, "
            f"ETA epoch {format_duration(epoch_left)}, training {format_duration(training_left)}"
        )
