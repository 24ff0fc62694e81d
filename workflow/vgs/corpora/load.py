"""Dispatch a ``corpora:`` config entry to its format's loader (vgs.corpora.registry), check its images
and audio, write the manifest and say what was set aside: rejected for unusable audio, left out by
the format (excluded.tsv), read despite a wrong header (repaired.tsv)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vgs import layout
from vgs.corpora.image_check import image_problems
from vgs.corpora.manifest import EXCLUDED_COLUMNS, MANIFEST_COLUMNS, CorpusError, Listing, write_manifest
from vgs.corpora.registry import corpus_format
from vgs.corpora.screening import REJECTED_COLUMNS, AudioPolicy, count_rejected, screen_audio
from vgs.io import PathLike, indented_list, read_tsv, write_tsv

log = logging.getLogger(__name__)


def list_corpus(spec: Mapping[str, Any]) -> Listing:
    """The corpus a config entry describes (``format``, ``root`` and extras), from its metadata: the
    manifest rows and the recordings the format leaves out."""
    return corpus_format(spec["format"]).read(spec)


def read_corpus(spec: Mapping[str, Any]) -> pd.DataFrame:
    """The manifest of the corpus a config entry describes (see :func:`list_corpus`)."""
    return list_corpus(spec).manifest


def check_images(frame: pd.DataFrame, corpus: str, source: str) -> None:
    """Raise :class:`CorpusError` naming every image that cannot give features and an utterance of it."""
    images = frame.drop_duplicates("image_path")
    problems = image_problems(images["image_path"].tolist())
    bad = [
        f"{row.image_path} (image {row.image_id}, e.g. utterance {row.utt_id}): {problem}"
        for row, problem in zip(images.itertuples(), problems, strict=True)
        if problem is not None
    ]
    if bad:
        raise CorpusError(
            f"{len(bad)} of {len(images)} images of corpus {corpus} are unusable:\n{indented_list(bad)}\n"
            f"Re-download or re-create them (images are never left out: that would change the fixed splits).\n"
            f"{source}"
        )


def beside(rejected: PathLike, template: str) -> Path:
    """The list of ``template`` (layout.CORPUS_REPAIRED or CORPUS_EXCLUDED) that a load writes beside ``rejected``."""
    return Path(rejected).with_name(Path(template).name)


@dataclass(frozen=True)
class LoadSummary:
    """What loading kept and set aside, for the terminal and the report (one source for both).

    ``listed`` is every recording the metadata lists: kept, rejected for unusable audio, or left out
    by the format (``excluded``: reason -> recordings, from ``excluded.tsv``; None for a load made
    before that list existed).
    """

    corpus: str
    listed: int
    kept: int
    rejected: int
    repaired: int | None  # None: no repaired.tsv beside rejected.tsv
    untranscribed: int
    images: int
    excluded: Mapping[str, int] | None = field(default=None)

    @classmethod
    def from_outputs(cls, corpus: str, manifest: PathLike, rejected: PathLike) -> LoadSummary:
        """Counts from a finished load's files; ``repaired.tsv`` and ``excluded.tsv`` beside
        ``rejected.tsv`` count when present."""
        frame = read_tsv(manifest, required=MANIFEST_COLUMNS)
        dropped = count_rejected(rejected)
        repaired = beside(rejected, layout.CORPUS_REPAIRED)
        excluded_file = beside(rejected, layout.CORPUS_EXCLUDED)
        excluded = (
            read_tsv(excluded_file, required=EXCLUDED_COLUMNS)["reason"].value_counts(sort=False).to_dict()
            if excluded_file.is_file()
            else None
        )
        return cls(
            corpus=corpus,
            listed=len(frame) + dropped + sum((excluded or {}).values()),
            kept=len(frame),
            rejected=dropped,
            repaired=len(read_tsv(repaired)) if repaired.is_file() else None,
            untranscribed=int((frame["text"] == "").sum()),
            images=frame["image_id"].nunique(),
            excluded=excluded,
        )

    def labels(self) -> dict[str, int]:
        """The counts as Snakemake report labels."""
        labels = {
            "kept utterances": self.kept,
            "rejected utterances": self.rejected,
            "no transcript": self.untranscribed,
        }
        if self.repaired is not None:
            labels["repaired wavs"] = self.repaired
        if self.excluded is not None:
            labels["left out by the format"] = sum(self.excluded.values())
        return labels

    def line(self, rejected: PathLike) -> str:
        """One line: what a user must know after a run that succeeded, with where the lists are."""
        repaired, excluded = beside(rejected, layout.CORPUS_REPAIRED), beside(rejected, layout.CORPUS_EXCLUDED)
        repaired_part = "" if self.repaired is None else f", {self.repaired} repaired (listed in {repaired})"
        excluded_part = ""
        if self.excluded is not None:
            reasons = "".join(f"{count} {reason}; " for reason, count in self.excluded.items())
            excluded_part = f", {sum(self.excluded.values())} left out by the format ({reasons}listed in {excluded})"
        return (
            f"corpus {self.corpus}: {self.kept} of {self.listed} utterances kept ({self.images} images), "
            f"{self.rejected} rejected for unusable audio (listed in {rejected}){repaired_part}{excluded_part}, "
            f"{self.untranscribed} without transcript"
        )


def load_corpus(
    spec: Mapping[str, Any],
    corpus: str,
    manifest: PathLike,
    rejected: PathLike,
    stop_list: PathLike,
    min_samples: int,
) -> LoadSummary:
    """Load corpus ``corpus``, check every image and wav and write the manifest, ``rejected.tsv``,
    ``excluded.tsv`` (recordings the format leaves out by design, with the reason) and
    ``repaired.tsv`` beside it (wavs read despite a wrong header, see :mod:`vgs.corpora.audio_check`).

    ``min_samples`` is the shortest usable utterance (one MFCC frame); ``stop_list`` is where the
    unusable utterances are listed when loading stops because of them (see :func:`screen_audio`).
    Returns the summary the rule prints on the terminal.
    """
    source = corpus_format(spec["format"]).source
    listing = list_corpus(spec)
    listed = listing.manifest
    check_images(listed, corpus, source)
    frame, dropped, mended = screen_audio(listed, corpus, AudioPolicy.from_spec(spec), min_samples, stop_list, source)
    Path(stop_list).unlink(missing_ok=True)  # a list left by an earlier, stopped attempt
    repaired = beside(rejected, layout.CORPUS_REPAIRED)
    log.log(
        logging.WARNING if len(dropped) or len(mended) else logging.INFO,
        "%d wavs checked: %d rejected for unusable audio (listed with the reason in %s), %d kept, "
        "%d of them read as what they hold despite a wrong header (listed in %s)",
        len(frame) + len(dropped),
        len(dropped),
        rejected,
        len(frame),
        len(mended),
        repaired,
    )
    untranscribed = frame.loc[frame["text"] == "", "utt_id"]
    if len(untranscribed):
        log.warning(
            "%d of %d utterances have no transcript in the metadata (their text is left empty), e.g. %s",
            len(untranscribed),
            len(frame),
            ", ".join(untranscribed.head(5)),
        )
    for split, rows in frame.groupby("split"):
        log.info("%s: %d utterances, %d images", split, len(rows), rows["image_id"].nunique())
    write_manifest(manifest, frame)
    write_tsv(rejected, dropped[REJECTED_COLUMNS])
    write_tsv(beside(rejected, layout.CORPUS_EXCLUDED), listing.excluded[EXCLUDED_COLUMNS])
    write_tsv(repaired, mended)
    summary = LoadSummary.from_outputs(corpus, manifest, rejected)
    log.info("%s", summary.line(rejected))
    return summary
