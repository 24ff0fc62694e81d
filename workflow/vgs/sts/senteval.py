"""Read STS collections in SentEval layout: ``<root>/<NAME>-en-test/STS.{input,gs}.<subtask>.txt``.

Why strict: every SpokenSTS number rests on these pairs, so a malformed line (too few columns,
a gold score that is not a number in [0, 5], bytes that are not UTF-8) stops the build with the
file and line named instead of silently shifting pairs against their scores. Pairs whose gold
line is empty carry no score (STS 2015/2016 distribute such pairs) and are dropped, as SentEval does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from vgs.io import PathLike

PAIR_COLUMNS = ["year", "subtask", "line", "sent_a", "sent_b", "gold"]
GOLD_RANGE = (0.0, 5.0)


class STSFormatError(ValueError):
    """A malformed STS file; the message names the file and line."""


def year_label(directory: str) -> str:
    """``STS12-en-test`` -> ``2012``; any other ``<NAME>-en-test`` -> ``NAME`` (e.g. ``WORLD``)."""
    name = directory.removesuffix("-en-test")
    match = re.fullmatch(r"STS(\d{2})", name)
    return f"20{match.group(1)}" if match else name


def subtask_label(stem: str) -> str:
    """Subtask name as in the paper: SemEval 2012 prefixes unannounced test sets with ``surprise.``."""
    return stem.removeprefix("surprise.")


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 file without line terminators; undecodable bytes name the line."""
    raw = path.read_bytes().split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    lines = []
    for number, line in enumerate(raw, start=1):
        try:
            lines.append(line.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError as error:
            raise STSFormatError(
                f"{path}:{number}: bytes that are not UTF-8 ({error.reason} at column {error.start + 1}); "
                "re-encode the file as UTF-8"
            ) from None
    return lines


def parse_gold(text: str, path: Path, number: int) -> float | None:
    """A gold score in [0, 5], or ``None`` for an empty line (pair without a score)."""
    text = text.strip()
    if not text:
        return None
    try:
        score = float(text)
    except ValueError:
        raise STSFormatError(f"{path}:{number}: gold score {text!r} is not a number") from None
    if not math.isfinite(score) or not GOLD_RANGE[0] <= score <= GOLD_RANGE[1]:
        raise STSFormatError(f"{path}:{number}: gold score {score} is outside {list(GOLD_RANGE)}")
    return score


def load_subtask(input_path: Path, gold_path: Path, year: str) -> pd.DataFrame:
    """Scored pairs of one subtask, with the 1-based line number of each pair in its files."""
    if not gold_path.is_file():
        raise STSFormatError(f"{input_path}: gold file {gold_path.name} is missing beside it")
    inputs, golds = read_lines(input_path), read_lines(gold_path)
    if len(inputs) != len(golds):
        raise STSFormatError(
            f"{gold_path}: {len(golds)} gold lines for {len(inputs)} sentence pairs in {input_path.name}; "
            "each input line needs a gold line (empty for an unscored pair)"
        )
    subtask = subtask_label(input_path.name.removeprefix("STS.input.").removesuffix(".txt"))
    rows = []
    for number, (line, gold_text) in enumerate(zip(inputs, golds, strict=True), start=1):
        columns = line.split("\t")
        if len(columns) < 2:
            raise STSFormatError(
                f"{input_path}:{number}: expected two tab-separated sentences, found {len(columns)} column(s)"
            )
        gold = parse_gold(gold_text, gold_path, number)
        if gold is None:
            continue
        sent_a, sent_b = columns[0].strip(), columns[1].strip()
        if not sent_a or not sent_b:
            raise STSFormatError(f"{input_path}:{number}: empty sentence in a scored pair")
        rows.append((year, subtask, number, sent_a, sent_b, gold))
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def _keep_subtasks(pairs: pd.DataFrame, subtasks: Sequence[str], root: Path) -> pd.DataFrame:
    """The pairs of the named ``<year>/<subtask>`` labels; unknown names stop the build."""
    labels = pairs["year"] + "/" + pairs["subtask"]
    unknown = sorted(set(subtasks) - set(labels))
    if unknown:
        raise STSFormatError(
            f"{root}: no subtask {', '.join(unknown)} (sts.sets.<name>.subtasks); available: "
            f"{', '.join(sorted(set(labels)))}"
        )
    return pairs[labels.isin(set(subtasks))].reset_index(drop=True)


def load_sts(root: PathLike, subtasks: Sequence[str] | None = None) -> pd.DataFrame:
    """All scored pairs under ``root`` (every ``*-en-test`` folder), ordered by year and subtask.

    ``subtasks`` (``"<year>/<subtask>"`` labels such as ``"2016/headlines"``) keeps only those,
    so a rehearsal can run the real text at a fraction of its size; a name that matches nothing
    stops with the available names rather than silently shrinking the benchmark further.
    Columns: year, subtask, line, sent_a, sent_b, gold.
    """
    root = Path(root)
    folders = sorted(path for path in root.glob("*-en-test") if path.is_dir())
    if not folders:
        raise STSFormatError(
            f"{root}: no '*-en-test' folders in SentEval layout; set sts.sets.<name>.download: true "
            "in config.yaml to fetch STS 2012-2016, or point root at a SentEval STS folder"
        )
    frames = []
    for folder in folders:
        inputs = sorted(folder.glob("STS.input.*.txt"))
        if not inputs:
            raise STSFormatError(f"{folder}: no STS.input.<subtask>.txt files")
        year = year_label(folder.name)
        for input_path in inputs:
            gold_path = folder / input_path.name.replace("STS.input.", "STS.gs.", 1)
            frames.append(load_subtask(input_path, gold_path, year))
    pairs = pd.concat(frames, ignore_index=True)
    if subtasks is not None:
        pairs = _keep_subtasks(pairs, subtasks, root)
    duplicated = pairs.duplicated(["year", "subtask", "line"])
    if duplicated.any():
        first = pairs[duplicated].iloc[0]
        raise STSFormatError(f"{root}: subtask {first.subtask} appears twice in {first.year}")
    return pairs
