"""STS ingestion in SentEval layout: real counts, the world layout, and every malformed-line case."""

from __future__ import annotations

from pathlib import Path

import pytest

from vgs.sts.senteval import STSFormatError, load_sts, year_label

PAPER_TABLE_1 = {
    ("2012", "MSRpar"): 750,
    ("2012", "MSRvid"): 750,
    ("2012", "SMTeuroparl"): 459,
    ("2012", "OnWN"): 750,
    ("2012", "SMTnews"): 399,
    ("2013", "FNWN"): 189,
    ("2013", "headlines"): 750,
    ("2013", "OnWN"): 561,
    ("2014", "deft-forum"): 450,
    ("2014", "deft-news"): 300,
    ("2014", "headlines"): 750,
    ("2014", "images"): 750,
    ("2014", "OnWN"): 750,
    ("2014", "tweet-news"): 750,
    ("2015", "answers-forums"): 375,
    ("2015", "answers-students"): 750,
    ("2015", "belief"): 375,
    ("2015", "headlines"): 750,
    ("2015", "images"): 750,
    ("2016", "answer-answer"): 254,
    ("2016", "headlines"): 249,
    ("2016", "plagiarism"): 230,
    ("2016", "postediting"): 244,
    ("2016", "question-question"): 209,
}


def write_subtask(root: Path, folder: str, subtask: str, inputs: bytes | str, golds: bytes | str) -> Path:
    directory = root / folder
    directory.mkdir(parents=True, exist_ok=True)
    for kind, content in (("input", inputs), ("gs", golds)):
        data = content.encode("utf-8") if isinstance(content, str) else content
        (directory / f"STS.{kind}.{subtask}.txt").write_bytes(data)
    return directory


def test_real_sts_matches_paper_table_1(shared_sts: Path) -> None:
    pairs = load_sts(shared_sts)
    counts = pairs.groupby(["year", "subtask"]).size().to_dict()
    assert counts == PAPER_TABLE_1
    assert len(pairs) == 12_544
    assert pairs["gold"].between(0, 5).all()


def test_world_layout_and_extra_columns(tmp_path: Path) -> None:
    write_subtask(tmp_path, "WORLD-en-test", "scenes", "a red cube .\ta blue cube .\textra\tcols\nx\ty\n", "3.2\n\n")
    pairs = load_sts(tmp_path)
    assert pairs[["year", "subtask", "line", "sent_a", "sent_b", "gold"]].values.tolist() == [
        ["WORLD", "scenes", 1, "a red cube .", "a blue cube .", 3.2]
    ]


def test_year_labels() -> None:
    assert year_label("STS12-en-test") == "2012"
    assert year_label("WORLD-en-test") == "WORLD"


@pytest.mark.parametrize(
    ("inputs", "golds", "message"),
    [
        ("only one column\n", "3\n", r"STS.input.t.txt:1: expected two tab-separated sentences"),
        ("a\tb\nc\td\n", "3\nhigh\n", r"STS.gs.t.txt:2: gold score 'high' is not a number"),
        ("a\tb\n", "5.5\n", r"STS.gs.t.txt:1: gold score 5.5 is outside"),
        ("a\tb\n", "-1\n", r"STS.gs.t.txt:1: gold score -1.0 is outside"),
        ("a\tb\n", "nan\n", r"STS.gs.t.txt:1: gold score nan is outside"),
        (b"a\tb\nc\xff\td\n", "1\n2\n", r"STS.input.t.txt:2: bytes that are not UTF-8"),
        ("a\tb\n", b"\xfe3\n", r"STS.gs.t.txt:1: bytes that are not UTF-8"),
        ("a\tb\nc\td\n", "1\n", r"1 gold lines for 2 sentence pairs"),
        ("a\t \n", "1\n", r"STS.input.t.txt:1: empty sentence"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, inputs, golds, message: str) -> None:
    write_subtask(tmp_path, "STS99-en-test", "t", inputs, golds)
    with pytest.raises(STSFormatError, match=message):
        load_sts(tmp_path)


def test_missing_gold_file_and_empty_root(tmp_path: Path) -> None:
    with pytest.raises(STSFormatError, match="no '\\*-en-test' folders"):
        load_sts(tmp_path)
    directory = tmp_path / "STS99-en-test"
    directory.mkdir()
    (directory / "STS.input.t.txt").write_text("a\tb\n")
    with pytest.raises(STSFormatError, match="gold file STS.gs.t.txt is missing"):
        load_sts(tmp_path)


def test_subtasks_restrict_the_collection_to_the_named_ones(shared_sts: Path) -> None:
    named = [("2012", "SMTnews"), ("2016", "question-question")]
    pairs = load_sts(shared_sts, subtasks=[f"{year}/{subtask}" for year, subtask in named])
    assert pairs.groupby(["year", "subtask"]).size().to_dict() == {key: PAPER_TABLE_1[key] for key in named}


def test_unknown_subtask_is_named_with_the_available_ones(tmp_path: Path) -> None:
    write_subtask(tmp_path, "STS16-en-test", "headlines", "a\tb\n", "1\n")
    with pytest.raises(STSFormatError, match=r"no subtask 2016/headline \(sts.sets.*available: 2016/headlines"):
        load_sts(tmp_path, subtasks=["2016/headline"])
