"""Progress of long jobs as log lines: one ``logging`` line per update, every few minutes.

Why not a tqdm bar: in a log file a bar is a single line that grows by carriage-return-separated
updates (``wc -l`` counts one line for a whole epoch; ``grep`` and editors show a wall of redrawn
bars), and a rule's stderr reaches its log only. Log lines go wherever the rule's logging goes
(:func:`vgs.rulekit.rule_context`: the rule's log file, and the SLURM job's log inside a SLURM job),
so ``tail -f`` on either shows how far a job is and when it will end.

At the paper's size lines are few: one every 5 minutes (:data:`EVERY_SECONDS`) is 12 lines (~2 kB)
an hour, ~30 for a 2.4-hour Places epoch; the rate limit is checked per batch, one clock read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

#: Seconds between progress lines of a job that has no setting of its own (image features,
#: MFCCs, embedding), and the default of training (``train.progress_every_minutes``).
EVERY_SECONDS = 300.0

Clock = Callable[[], float]


def format_duration(seconds: float) -> str:
    """``H:MM:SS`` with hours past 24 as they are (``77:10:00``): an ETA is read against a job's hours."""
    whole = max(0, round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class Throttle:
    """Says when the next progress line is due: ``every_seconds`` after the last, or ``every_count``
    units after it, whichever comes first (no count limit when ``every_count`` is None)."""

    def __init__(
        self, every_seconds: float, every_count: int | None = None, clock: Clock = time.perf_counter, count: int = 0
    ) -> None:
        self.every_seconds, self.every_count, self.clock = every_seconds, every_count, clock
        self.last_time, self.last_count = clock(), count

    def due(self, count: int) -> bool:
        """Whether a line is due at ``count`` units done; if so, the next is counted from here."""
        now = self.clock()
        by_count = self.every_count is not None and count - self.last_count >= self.every_count
        if by_count or now - self.last_time >= self.every_seconds:
            self.last_time, self.last_count = now, count
            return True
        return False


class ProgressLog:
    """Counted progress of one job over ``total`` units, logged after the first batch (the job runs,
    at this rate), then every ``every_seconds``, and at the end, e.g.
    ``mfcc results/corpora/x/manifest.tsv: 1,200/5,000 utt (24.0%), 35.2 utt/s, ETA 0:01:48``.

    The rate and the ETA are this job's so far (units done / seconds since it started); an estimate,
    which the line calls ETA.
    """

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        total: int,
        unit: str,
        every_seconds: float = EVERY_SECONDS,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.logger, self.what, self.total, self.unit, self.clock = logger, what, total, unit, clock
        self.started = clock()
        self.throttle = Throttle(every_seconds, clock=clock)
        self.done = 0

    def advance(self, units: int) -> None:
        """Count ``units`` more done; log a line when one is due."""
        first = self.done == 0
        self.done += units
        if self.throttle.due(self.done) or first or self.done >= self.total:
            self.logger.info("%s", self.line())

    def line(self) -> str:
        elapsed = self.clock() - self.started
        rate = self.done / elapsed if elapsed > 0 else float("inf")
        eta = format_duration((self.total - self.done) / rate) if rate > 0 else "unknown"
        share = 100 * self.done / max(self.total, 1)
        return (
            f"{self.what}: {self.done:,}/{self.total:,} {self.unit} ({share:.1f}%), {rate:.1f} {self.unit}/s, ETA {eta}"
        )
