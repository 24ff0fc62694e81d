"""Checks of what a corpus WAV holds, after its header passed :mod:`vgs.corpora.audio_check`.

Why at load time, not at the MFCC stage: a content fault found there fails its whole shard after
loading "succeeded", and ``on_bad_audio: skip`` could not set the file aside without every later
stage (training, encoding, evaluation) learning to drop utterances its manifest lists. Found here,
the file is stopped on or rejected and listed in ``rejected.tsv`` like a header fault, and the MFCC
stage only ever sees files it can use.

What is read, and why that is enough:

- Integer PCM (``PCM_16`` and the like; every WAV of Flickr8k, Places and SpokenCOCO): every byte
  pattern is a valid sample and the header check has made sure the bytes are there, so decoding
  cannot fail and no sample can be NaN. Only the first :data:`PROBE_SECONDS` are read, for the level
  check below: 0.4 ms per file measured (one core, 4 s 16-bit files on local disk; the header check
  takes 0.55 ms), so about 4 min of one core for SpokenCOCO's 605k files, less in the thread pool.
- Float and compressed data (``FLOAT``, ``DOUBLE``, ADPCM, GSM, MP3): a float can be NaN or infinite
  and a codec can fail half-way, so the whole file is decoded as the MFCC stage will decode it. At
  SpokenCOCO's 742 h this would read about 85 GB, but none of the releases' files is of this kind.

The level check catches 8-bit data under a header that says 16-bit. Nothing in such a header is
inconsistent: the file decodes to half as many samples, and every pair of unsigned 8-bit samples,
both near the 8-bit midpoint 128, makes one 16-bit sample near full scale (bytes 0x80 0x80 read as
-32640). Speech is far below: on the espeak-ng miniatures (synthetic speech) the median level of the
first quarter second is 0.017-0.051 of full scale and 2-4% of its samples exceed :data:`LOUD_LEVEL`.
More than half of the samples above it (a median above it) is such a file, random bytes behind a
valid header (60%), a large DC offset or continuous clipping, none of which gives usable features.
Known limit: 8-bit data that start with loud sound far from the midpoint can stay below and pass;
a caption-length check (duration against transcript length) was not added: it would need a
speaking rate per corpus that tells a halving from natural variation, which spontaneous captions
with long pauses (Places) and captions without a transcript make unreliable (not measured here).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import soundfile

# Subtypes whose every byte pattern decodes to a finite sample.
INTEGER_SUBTYPES = frozenset({"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "ULAW", "ALAW"})
PROBE_SECONDS = 0.25
LOUD_LEVEL = 0.4  # fraction of full scale


def content_problem(path: str) -> str | None:
    """Why the samples of ``path`` (whose header is sound) cannot give features, or None."""
    try:
        with soundfile.SoundFile(path) as audio:
            whole = audio.subtype not in INTEGER_SUBTYPES
            probe_frames = max(1, round(PROBE_SECONDS * audio.samplerate))
            samples = audio.read(audio.frames if whole else probe_frames, dtype="float32", always_2d=True)
            subtype = audio.subtype
    except (soundfile.LibsndfileError, RuntimeError) as error:
        return f"undecodable audio data ({getattr(error, 'error_string', None) or error})"
    bad = int(samples.size - np.isfinite(samples).sum())
    if bad:
        return f"{bad} NaN or infinite samples ({subtype} data); the file is damaged: re-create it"
    loud = float(np.mean(np.abs(samples[:probe_frames]) > LOUD_LEVEL))  # a median, without the sort
    if loud > 0.5:
        return (
            f"not speech: {loud:.0%} of the samples of the first {PROBE_SECONDS} s are above {LOUD_LEVEL} of full "
            f"scale ({subtype}); random bytes, 8-bit data under a 16-bit header, a large DC offset or clipping"
        )
    return None


def content_problems(paths: Sequence[str], workers: int = 8) -> list[str | None]:
    """:func:`content_problem` of every path, in order (a thread pool, as for the header checks)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(content_problem, paths))
