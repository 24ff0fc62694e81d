"""Each TTS normalisation rule, the change table, and the rules on real STS text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vgs.tts.normalise import normalisation_table, normalise


@pytest.mark.parametrize(
    ("text", "expected", "rules"),
    [
        ('he said " it is on the beat . "', 'he said " it is on the beat ."', ["final_quote"]),
        ("we live in the usa .", "we live in the U.S.A. .", ["lowercase_abbreviation"]),
        ("the fbi's agents", "the F.B.I.'s agents", ["lowercase_abbreviation"]),
        ("usage of us", "usage of us", []),
        ("a <b>bold</b> &amp; bright day", "a bold and bright day", ["markup", "symbols"]),
        # SentEval's tokeniser splits entities apart.
        ("' fast & amp ; furious ' star", "' fast and furious ' star", ["markup", "symbols"]),
        ("what ! ! ! really ...", "what ! really .", ["repeated_punctuation"]),
        ("palm--and more", "palm - and more", ["repeated_punctuation"]),
        ("israel doesn ' t care", "israel doesn't care", ["detached_apostrophe"]),
        ("egypt ’ s church", "egypt's church", ["typographic_quotes", "detached_apostrophe"]),
        ("22 % of * them * # ok", "22 percent of them ok", ["symbols"]),
        ("* * * *", "* * * *", []),
        ("a\u0007b  c", "ab c", ["whitespace", "control_characters"]),
        ("plain sentence .", "plain sentence .", []),
    ],
)
def test_rules(text: str, expected: str, rules: list[str]) -> None:
    assert normalise(text) == (expected, rules)


def test_change_table_lists_only_changed_sentences_once() -> None:
    mapping, table = normalisation_table(["usa !", "plain .", "usa !"])
    assert mapping == {"usa !": "U.S.A. !", "plain .": "plain ."}
    assert table.to_dict("records") == [
        {"original": "usa !", "normalised": "U.S.A. !", "rules": "lowercase_abbreviation"}
    ]


def test_real_sts_normalisation_is_minimal(shared_sts: Path) -> None:
    from vgs.sts.senteval import load_sts

    pairs = load_sts(shared_sts)
    texts = list(pairs["sent_a"]) + list(pairs["sent_b"])
    mapping, table = normalisation_table(texts)
    # Minimal: most sentences untouched, none emptied, every change names a rule.
    assert 0 < len(table) < 0.25 * len(mapping)
    assert all(mapping.values())
    assert (table["rules"] != "").all()
    assert not any(re.search(r'[.!?]\s+"$', text) for text in mapping.values())
    assert any(re.search(r'[.!?]\s+"$', text) for text in mapping)
