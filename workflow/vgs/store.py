"""ArrayStore: a keyed HDF5 store of 2-D float arrays (MFCC frames, image features, embeddings).

Why one format: MFCC caches, image-feature caches and embedding tables all map an id to an array
(``[frames, dims]`` or ``[1, dims]``). Keeping every array of a store in one concatenated dataset
with an offset index reads orders of magnitude faster than one HDF5 dataset per utterance, and a
store is written in one pass to a temporary file and renamed into place, so an interrupted writer
never leaves a file a rerun would accept.

Layout of a store file::

    /ids      (N,)  variable-length UTF-8 strings, unique
    /offsets  (N,)  int64 start row of each array in /data
    /lengths  (N,)  int64 number of rows of each array
    /data     (sum(lengths), D) float32
    attrs: kind (str), dim (int), plus any metadata given to the writer (JSON-serialisable)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

from vgs.io import PathLike, atomic_path


def write_store(
    path: PathLike,
    items: Iterable[tuple[str, np.ndarray]],
    dim: int,
    kind: str,
    metadata: Mapping[str, object] | None = None,
) -> int:
    """Write ``(id, array)`` pairs to ``path`` atomically; return the number of arrays written.

    Arrays may be 1-D (stored as one row) or 2-D ``[rows, dim]``. Ids must be unique.
    """
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        data = handle.create_dataset(
            "data", shape=(0, dim), maxshape=(None, dim), dtype="float32", chunks=(4096, dim)
        )
        ids: list[str] = []
        lengths: list[int] = []
        seen: set[str] = set()
        buffer: list[np.ndarray] = []
        buffered = 0

        def flush() -> None:
            nonlocal buffered
            if not buffer:
                return
            block = np.concatenate(buffer, axis=0)
            start = data.shape[0]
            data.resize(start + block.shape[0], axis=0)
            data[start:] = block
            buffer.clear()
            buffered = 0

        for key, array in items:
            if key in seen:
                raise ValueError(f"duplicate id {key!r} while writing {path}")
            seen.add(key)
            rows = np.asarray(array, dtype=np.float32)
            if rows.ndim == 1:
                rows = rows[None, :]
            if rows.ndim != 2 or rows.shape[1] != dim:
                raise ValueError(f"{key}: expected shape [n, {dim}], got {tuple(rows.shape)}")
            ids.append(key)
            lengths.append(rows.shape[0])
            buffer.append(rows)
            buffered += rows.shape[0]
            if buffered >= 65536:
                flush()
        flush()
        lengths_arr = np.asarray(lengths, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths_arr)[:-1]]).astype(np.int64)
        handle.create_dataset("ids", data=np.asarray(ids, dtype=object), dtype=h5py.string_dtype())
        handle.create_dataset("offsets", data=offsets if ids else np.zeros(0, np.int64))
        handle.create_dataset("lengths", data=lengths_arr)
        handle.attrs["kind"] = kind
        handle.attrs["dim"] = dim
        handle.attrs["metadata"] = json.dumps(dict(metadata or {}), sort_keys=True)
    return len(ids)


class ArrayStore(Mapping[str, np.ndarray]):
    """Read-only mapping from id to ``float32 [rows, dim]`` array over one or more store files.

    Several files (shards) are merged into one mapping; an id present in two shards is an error.
    The whole data block is loaded into memory on open: the caches this workflow makes are a few
    GB at most at full scale, and random access during training must not hit the disk.
    """

    def __init__(self, paths: PathLike | Sequence[PathLike]):
        path_list = [paths] if isinstance(paths, (str, Path)) else list(paths)
        if not path_list:
            raise ValueError("ArrayStore needs at least one file")
        blocks: list[np.ndarray] = []
        self._index: dict[str, tuple[int, int]] = {}
        self.metadata: dict[str, object] = {}
        base = 0
        dims: set[int] = set()
        for path in path_list:
            with h5py.File(path, "r") as handle:
                ids = [raw.decode() if isinstance(raw, bytes) else raw for raw in handle["ids"][:]]
                offsets = handle["offsets"][:]
                lengths = handle["lengths"][:]
                blocks.append(handle["data"][:])
                dims.add(int(handle.attrs["dim"]))
                self.kind = str(handle.attrs["kind"])
                self.metadata.update(json.loads(handle.attrs.get("metadata", "{}")))
            for key, offset, length in zip(ids, offsets, lengths, strict=True):
                if key in self._index:
                    raise ValueError(f"id {key!r} appears in more than one shard ({path})")
                self._index[key] = (base + int(offset), int(length))
            base += blocks[-1].shape[0]
        if len(dims) != 1:
            raise ValueError(f"shards disagree on dimension: {sorted(dims)}")
        self.dim = dims.pop()
        self._data = np.concatenate(blocks, axis=0) if len(blocks) > 1 else blocks[0]

    def __getitem__(self, key: str) -> np.ndarray:
        offset, length = self._index[key]
        return self._data[offset : offset + length]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def length(self, key: str) -> int:
        """Number of rows (frames) of ``key`` without touching the data."""
        return self._index[key][1]

    def matrix(self, keys: Sequence[str]) -> np.ndarray:
        """Stack single-row arrays (image features, embeddings) into ``[len(keys), dim]``."""
        return np.stack([self[key][0] for key in keys]) if keys else np.zeros((0, self.dim), np.float32)
