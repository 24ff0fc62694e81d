"""The corpus formats, by the name ``corpora.<name>.format`` gives: the one list to extend.

Why a registry: each format is one module (its loader, where the corpus comes from, the options only
it reads; :class:`vgs.corpora.manifest.CorpusFormat`), and loading dispatches through this list
instead of an ``if`` chain, so a new format is a new module and one line here. The configuration
schema's ``format`` enum (workflow/schemas/corpora.schema.yaml) must name the same formats and
document their options; tests/test_corpora_registry.py fails until it does. workflow/DESIGN.md,
"Adding a corpus format", is the recipe.
"""

from __future__ import annotations

from vgs.corpora import flickr8k, places, spokencoco
from vgs.corpora.manifest import CorpusFormat

FORMATS: dict[str, CorpusFormat] = {fmt.name: fmt for fmt in (flickr8k.FORMAT, places.FORMAT, spokencoco.FORMAT)}


def corpus_format(name: str) -> CorpusFormat:
    """The format called ``name``; an unknown name is an error listing the known ones."""
    if name not in FORMATS:
        raise ValueError(f"unknown corpus format {name!r}; expected one of {', '.join(FORMATS)}")
    return FORMATS[name]
