"""Header checks of every corpus WAV, run when the corpus is loaded.

Why at load time: a broken file found by the MFCC stage fails a whole shard after corpus loading
"succeeded"; found here, it is reported (or set aside, see :mod:`vgs.corpora.screening`) before any
feature job starts. Only headers are read, so 400k files take seconds to minutes, not hours.

Two readers, because neither alone sees every fault: libsndfile (``soundfile.SoundFile``) says whether
the MFCC stage can open the file and how many frames it will get, but silently clips a data chunk
that is longer than the file to the whole frames present (a truncated download then yields a
fraction of the caption's features); the RIFF chunk walk reads the header's declared sizes to catch that.

A data chunk longer than the file has two causes, told apart by the header's other size field.
A download cut short loses bytes at the end but keeps the header, whose RIFF size (the file length
the writer recorded) still leaves room for the declared data: such a file is **truncated** and
refused. A data size larger than the RIFF size of the same header leaves room for cannot come from a
cut; the writer got the header wrong (the authors' preprocessing repairs one such Flickr8k file).
Such a file is **repaired**: read as what it holds, which is what libsndfile, and so the MFCC stage,
reads anyway, provided the data end on a whole frame and every frame decodes. The file itself is
never rewritten. A header whose two sizes agree and describe a longer file looks exactly like a cut
download and is refused: no header check can tell the two apart.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import soundfile

from vgs.features.frames import SAMPLE_RATE as MFCC_SAMPLE_RATE
from vgs.io import PathLike

STREAMED_SIZE = 0xFFFFFFFF  # data size written by streaming encoders that cannot seek back: "unknown"
CHUNK_HEADER = struct.Struct("<4sI")
FMT_BLOCK_ALIGN = struct.Struct("<HHIIH")  # format tag, channels, rate, byte rate, bytes per frame
RIFF_PREAMBLE = 8  # "RIFF" and the size field, which counts the bytes after them


@dataclass(frozen=True)
class DataChunk:
    """The data chunk of a RIFF/WAVE file: what its header declares and what the file holds (bytes)."""

    declared: int  # the data chunk's size field
    present: int  # bytes of the file after the data chunk's header
    room: int  # bytes the RIFF size leaves for the data chunk's body (negative when none)
    block_align: int  # bytes per frame

    @property
    def overruns_file(self) -> bool:
        """The header declares more data than the file holds."""
        return self.declared > self.present

    @property
    def header_contradicts_itself(self) -> bool:
        """The data size exceeds what the RIFF size leaves room for: a cut cannot do that."""
        return self.declared > self.room


@dataclass(frozen=True)
class HeaderRepair:
    """A WAV read as what it holds although its header declares more (see the module docstring)."""

    declared_s: float
    actual_s: float


@dataclass(frozen=True)
class AudioCheck:
    """Outcome of :func:`check_audio`: why the file is unusable, or how it is read despite its header."""

    problem: str | None = None
    repair: HeaderRepair | None = None


def riff_data_chunk(path: PathLike) -> DataChunk | None:
    """The data chunk of a RIFF/WAVE file.

    None when the file is not RIFF/WAVE, the size is unknown (streamed) or the chunks cannot be
    walked; libsndfile then has the last word.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != b"WAVE":
            return None
        riff_end = RIFF_PREAMBLE + struct.unpack("<I", head[4:8])[0]
        size = os.fstat(handle.fileno()).st_size
        offset, block_align = 12, 0
        while offset + CHUNK_HEADER.size <= size:
            handle.seek(offset)
            chunk_id, chunk_size = CHUNK_HEADER.unpack(handle.read(CHUNK_HEADER.size))
            body = offset + CHUNK_HEADER.size
            if chunk_id == b"fmt ":
                fields = handle.read(FMT_BLOCK_ALIGN.size)
                if len(fields) == FMT_BLOCK_ALIGN.size:
                    block_align = FMT_BLOCK_ALIGN.unpack(fields)[4]
            elif chunk_id == b"data":
                if not block_align or chunk_size == STREAMED_SIZE:
                    return None
                return DataChunk(chunk_size, size - body, riff_end - body, block_align)
            offset = body + chunk_size + (chunk_size & 1)  # chunks are padded to even sizes
    return None


def repair_problem(path: str, chunk: DataChunk, frames: int) -> str | None:
    """Why a file whose header contradicts itself cannot be read as what it holds, or None.

    ``frames`` is what libsndfile (the MFCC stage's reader) reports. Every frame is decoded here:
    these files are rare (one in Flickr8k), so the full read costs nothing at corpus scale.
    """
    whole, partial = divmod(chunk.present, chunk.block_align)
    if partial:
        return (
            f"damaged: the header's sizes contradict each other and the data end inside a frame "
            f"({partial} of {chunk.block_align} bytes)"
        )
    if frames != whole:
        return f"damaged: the header's sizes contradict each other and libsndfile reads {frames} of {whole} frames"
    try:
        samples, _ = soundfile.read(path, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError) as error:
        return f"damaged: the header's sizes contradict each other and the data do not decode ({error})"
    if len(samples) != whole or not np.isfinite(samples).all():
        return "damaged: the header's sizes contradict each other and the data do not decode to finite samples"
    return None


def check_audio(path: str, min_samples: int) -> AudioCheck:
    """Whether ``path`` can give MFCC features (missing, empty, unreadable, truncated, too short) and
    whether it is read despite a wrong header.

    ``min_samples`` is the shortest usable utterance in samples at 16 kHz: one MFCC analysis window
    (``features.mfcc.window_ms``), below which the MFCC stage refuses a file after resampling it to 16 kHz.
    """
    try:
        if os.path.getsize(path) == 0:
            return AudioCheck("empty file (0 bytes)")
        with soundfile.SoundFile(path) as audio:  # faster than soundfile.info, which reads more
            frames, rate = audio.frames, audio.samplerate
        chunk = riff_data_chunk(path)
    except FileNotFoundError:
        return AudioCheck("file missing")
    except OSError as error:
        return AudioCheck(f"cannot open the file ({error.strerror})")
    except (soundfile.LibsndfileError, RuntimeError) as error:
        return AudioCheck(f"unreadable audio header ({getattr(error, 'error_string', None) or error})")
    repair = None
    if chunk is not None and chunk.overruns_file:
        declared_s = chunk.declared // chunk.block_align / rate
        actual_s = chunk.present // chunk.block_align / rate
        if not chunk.header_contradicts_itself:
            return AudioCheck(
                f"truncated: the header declares {declared_s:.3f} s of audio, the file holds {actual_s:.3f} s"
            )
        problem = repair_problem(path, chunk, frames)
        if problem is not None:
            return AudioCheck(problem)
        repair = HeaderRepair(declared_s, actual_s)
    if frames == 0:
        return AudioCheck("no audio frames (header only)")
    if math.ceil(frames * MFCC_SAMPLE_RATE / rate) < min_samples:  # the resampler's output length
        return AudioCheck(
            f"{frames / rate * 1000:.1f} ms of audio, shorter than one MFCC frame "
            f"({min_samples / MFCC_SAMPLE_RATE * 1000:.0f} ms)"
        )
    return AudioCheck(repair=repair)


def audio_problem(path: str, min_samples: int) -> str | None:
    """Why ``path`` cannot give MFCC features, or None (see :func:`check_audio`)."""
    return check_audio(path, min_samples).problem


def check_audios(paths: Sequence[str], min_samples: int, workers: int = 8) -> list[AudioCheck]:
    """:func:`check_audio` of every path, in order.

    A thread pool because header reads wait on the file system (a cluster's network storage
    above all) and libsndfile releases the GIL while it reads.
    """
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda path: check_audio(path, min_samples), paths))
