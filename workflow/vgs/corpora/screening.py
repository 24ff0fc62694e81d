"""What to do with utterances whose wav cannot give features: stop, or set them aside and list them.

Why a choice: a bad wav in Flickr8k or SpokenCOCO usually means a broken download the user should
repair, so the default stops and names every bad file. The Places release itself contains empty
wavs, which the authors' code drops; ``on_bad_audio: skip`` does the same, writes every dropped
utterance with its reason to ``rejected.tsv`` and still stops when more than
``max_rejected_fraction`` of the corpus is unusable (then the download, not the release, is broken).
A wav whose header alone is wrong (see :mod:`vgs.corpora.audio_check`) is kept under either policy
and listed in ``repaired.tsv`` with the length its header declares and the length it holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from vgs.corpora.audio_check import AudioCheck, check_audios
from vgs.corpora.audio_content import content_problems
from vgs.corpora.manifest import CorpusError
from vgs.io import PathLike, indented_list, read_tsv, write_tsv

REJECTED_COLUMNS = ["utt_id", "wav_path", "reason"]
REPAIRED_COLUMNS = ["utt_id", "wav_path", "declared_s", "actual_s"]


@dataclass(frozen=True)
class AudioPolicy:
    """Config ``corpora.<name>.on_bad_audio`` and ``max_rejected_fraction`` (defaults in the schema)."""

    on_bad_audio: str = "stop"
    max_rejected_fraction: float = 0.01

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> AudioPolicy:
        return cls(**{key: spec[key] for key in cls.__dataclass_fields__ if key in spec})


def wav_checks(paths: Sequence[str], min_samples: int) -> list[AudioCheck]:
    """Each wav's header check, its problem then completed by what the header admits.

    The content check (:mod:`vgs.corpora.audio_content`) only opens files whose header is sound
    (or read despite a wrong header: their content is checked like any other's).
    """
    header = check_audios(paths, min_samples)
    usable = [path for path, check in zip(paths, header, strict=True) if check.problem is None]
    content = iter(content_problems(usable))
    return [check if check.problem is not None else replace(check, problem=next(content)) for check in header]


def screen_audio(
    frame: pd.DataFrame, corpus: str, policy: AudioPolicy, min_samples: int, stop_list: PathLike, source: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(usable rows of the manifest ``frame``, rejected rows with ``REJECTED_COLUMNS``, usable rows
    read despite a wrong header with ``REPAIRED_COLUMNS``).

    Raises :class:`CorpusError` naming the bad files and the utterances when the policy says stop
    or too many are unusable; ``stop_list`` (kept beside the job's log, which Snakemake does not
    delete on failure) then lists every one of them.
    """
    checks = pd.Series(wav_checks(frame["wav_path"].tolist(), min_samples), index=frame.index)
    problems = checks.map(lambda check: check.problem)
    bad = problems.notna()
    rejected = frame.loc[bad, ["utt_id", "wav_path"]].assign(reason=problems[bad])
    fraction = len(rejected) / len(frame)
    if rejected.empty or (policy.on_bad_audio == "skip" and fraction <= policy.max_rejected_fraction):
        repairs = checks[~bad].map(lambda check: check.repair).dropna()
        repaired = frame.loc[repairs.index, ["utt_id", "wav_path"]].assign(
            declared_s=[round(repair.declared_s, 3) for repair in repairs],
            actual_s=[round(repair.actual_s, 3) for repair in repairs],
        )
        return frame.loc[~bad], rejected, repaired[REPAIRED_COLUMNS]
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


def count_repaired(path: PathLike) -> int:
    """Number of utterances listed in a ``repaired.tsv``."""
    return len(read_tsv(path, required=REPAIRED_COLUMNS))
