"""What to do with utterances whose wav cannot give features: stop, or set them aside and list them.

Why a choice: a bad wav in Flickr8k or SpokenCOCO usually means a broken download the user should
repair, so the default stops and names every bad file. The Places release itself contains empty
wavs, which the authors' code drops; ``on_bad_audio: skip`` does the same, writes every dropped
utterance with its reason to ``rejected.tsv`` and still stops when more than
``max_rejected_fraction`` of the corpus is unusable (then the download, not the release, is broken).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from vgs.corpora.audio_check import audio_problems
from vgs.corpora.audio_content import content_problems
from vgs.corpora.manifest import CorpusError, indented_list
from vgs.io import PathLike, read_tsv, write_tsv

REJECTED_COLUMNS = ["utt_id", "wav_path", "reason"]


@dataclass(frozen=True)
class AudioPolicy:
    """Config ``corpora.<name>.on_bad_audio`` and ``max_rejected_fraction`` (defaults in the schema)."""

    on_bad_audio: str = "stop"
    max_rejected_fraction: float = 0.01

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> AudioPolicy:
        return cls(**{key: spec[key] for key in cls.__dataclass_fields__ if key in spec})


def wav_problems(paths: Sequence[str], min_samples: int) -> list[str | None]:
    """Why each wav cannot give features, or None: its header first, then what the header admits.

    The content check (:mod:`vgs.corpora.audio_content`) only opens files whose header is sound.
    """
    header = audio_problems(paths, min_samples)
    content = iter(content_problems([path for path, problem in zip(paths, header, strict=True) if problem is None]))
    return [problem if problem is not None else next(content) for problem in header]


def screen_audio(
    frame: pd.DataFrame, corpus: str, policy: AudioPolicy, min_samples: int, stop_list: PathLike, source: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(usable rows of the manifest ``frame``, rejected rows with ``REJECTED_COLUMNS``).

    Raises :class:`CorpusError` naming the bad files and the utterances when the policy says stop
    or too many are unusable; ``stop_list`` (kept beside the job's log, which Snakemake does not
    delete on failure) then lists every one of them.
    """
    problems = pd.Series(wav_problems(frame["wav_path"].tolist(), min_samples), index=frame.index)
    bad = problems.notna()
    rejected = frame.loc[bad, ["utt_id", "wav_path"]].assign(reason=problems[bad])
    fraction = len(rejected) / len(frame)
    if rejected.empty or (policy.on_bad_audio == "skip" and fraction <= policy.max_rejected_fraction):
        return frame.loc[~bad], rejected
    if policy.on_bad_audio == "stop":
        hint = f"re-download or re-create them, or set corpora.{corpus}.on_bad_audio: skip to train without them"
    else:
        hint = (
            f"that is more than corpora.{corpus}.max_rejected_fraction = {policy.max_rejected_fraction:g}, so the "
            "download is probably incomplete; repair it, or raise max_rejected_fraction"
        )
    write_tsv(stop_list, rejected)
    shown = indented_list([f"{row.wav_path} (utterance {row.utt_id}): {row.reason}" for row in rejected.itertuples()])
    raise CorpusError(
        f"{len(rejected)} of {len(frame)} wavs ({fraction:.2%}) of corpus {corpus} are unusable:\n{shown}\n"
        f"All {len(rejected)} are listed in {stop_list}; {hint}.\n{source}"
    )


def count_rejected(path: PathLike) -> int:
    """Number of utterances listed in a ``rejected.tsv``."""
    return len(read_tsv(path, required=REJECTED_COLUMNS))
