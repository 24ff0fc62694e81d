"""Frame lengths of the MFCC recipe in samples, without torch, so rule files and the corpus check
(which refuses audio shorter than one analysis window before any feature job) compute them
exactly as the MFCC stage does.
"""

from __future__ import annotations

import math

SAMPLE_RATE = 16_000  # every utterance is resampled to this rate before its MFCCs are computed


def round_half_up(value: float) -> int:
    """psf's rounding of window and hop lengths in samples (Python's ``round`` rounds halves to even)."""
    return math.floor(value + 0.5)


def ms_to_samples(milliseconds: float) -> int:
    """Length of a window or hop of ``milliseconds`` at :data:`SAMPLE_RATE`, rounded as psf rounds."""
    return round_half_up(SAMPLE_RATE * milliseconds / 1000)
