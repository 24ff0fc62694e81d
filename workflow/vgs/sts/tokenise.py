"""SentEval's form of the STS text: Moses-tokenised and lower-cased, as the paper's TTS input.

Why: the paper takes the STS sets "included in the SentEval toolbox", whose data script cuts the
first two columns of every ``STS.input`` file, runs each through Moses' ``tokenizer.perl -l en
-no-escape`` and lower-cases the result. The paper's own examples show that text (a space before a
closing quote, ``usa``), and the normalisation rules (:mod:`vgs.tts.normalise`) are written for it.

The tokeniser is sacremoses (pinned in requirements.txt) with two changes, each found by comparing
its output line by line with SentEval's files (``tests/test_sts_tokenise.py``):

* the last word of a line loses its final period even after an abbreviation (``about B.`` ->
  ``about b .``), as ``tokenizer.perl`` does and sacremoses does not;
* every apostrophe between two characters is spaced on both sides (``it's`` -> ``it ' s``, not
  Moses-English ``it 's``); one at either end of a line stays attached (``'poof``).

What remains different is the nonbreaking-prefix list of SentEval's Moses checkout (``No. 2`` and
``Dec. 4`` were split, single capitals before punctuation too): 55 of the 25,291 lines compared
(23 subtasks; cased text from a public copy of the archives, the server being unreachable), listed
in ``tests/data/senteval_residuals.tsv``. Cost at the paper's size: ~25,000 input lines, a few
seconds, once per download.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sacremoses import MosesTokenizer

from vgs.io import write_text_atomic
from vgs.sts.senteval import read_lines

_INNER_APOSTROPHE = re.compile(r"(?<=.)'(?=.)")
_FINAL_PERIOD = re.compile(r"^(\S+)\.$")


class _SentEvalMoses(MosesTokenizer):  # type: ignore[misc]
    """sacremoses' Moses tokeniser with the final-word period split of ``tokenizer.perl``."""

    def handles_nonbreaking_prefixes(self, text: str) -> str:
        tokens = super().handles_nonbreaking_prefixes(text).split()
        if tokens and (match := _FINAL_PERIOD.match(tokens[-1])):
            tokens[-1] = f"{match.group(1)} ."
        return " ".join(tokens)


@cache
def _tokeniser() -> _SentEvalMoses:
    return _SentEvalMoses(lang="en")


def senteval_sentence(text: str) -> str:
    """One sentence as SentEval's data script writes it: Moses-tokenised, unescaped, lower-cased."""
    if not text.strip():
        return text
    spaced = _INNER_APOSTROPHE.sub(" ' ", text)
    return str(_tokeniser().tokenize(spaced, escape=False, return_str=True)).lower()


def senteval_line(line: str) -> str:
    """One ``STS.input`` line in SentEval's form: its first two columns, each tokenised.

    Like ``cut -f1`` / ``cut -f2``, a line without a tab gives the whole line for both columns, and
    further columns (2015/2016 carry source names) are dropped.
    """
    columns = line.split("\t")
    first, second = columns[0], columns[1] if len(columns) > 1 else columns[0]
    return f"{senteval_sentence(first)}\t{senteval_sentence(second)}"


def tokenise_input_file(path: Path) -> int:
    """Rewrite one ``STS.input`` file in SentEval's form in place; return its number of lines.

    Undecodable bytes stop with the file and line named (:func:`vgs.sts.senteval.read_lines`).
    """
    lines = [senteval_line(line) for line in read_lines(path)]
    write_text_atomic(path, "".join(f"{line}\n" for line in lines))
    return len(lines)
