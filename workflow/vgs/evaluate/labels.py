"""What the natural-speech sample is called: "Natural speech" only when people spoke it.

The paper's natural-speech sample is 638 pairs recorded by people. Offline, or without those
recordings, synthetic voices stand in for them (``sts.natural.source: synthetic``), and every
table, figure and caption must say so instead of calling that speech natural. This module is the
one place that decides which ``sts.natural.source`` values are human speech.
"""

from __future__ import annotations

#: Sources of the natural-speech sample that are human recordings: the user's own recordings and
#: the released SpokenSTS recordings. Every other source is synthetic.
HUMAN_SOURCES = frozenset({"recordings", "spokensts"})
NATURAL_SPEECH = "Natural speech"
SYNTHETIC_STAND_IN = "Synthetic stand-in (natural-speech pairs)"


def is_human_speech(source: str) -> bool:
    """Whether the natural-speech sample of ``sts.natural.source`` was spoken by people."""
    return source in HUMAN_SOURCES


def natural_label(source: str) -> str:
    """Short label of the natural-speech sample (table rows, figure ticks and legends)."""
    return NATURAL_SPEECH if is_human_speech(source) else SYNTHETIC_STAND_IN


def natural_description(source: str) -> str:
    """One phrase for captions: what the natural-speech sample's audio is."""
    if is_human_speech(source):
        return "the natural-speech sample, recorded by people"
    return (
        "the natural-speech sample's pairs spoken by synthetic voices used nowhere else, standing in for "
        "the human recordings (synthetic speech, not natural speech)"
    )
