"""Header checks of every corpus WAV, run when the corpus is loaded.

Why at load time: a broken file found by the MFCC stage fails a whole shard after corpus loading
"succeeded"; found here, it is reported (or set aside, see :mod:`vgs.corpora.screening`) before any
feature job starts. Only headers are read, so 400k files take seconds to minutes, not hours.

Two readers, because neither alone sees every fault: libsndfile (``soundfile.SoundFile``) says whether
the MFCC stage can open the file and how many frames it will get, but silently clips a data chunk
that is longer than the file to the bytes present (a truncated download then yields a fraction of
the caption's features); the RIFF chunk walk reads the data chunk's declared size to catch that.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import soundfile

from vgs.features.frames import SAMPLE_RATE as MFCC_SAMPLE_RATE
from vgs.io import PathLike

STREAMED_SIZE = 0xFFFFFFFF  # data size written by streaming encoders that cannot seek back: "unknown"
CHUNK_HEADER = struct.Struct("<4sI")
FMT_BLOCK_ALIGN = struct.Struct("<HHIIH")  # format tag, channels, rate, byte rate, bytes per frame


def riff_data_frames(path: PathLike) -> tuple[int, int] | None:
    """(frames the data chunk declares, frames whose bytes are present) of a RIFF/WAVE file.

    None when the file is not RIFF/WAVE, the size is unknown (streamed) or the chunks cannot be
    walked; libsndfile then has the last word.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != b"WAVE":
            return None
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
                return chunk_size // block_align, (size - body) // block_align
            offset = body + chunk_size + (chunk_size & 1)  # chunks are padded to even sizes
    return None


def audio_problem(path: str, min_samples: int) -> str | None:
    """Why ``path`` cannot give MFCC features (missing, empty, unreadable, truncated, too short), or None.

    ``min_samples`` is the shortest usable utterance in samples at 16 kHz: one MFCC analysis window
    (``features.mfcc.window_ms``), below which the MFCC stage refuses a file after resampling it to 16 kHz.
    """
    try:
        if os.path.getsize(path) == 0:
            return "empty file (0 bytes)"
        with soundfile.SoundFile(path) as audio:  # faster than soundfile.info, which reads more
            frames, rate = audio.frames, audio.samplerate
        declared = riff_data_frames(path)
    except FileNotFoundError:
        return "file missing"
    except OSError as error:
        return f"cannot open the file ({error.strerror})"
    except (soundfile.LibsndfileError, RuntimeError) as error:
        return f"unreadable audio header ({getattr(error, 'error_string', None) or error})"
    if declared is not None and declared[0] > declared[1]:
        return (
            f"truncated: the header declares {declared[0] / rate:.3f} s of audio, "
            f"the file holds {declared[1] / rate:.3f} s"
        )
    if frames == 0:
        return "no audio frames (header only)"
    if math.ceil(frames * MFCC_SAMPLE_RATE / rate) < min_samples:  # the resampler's output length
        return (
            f"{frames / rate * 1000:.1f} ms of audio, shorter than one MFCC frame "
            f"({min_samples / MFCC_SAMPLE_RATE * 1000:.0f} ms)"
        )
    return None


def audio_problems(paths: Sequence[str], min_samples: int, workers: int = 8) -> list[str | None]:
    """:func:`audio_problem` of every path, in order.

    A thread pool because header reads wait on the file system (a cluster's network storage
    above all) and libsndfile releases the GIL while it reads.
    """
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda path: audio_problem(path, min_samples), paths))
