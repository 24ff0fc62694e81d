"""SentEval's STS text (vgs.sts.tokenise): hand-derived cases and the download's two text forms.

The line-by-line comparison with SentEval's files needs the official archives:
``tests/test_sts_official_text.py``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from vgs.sts.download import download_text_forms, unpack_archive
from vgs.sts.tokenise import senteval_line, senteval_sentence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Moses: punctuation split off, thousands separator kept, lower-cased afterwards.
        ('The USA said "no," at 5,300 feet.', 'the usa said " no , " at 5,300 feet .'),
        # An apostrophe inside a line is spaced on both sides; one at either end stays attached.
        ("'Tis John's dog, isn't it'", "'tis john ' s dog , isn ' t it'"),
        # The last word loses its period even after a nonbreaking prefix (B is one); Mr. keeps it.
        ("Ask Mr. Smith about B.", "ask mr. smith about b ."),
        # Dotted abbreviations inside the line stay whole; multi-dots stay together.
        ("The U.S. team won... again.", "the u.s. team won ... again ."),
    ],
)
def test_sentence_as_senteval_writes_it(text: str, expected: str) -> None:
    assert senteval_sentence(text) == expected


def test_line_keeps_two_columns_like_cut() -> None:
    assert senteval_line("A b.\tC d.\tsource-1\tsource-2") == "a b .\tc d ."
    assert senteval_line("No tab here.") == "no tab here .\tno tab here ."
    assert senteval_line("") == "\t"


def test_download_writes_senteval_text_by_default_and_official_on_request(tmp_path: Path) -> None:
    zip_path = tmp_path / "16.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("f/STS2016.input.headlines.txt", "It's A.\tB's C.\tsrc\n")
        archive.writestr("f/STS2016.gs.headlines.txt", "3\n")
    for text, expected in (("senteval", "it ' s a .\tb ' s c .\n"), ("official", "It's A.\tB's C.\tsrc\n")):
        root = tmp_path / text
        root.mkdir()
        unpack_archive(zip_path, "STS16", "f", root, text)
        assert (root / "STS16-en-test" / "STS.input.headlines.txt").read_text() == expected


def test_sets_sharing_a_downloaded_root_must_agree_on_the_text() -> None:
    sets = {"a": {"root": "r", "download": True}, "b": {"root": "r", "download": True, "text": "official"}}
    with pytest.raises(ValueError, match="sts.sets.b.text: root r is downloaded by another set"):
        download_text_forms(sets)
    assert download_text_forms({**sets, "b": {"root": "s", "download": True, "text": "official"}}) == {
        "r": "senteval",
        "s": "official",
    }
