"""The corpus format registry: one module and one line add a format; the schema names the same formats.

Why: a new format used to need edits in an ``if`` chain and a separate dict of vgs/corpora/load.py,
the schema enum and more. The last test follows workflow/DESIGN.md's recipe ("Adding a corpus
format") for a throwaway format and loads a corpus in it through the real load_corpus.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO
from test_corpora import MIN_SAMPLES, touch_image, touch_wav
from vgs.corpora import registry
from vgs.corpora.load import list_corpus, load_corpus
from vgs.corpora.manifest import CorpusFormat, Listing, excluded_frame, finish_manifest, join_path
from vgs.corpora.metadata import read_text
from vgs.io import read_tsv
from vgs.world.formats import FORMATS as WORLD_FORMATS

SCHEMAS = REPO / "workflow" / "schemas"


def corpus_entry_schema() -> dict:
    return yaml.safe_load((SCHEMAS / "corpora.schema.yaml").read_text())["additionalProperties"]


def schema_disagreements() -> list[str]:
    """How the schema's ``format`` enum and documented keys differ from the registry (empty: they agree)."""
    entry = corpus_entry_schema()
    enum, keys = entry["properties"]["format"]["enum"], set(entry["properties"])
    problems = [f"{name}: registered, not in the schema's format enum" for name in set(registry.FORMATS) - set(enum)]
    problems += [f"{name}: in the schema's format enum, not registered" for name in set(enum) - set(registry.FORMATS)]
    problems += [
        f"{fmt.name}: option {option!r} is not documented in corpora.schema.yaml"
        for fmt in registry.FORMATS.values()
        for option in set(fmt.options) - keys
    ]
    return sorted(problems)


def test_the_schema_names_the_registered_formats_and_their_options() -> None:
    assert schema_disagreements() == []
    assert list(registry.FORMATS) == ["flickr8k", "places", "spokencoco"]


def test_each_format_is_registered_under_the_name_it_gives_itself() -> None:
    assert all(name == fmt.name and fmt.source for name, fmt in registry.FORMATS.items())


def test_the_world_writes_formats_the_loaders_read() -> None:
    """The world's writers (vgs.world.formats) are a subset of the registry, and its schema enum is theirs."""
    world = yaml.safe_load((SCHEMAS / "world.schema.yaml").read_text())
    enum = world["properties"]["corpora"]["additionalProperties"]["properties"]["format"]["enum"]
    assert set(enum) == set(WORLD_FORMATS) <= set(registry.FORMATS)


def test_an_unknown_format_is_named_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown corpus format 'nope'; expected one of flickr8k, places, spokencoco"):
        list_corpus({"format": "nope", "root": "x"})


# --- Following DESIGN.md's recipe: a throwaway format in one module and one line ---------------------------

# Step 1, the format's module: where the corpus comes from, its loader (a Listing: the manifest rows
# and every listed recording it leaves out, with the reason), and FORMAT.
TSV_SOURCE = "A test corpus: <root>/utterances.tsv (utt_id image wav text split), images/ and wavs/."
TSV_UNUSED = "of rows marked unused"


def load_tsv_corpus(root: str, image_root: str | None, audio_root: str | None, min_rows: int) -> Listing:
    listing = Path(root) / "utterances.tsv"
    rows, unused = [], []
    for number, line in enumerate(read_text(listing).splitlines()[1:], start=2):
        utt_id, image, wav, text, split = line.split("\t")
        wav_path = join_path(audio_root or Path(root) / "wavs", wav)
        if split == "unused":
            unused.append(
                {"utt_id": utt_id, "wav_path": wav_path, "reason": TSV_UNUSED, "entry": f"{listing}:{number}"}
            )
            continue
        rows.append(
            {
                "utt_id": utt_id,
                "image_id": Path(image).stem,
                "image_path": join_path(image_root or Path(root) / "images", image),
                "wav_path": wav_path,
                "text": text,
                "speaker": "",
                "split": split,
                "entry": f"{listing}:{number}",
            }
        )
    assert len(rows) >= min_rows
    return Listing(finish_manifest(rows, f"TSV corpus ({root})", TSV_SOURCE), excluded_frame(unused))


def read_tsv_corpus(spec: Mapping[str, Any]) -> Listing:
    return load_tsv_corpus(spec["root"], spec.get("image_root"), spec.get("audio_root"), spec.get("min_rows", 1))


TSV_FORMAT = CorpusFormat("tsvlist", read_tsv_corpus, TSV_SOURCE, {"min_rows": 1})


def test_a_format_added_by_the_recipe_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "corpus"
    lines = ["utt_id\timage\twav\ttext\tsplit"]
    for number, split in enumerate(["train", "train", "dev", "test", "unused"]):
        touch_image(root / "images" / f"im{number}.jpg")
        touch_wav(root / "wavs" / f"u{number}.wav")
        lines.append(f"u{number}\tim{number}.jpg\tu{number}.wav\tcaption {number}\t{split}")
    (root / "utterances.tsv").write_text("\n".join(lines) + "\n")

    # Step 2, the one line: the format in registry.FORMATS.
    monkeypatch.setitem(registry.FORMATS, TSV_FORMAT.name, TSV_FORMAT)
    results = tmp_path / "results"
    summary = load_corpus(
        {"format": "tsvlist", "root": str(root), "on_bad_audio": "stop", "max_rejected_fraction": 0.01},
        "mine",
        results / "manifest.tsv",
        results / "rejected.tsv",
        results / "stop.tsv",
        MIN_SAMPLES,
    )
    assert read_tsv(results / "manifest.tsv")["split"].tolist() == ["train", "train", "dev", "test"]
    assert read_tsv(results / "excluded.tsv").to_dict("records") == [
        {
            "utt_id": "u4",
            "wav_path": str(root / "wavs" / "u4.wav"),
            "reason": TSV_UNUSED,
            "entry": f"{root}/utterances.tsv:6",
        }
    ]
    assert (summary.listed, summary.kept, summary.excluded) == (5, 4, {TSV_UNUSED: 1})
    # Step 3: until the schema's format enum names it and documents its options, the test above fails.
    assert schema_disagreements() == [
        "tsvlist: option 'min_rows' is not documented in corpora.schema.yaml",
        "tsvlist: registered, not in the schema's format enum",
    ]
