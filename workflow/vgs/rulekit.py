"""Glue between Snakemake rule scripts and the package.

Why: every rule script must log to its rule's ``log:`` file, use exactly the threads the rule was
given (two jobs sharing two cores must not each start a 2-thread BLAS pool) and leave the real work
to a package function that tests can call. :func:`rule_context` does the first two in one line.

Where a job's log lines go: always to the rule's log file (``tail -f results/logs/<rule>/...``);
inside a SLURM job also to the job's stderr, which the SLURM executor plugin writes to the job's
own log (``results/logs/slurm/...``, named by Snakemake when the job fails), so progress lines
show there too. Run locally, stderr is Snakemake's terminal, which stays free of the jobs' lines.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_threads(threads: int) -> None:
    """Pin numeric libraries (torch, BLAS, OpenMP) to ``threads`` threads.

    The environment variables suffice for libraries imported later (torch reads
    ``OMP_NUM_THREADS`` when it starts); torch is only called directly when a script already
    imported it, so light rules do not pay torch's import time.
    """
    threads = max(1, int(threads))
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(1)


def in_slurm_job() -> bool:
    """Whether this process runs inside a SLURM job (``SLURM_JOB_ID``, which SLURM sets in every job)."""
    return bool(os.environ.get("SLURM_JOB_ID"))


@contextlib.contextmanager
def rule_context(snakemake: Any) -> Iterator[logging.Logger]:
    """Route logging and stderr to the rule's first log file (and logging to the SLURM job's log
    too, inside a SLURM job) and pin threads.

    Long jobs log progress lines (vgs.progress), so ``tail -f`` on a rule's log shows how far
    they are; what libraries write to stderr lands in the log file too.

    An error is written to the log once, with its traceback, and the script then exits with status
    1 (:class:`SystemExit`) instead of letting Python print the traceback again on the job's stderr:
    Snakemake shows a failed job's log on the terminal (``show-failed-logs`` in both shipped
    profiles), so re-raising printed every error twice. Interruptions (``KeyboardInterrupt``, an
    explicit ``SystemExit``) are logged and passed on unchanged.
    """
    log_path = Path(snakemake.log[0]) if len(snakemake.log) else None
    configure_threads(getattr(snakemake, "threads", 1))
    handlers: list[logging.Handler] = []
    stream = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed below
        handlers.append(logging.StreamHandler(stream))
    if stream is None or in_slurm_job():
        handlers.append(logging.StreamHandler(sys.stderr))  # the process's stderr, before the redirect below
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, handlers=handlers, force=True)
    logger = logging.getLogger(f"vgs.rule.{getattr(snakemake, 'rule', 'script')}")
    old_stderr = sys.stderr
    if stream is not None:
        sys.stderr = stream
    start = time.perf_counter()
    try:
        yield logger
        logger.info("done in %.1f s", time.perf_counter() - start)
    except Exception:
        logger.exception("rule failed")
        raise SystemExit(1) from None
    except BaseException:
        logger.exception("rule interrupted")
        raise
    finally:
        sys.stderr = old_stderr
        if stream is not None:
            stream.flush()
            stream.close()
