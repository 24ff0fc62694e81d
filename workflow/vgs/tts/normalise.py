"""The minimal, rule-based text normalisation applied before speech synthesis.

Why minimal and named: the paper changed the STS text only where TTS engines mispronounce it
(a space between a final period and a closing quote is read out as "quote", lower-case
abbreviations such as "usa" are read as words, markup and runs of punctuation or symbols are read
out as "asterisk asterisk ..."). Every change is made by one named rule, so the table of changed
sentences (:func:`normalisation_table`) says exactly why each sentence differs from the original.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable

import pandas as pd

# Lower-case abbreviations in STS text that engines read as words; spelled out as dotted capitals.
ABBREVIATIONS = frozenset(
    {
        "usa",
        "uk",
        "un",
        "eu",
        "fbi",
        "cia",
        "nsa",
        "bbc",
        "cnn",
        "nba",
        "nfl",
        "gop",
        "dna",
        "ceo",
        "cdc",
        "imf",
        "irs",
        "ibm",
        "nyc",
        "mp",
        "mps",
        "tv",
        "pc",
        "uae",
        "ussr",
        "iaea",
        "wto",
        "hiv",
    }
)
_SYMBOL_WORDS = {
    "%": " percent ",
    "&": " and ",
    "@": " at ",
    "+": " plus ",
    "=": " equals ",
    "°": " degrees ",
    "€": " euros ",
    "£": " pounds ",
    "…": ". ",
}
_STRAY_SYMBOLS = "*#~^|_\\[]{}<>•ˇ˝˚`"
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "‘": "'", "’": "'", "‚": "'", "‛": "'", "´": "'"})


def control_characters(text: str) -> str:
    """Drop invisible control and format characters (engines may read or choke on them)."""
    return "".join(
        " " if char in "\t\n\r" else char
        for char in text
        if unicodedata.category(char) not in {"Cc", "Cf"} or char in "\t\n\r"
    )


def markup(text: str) -> str:
    """Decode HTML entities and remove HTML/XML tags left in scraped text.

    Entities come whole (``&amp;``) or, in SentEval's tokenised text, split (``& amp ;``, 14 times
    in STS 2012-2016), which the engine would read as "and amp".
    """
    rejoined = re.sub(r"&\s?(amp|quot|lt|gt|apos|#\d+)\s?;", r"&\1;", text)
    return re.sub(r"</?[A-Za-z][^<>]{0,60}>", " ", html.unescape(rejoined))


def typographic_quotes(text: str) -> str:
    """Curly quotes and accents used as apostrophes become plain ``"`` and ``'``."""
    return text.translate(_QUOTES)


def detached_apostrophe(text: str) -> str:
    """Re-attach tokenised clitics (``doesn ' t`` -> ``doesn't``), else read as a letter 't'."""
    return re.sub(r"(\w) ?' (s|t|re|ve|ll|d|m)\b", r"\1'\2", text, flags=re.IGNORECASE)


def repeated_punctuation(text: str) -> str:
    """Collapse runs of the same punctuation mark (``! ! !``, ``...``, ``* * *``) to one.

    A double hyphen is a dash (``palm--and``): it becomes a spaced dash, i.e. a pause.
    """
    text = re.sub(r"-{2,}", " - ", text)
    return re.sub(r"([!?.,;:*#~_=|])(?:\s*\1)+", r"\1", text)


def symbols(text: str) -> str:
    """Say symbols as words (``%`` -> percent, ``&`` -> and); drop stray markup symbols."""
    for symbol, word in _SYMBOL_WORDS.items():
        text = text.replace(symbol, word)
    return text.translate({ord(char): " " for char in _STRAY_SYMBOLS})


def final_quote(text: str) -> str:
    """Remove the space between a final ``.``/``!``/``?`` and a closing quote (read as "quote")."""
    return re.sub(r"([.!?])\s+([\"'])\s*$", r"\1\2", text)


def lowercase_abbreviation(text: str) -> str:
    """Spell out lower-case abbreviations (``usa`` -> ``U.S.A.``) so engines say the letters."""

    def spell(match: re.Match[str]) -> str:
        word = match.group(0)
        return ".".join(word.upper()) + "." if word in ABBREVIATIONS else word

    return re.sub(r"(?<![\w.'])[a-z]{2,4}(?!\w)", spell, text)


RULES: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("control_characters", control_characters),
    ("markup", markup),
    ("typographic_quotes", typographic_quotes),
    ("detached_apostrophe", detached_apostrophe),
    ("repeated_punctuation", repeated_punctuation),
    ("symbols", symbols),
    ("repeated_punctuation_after_symbols", repeated_punctuation),
    ("final_quote", final_quote),
    ("lowercase_abbreviation", lowercase_abbreviation),
)


def squeeze(text: str) -> str:
    """Collapse whitespace runs and trim (the spacing rules leave behind)."""
    return " ".join(text.split())


def normalise(text: str) -> tuple[str, list[str]]:
    """Apply every rule in order; return the text and the names of the rules that changed it.

    Whitespace runs are squeezed first (reported as ``whitespace``) and after every rule, so a
    rule counts as applied only when it changed more than spacing. Symbols can leave runs of
    punctuation behind, so ``repeated_punctuation`` runs again after ``symbols``.

    A sentence that would become empty (only symbols) keeps its squeezed original text, so no
    sentence is lost and the engine still says something.
    """
    current = squeeze(text)
    applied = ["whitespace"] if current != text else []
    for name, rule in RULES:
        changed = squeeze(rule(current))
        if changed != current:
            applied.append(name.removesuffix("_after_symbols"))
            current = changed
    if not current:
        return squeeze(text), []
    return current, list(dict.fromkeys(applied))


def normalisation_table(texts: Iterable[str]) -> tuple[dict[str, str], pd.DataFrame]:
    """Normalise unique ``texts``; return original -> normalised and the table of changes.

    The table has one row per changed original: ``original``, ``normalised``, ``rules``
    (comma-separated rule names in the order applied).
    """
    mapping: dict[str, str] = {}
    changes = []
    for original in dict.fromkeys(texts):
        normalised, rules = normalise(original)
        mapping[original] = normalised
        if normalised != original:
            changes.append((original, normalised, ",".join(rules)))
    return mapping, pd.DataFrame(changes, columns=["original", "normalised", "rules"])


def comparison_key(text: str) -> str:
    """What two spellings of one sentence share: the normalised text, case-folded, letters and digits only.

    Why so loose: released SpokenSTS texts may be the original or the SentEval-tokenised spelling
    (``it's`` / ``it ' s``); only the words matter to tell which STS sentence was read.
    """
    return re.sub(r"[\W_]+", "", normalise(text)[0].casefold())
