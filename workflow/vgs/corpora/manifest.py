"""The common corpus manifest, what a corpus format provides, and the checks every loader shares.

Why one manifest: training, feature extraction and evaluation read ``utt_id image_id image_path
wav_path text speaker split`` and never need to know which dataset a row came from.

A format's loader returns a :class:`Listing`: the manifest rows it keeps and every recording its
metadata lists that the format leaves out by design (outside the splits, beyond a per-image cap),
each with a reason, so that nothing the metadata lists disappears without being counted
(``excluded.tsv``). At the paper's size the largest such list is SpokenCOCO's val recordings in
neither dev nor test: ~15,000 rows, ~2 MB in memory and on disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vgs.io import PathLike, indented_list, require_files, write_tsv

MANIFEST_COLUMNS = ["utt_id", "image_id", "image_path", "wav_path", "text", "speaker", "split"]
SPLITS = ("train", "dev", "test")
#: A recording the metadata lists and the format leaves out: ``reason`` is one of the format's fixed
#: reasons (counted in the load summary), ``entry`` where the metadata lists it.
EXCLUDED_COLUMNS = ["utt_id", "wav_path", "reason", "entry"]


class CorpusError(ValueError):
    """A corpus's metadata is inconsistent or damaged; the message says what to do.

    Missing files raise :class:`FileNotFoundError` (:func:`vgs.io.require_files`).
    """


@dataclass(frozen=True)
class Listing:
    """A corpus as its metadata lists it: the manifest rows kept and the recordings left out by design."""

    manifest: pd.DataFrame  # MANIFEST_COLUMNS
    excluded: pd.DataFrame  # EXCLUDED_COLUMNS; empty when the format keeps everything it lists


def excluded_frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    """The recordings a loader leaves out, as a frame of :data:`EXCLUDED_COLUMNS` (empty rows allowed)."""
    return pd.DataFrame(rows, columns=EXCLUDED_COLUMNS).astype(str)


@dataclass(frozen=True)
class CorpusFormat:
    """One on-disk corpus format: what ``corpora.<name>.format`` names (registered in vgs.corpora.registry).

    ``read`` takes the validated ``corpora:`` entry (``root``, ``image_root``, ``audio_root`` and the
    format's ``options``) and returns its :class:`Listing`; ``source`` says where the corpus comes
    from and how to lay it out (shown with every error about missing files); ``options`` are the
    entry keys only this format reads, with their defaults (each must be documented in
    workflow/schemas/corpora.schema.yaml).
    """

    name: str
    read: Callable[[Mapping[str, Any]], Listing]
    source: str
    options: Mapping[str, Any] = field(default_factory=dict)


def join_path(base: PathLike, relative: str) -> str:
    """``base/relative`` normalised without resolving symlinks, so relative roots stay relative."""
    return os.path.normpath(os.path.join(base, relative))


def caption_name(wav_path: str) -> str:
    """The name the authors' feature file gives a recording: its wav stem, ``-`` -> ``_`` (HDF5 naming)."""
    return Path(wav_path).name.split(".")[0].replace("-", "_")


def caption_major(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows (each image's captions in order) as the authors' samplers read dev and test.

    Their samplers yield caption k of every image (in image order) for k = 0, 1, ...; the dev loss
    is computed over consecutive batches of that order (``train.dev_batches: ordered``).
    """
    seen: dict[str, int] = {}
    ranked = []
    for index, row in enumerate(rows):
        seen[row["image_id"]] = seen.get(row["image_id"], -1) + 1
        ranked.append((seen[row["image_id"]], index, row))
    return [row for _, _, row in sorted(ranked, key=lambda item: item[:2])]


def finish_manifest(rows: pd.DataFrame | list[dict[str, str]], name: str, source: str) -> pd.DataFrame:
    """Order columns, check ids, splits and that every referenced image exists.

    Each row carries an ``entry`` (file and entry or line it came from, see
    :func:`vgs.corpora.metadata.entry_label`) so that errors point at the metadata; it is dropped from
    the result. Wavs are checked apart, by :mod:`vgs.corpora.screening`, because an unusable wav may
    be set aside where a missing image always stops.
    """
    frame = pd.DataFrame(rows, columns=[*MANIFEST_COLUMNS, "entry"]).fillna("").astype(str)
    if frame.empty:
        raise CorpusError(f"{name}: the metadata lists no utterances\n{source}")
    duplicated = frame[frame["utt_id"].duplicated(keep=False)].groupby("utt_id", sort=False)["entry"]
    if len(duplicated):
        shown = indented_list([f"{utt!r} in {'; '.join(entries)}" for utt, entries in duplicated])
        raise CorpusError(
            f"{name}: {len(duplicated)} utterance id(s) appear more than once; each utterance needs its own id:\n"
            f"{shown}"
        )
    bad_splits = sorted(set(frame["split"]) - set(SPLITS))
    if bad_splits:
        raise CorpusError(f"{name}: unknown split(s) {bad_splits}; expected {list(SPLITS)}")
    check_disjoint_splits(frame, name)
    images = frame.drop_duplicates("image_id").set_index("image_id")["image_path"]
    conflicting = frame.groupby("image_id")["image_path"].nunique()
    if (conflicting > 1).any():
        raise CorpusError(f"{name}: image ids with several paths: {list(conflicting[conflicting > 1].index[:5])}")
    require_files(images.tolist(), f"{name} images", source)
    return frame[MANIFEST_COLUMNS]


def check_disjoint_splits(frame: pd.DataFrame, name: str) -> None:
    """Raise :class:`CorpusError` when an image is in two splits, naming its entry in each.

    Why: an image in train and in dev or test (e.g. a val image also listed in a train file) lets the
    model see test images while training, which inflates retrieval scores without any error.
    """
    firsts = frame.drop_duplicates(["image_id", "split"])
    shared = firsts[firsts["image_id"].duplicated(keep=False)]
    if shared.empty:
        return
    lines = [
        f"{image!r} in {', '.join(rows['split'])}: {'; '.join(rows['entry'])}"
        for image, rows in shared.groupby("image_id", sort=True)
    ]
    raise CorpusError(
        f"{name}: {len(lines)} image(s) are in more than one split; train, dev and test must not share "
        f"images (remove each from all but one split file):\n{indented_list(lines)}"
    )


def write_manifest(path: PathLike, frame: pd.DataFrame) -> None:
    """Write a manifest (columns in the canonical order) atomically."""
    write_tsv(Path(path), frame[MANIFEST_COLUMNS])
