"""SentEval's STS text (vgs.sts.tokenise): hand-derived cases, and every line of SentEval's files.

The line-by-line check needs the official (cased) archives in SentEval layout, as
``sts_download`` writes them with ``text: official``; point ``STS_OFFICIAL_ROOT`` at that folder.
SentEval's own output is ``../shared/data/sts``. Lines that differ for a known reason (the
nonbreaking-prefix list of SentEval's Moses checkout, see vgs.sts.tokenise) are listed in
``tests/data/senteval_residuals.tsv``; any other differing line fails, and so does a listed line
that now matches (the list must stay exact).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import skip_or_fail_in_ci
from vgs.sts.download import download_text_forms, unpack_archive
from vgs.sts.senteval import read_lines
from vgs.sts.tokenise import senteval_line, senteval_sentence

RESIDUALS = Path(__file__).parent / "data" / "senteval_residuals.tsv"
SUBTASKS = {
    "STS12": ["MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"],
    "STS13": ["FNWN", "headlines", "OnWN"],
    "STS14": ["deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"],
    "STS15": ["answers-forums", "answers-students", "belief", "headlines", "images"],
    "STS16": ["answer-answer", "headlines", "plagiarism", "postediting", "question-question"],
}


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


def _residuals() -> set[tuple[str, str, int]]:
    table = pd.read_csv(RESIDUALS, sep="\t", dtype={"task": str, "subtask": str, "line": int})
    return set(zip(table["task"], table["subtask"], table["line"]))


@pytest.mark.parametrize(
    ("task", "subtask"), [(task, subtask) for task, names in SUBTASKS.items() for subtask in names]
)
def test_every_line_matches_sentevals_files(shared_sts: Path, task: str, subtask: str) -> None:
    official_root = os.environ.get("STS_OFFICIAL_ROOT")
    if not official_root:
        skip_or_fail_in_ci("STS_OFFICIAL_ROOT is not set (the official STS archives, text: official)")
    official = Path(official_root) / f"{task}-en-test" / f"STS.input.{subtask}.txt"
    if not official.is_file():
        skip_or_fail_in_ci(f"{official} is missing")
    senteval = read_lines(shared_sts / f"{task}-en-test" / f"STS.input.{subtask}.txt")
    ours = [senteval_line(line) for line in read_lines(official)]
    assert len(ours) == len(senteval), f"{official}: {len(ours)} lines, SentEval's file {len(senteval)}"
    known = {line for name, sub, line in _residuals() if (name, sub) == (task, subtask)}
    differing = {number for number, (a, b) in enumerate(zip(ours, senteval), start=1) if a != b}
    unexpected = [
        f"line {number}:\n  senteval {senteval[number - 1]!r}\n  ours     {ours[number - 1]!r}"
        for number in sorted(differing - known)
    ]
    stale = sorted(known - differing)
    assert not unexpected and not stale, (
        f"{task}/{subtask}: {len(unexpected)} line(s) differ from SentEval's file\n"
        + "\n".join(unexpected)
        + (f"\nlisted in {RESIDUALS.name} but now equal: {stale}" if stale else "")
    )
