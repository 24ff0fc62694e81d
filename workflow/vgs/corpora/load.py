"""Dispatch a ``corpora:`` config entry to its format's loader and write the manifest."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from vgs.corpora.flickr8k import load_flickr8k
from vgs.corpora.manifest import write_manifest
from vgs.corpora.places import load_places
from vgs.corpora.spokencoco import load_spokencoco
from vgs.io import PathLike

log = logging.getLogger(__name__)


def read_corpus(spec: Mapping[str, Any]) -> pd.DataFrame:
    """The manifest of the corpus a config entry describes (``format``, ``root`` and extras)."""
    fmt = spec["format"]
    if fmt == "flickr8k":
        return load_flickr8k(spec["root"])
    if fmt == "places":
        return load_places(spec["root"], spec.get("image_root"), spec.get("audio_root"))
    if fmt == "spokencoco":
        return load_spokencoco(
            spec["root"], spec.get("image_root"), spec.get("dev_images", 1000), spec.get("test_images", 1000),
            spec.get("seed", 0),
        )
    raise ValueError(f"unknown corpus format {fmt!r}; expected flickr8k, places or spokencoco")


def load_corpus(spec: Mapping[str, Any], output: PathLike) -> pd.DataFrame:
    """Load a corpus and write its manifest to ``output``; log per-split counts."""
    frame = read_corpus(spec)
    for split, rows in frame.groupby("split"):
        log.info("%s: %d utterances, %d images", split, len(rows), rows["image_id"].nunique())
    write_manifest(output, frame)
    return frame
