"""Dispatch a ``corpora:`` config entry to its format's loader, check its audio and write the manifest."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from vgs.corpora import flickr8k, places, spokencoco
from vgs.corpora.manifest import write_manifest
from vgs.corpora.screening import REJECTED_COLUMNS, AudioPolicy, screen_audio
from vgs.io import PathLike, write_tsv

log = logging.getLogger(__name__)

SOURCES = {"flickr8k": flickr8k.SOURCE, "places": places.SOURCE, "spokencoco": spokencoco.SOURCE}


def read_corpus(spec: Mapping[str, Any]) -> pd.DataFrame:
    """The manifest of the corpus a config entry describes (``format``, ``root`` and extras), from its metadata."""
    fmt, root = spec["format"], spec["root"]
    image_root, audio_root = spec.get("image_root"), spec.get("audio_root")
    if fmt == "flickr8k":
        return flickr8k.load_flickr8k(root, image_root, audio_root)
    if fmt == "places":
        return places.load_places(root, image_root, audio_root)
    if fmt == "spokencoco":
        return spokencoco.load_spokencoco(
            root, image_root, spec.get("dev_images", 1000), spec.get("test_images", 1000), spec.get("seed", 0),
            audio_root, spec.get("selection", "authors"),
        )
    raise ValueError(f"unknown corpus format {fmt!r}; expected flickr8k, places or spokencoco")


def load_corpus(
    spec: Mapping[str, Any], corpus: str, manifest: PathLike, rejected: PathLike, stop_list: PathLike,
    min_samples: int,
) -> pd.DataFrame:
    """Load corpus ``corpus``, check every wav's header and write the manifest and ``rejected.tsv``.

    ``min_samples`` is the shortest usable utterance (one MFCC frame); ``stop_list`` is where the
    unusable utterances are listed when loading stops because of them (see :func:`screen_audio`).
    """
    frame, dropped = screen_audio(
        read_corpus(spec), corpus, AudioPolicy.from_spec(spec), min_samples, stop_list, SOURCES[spec["format"]]
    )
    Path(stop_list).unlink(missing_ok=True)  # a list left by an earlier, stopped attempt
    log.log(
        logging.WARNING if len(dropped) else logging.INFO,
        "%d wavs checked: %d rejected for unusable audio (listed with the reason in %s), %d kept",
        len(frame) + len(dropped), len(dropped), rejected, len(frame),
    )
    untranscribed = frame.loc[frame["text"] == "", "utt_id"]
    if len(untranscribed):
        log.warning(
            "%d of %d utterances have no transcript in the metadata (their text is left empty), e.g. %s",
            len(untranscribed), len(frame), ", ".join(untranscribed.head(5)),
        )
    for split, rows in frame.groupby("split"):
        log.info("%s: %d utterances, %d images", split, len(rows), rows["image_id"].nunique())
    write_manifest(manifest, frame)
    write_tsv(rejected, dropped[REJECTED_COLUMNS])
    return frame
