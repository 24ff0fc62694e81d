"""Speak a world corpus: synthesise every caption of its ``speech_jobs.tsv``, then mark it complete.

Entry point of the ``world_speak`` rule. Synthesis itself (engine, retries, atomic and resumable
writes) belongs to ``vgs.tts.synthesis``; this module only checks that every wav the corpus
metadata points at exists before it writes the ``.complete`` marker the corpus loaders wait for.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vgs.io import read_tsv, write_text_atomic
from vgs.world.generate import JOB_COLUMNS

log = logging.getLogger(__name__)


def speak_corpus(
    jobs_path: str | Path, marker_path: str | Path, tts_config: Mapping[str, Any], progress_desc: str = ""
) -> None:
    """Synthesise the wavs listed in ``jobs_path`` and write ``marker_path`` when all exist."""
    from vgs.tts.synthesis import synthesize_jobs  # the TTS engine loads only when speech is made

    jobs = read_tsv(jobs_path, JOB_COLUMNS)
    done = synthesize_jobs(jobs, tts_config=dict(tts_config), progress_desc=progress_desc or str(jobs_path))
    missing = [path for path in jobs["wav_path"] if not Path(path).is_file()]
    if missing:
        raise RuntimeError(
            f"{jobs_path}: {len(missing)} of {len(jobs)} wavs are missing after synthesis (first: {missing[0]}); "
            "rerun the rule to resume"
        )
    total = float(done["duration"].sum())
    log.info("%s: %d wavs, %.1f minutes of speech", jobs_path, len(jobs), total / 60)
    write_text_atomic(marker_path, f"{len(jobs)} wavs\t{total:.1f} seconds\n")
