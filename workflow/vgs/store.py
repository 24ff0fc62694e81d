"""ArrayStore: a keyed HDF5 store of 2-D float arrays (MFCC frames, image features, embeddings).

Why one format: MFCC caches, image-feature caches and embedding tables all map an id to an array
(``[frames, dims]`` or ``[1, dims]``). Keeping every array of a store in one concatenated dataset
with an offset index reads orders of magnitude faster than one HDF5 dataset per utterance, and a
store is written in one pass to a temporary file and renamed into place, so an interrupted writer
never leaves a file a rerun would accept.

Why rows are read on demand: the caches are large. MFCC + deltas are 39 float32 per 10 ms, so
SpokenCOCO (605,495 captions, ~742 h) is ~42 GB of MFCCs and Places (400k captions of ~9 s) ~56 GB;
ResNet-152 features (2048 float32 per image) are ~1 GB for SpokenCOCO's 123k images and ~3.3 GB
for Places' 400k. No job loads a store whole: opening one reads only its index (ids, offsets,
lengths: opening a 32 GB store of 449k captions for training, manifest included, took 0.18 GB, so
~0.25 GB at SpokenCOCO's 605k), and each array is read when asked for with one
``pread`` of its rows from the contiguous ``/data`` dataset (the file offset comes from HDF5 once,
at open). A job's memory therefore grows with the rows it holds at a time (a batch), not with the
corpus: a 30k-caption subset model or a test-split encoding touches only its own captions, and
the operating system's page cache, not the process, keeps hot rows in RAM. Reads are thread-safe
(``pread`` has no shared file position), so a batching thread may read while the model steps.
``python -m vgs_ops.bench --only scale`` measured a training job's peak RSS at 1.39 GB with a 32 GB
store (1.27 GB with a 1 GB store; most of it torch and the model step): docs/benchmarks.md "Memory at scale".

Writing streams the rows to a raw spill file beside the output and copies them into the
contiguous dataset once the row count is known (HDF5 cannot grow a contiguous dataset): a store
briefly needs twice its size on disk, per file (an MFCC shard of SpokenCOCO at 64 shards: ~0.7 GB),
and memory stays at one ~64 MB buffer whatever the store's size.

Layout of a store file (``format`` 2)::

    /ids      (N,)  variable-length UTF-8 strings, unique
    /offsets  (N,)  int64 start row of each array in /data
    /lengths  (N,)  int64 number of rows of each array
    /data     (sum(lengths), D) little-endian float32, contiguous (not chunked, no filters)
    attrs: format (2), kind (str), dim (int), metadata (JSON of what was given to the writer)

Stores of the first layout (``/data`` chunked and resizable, no ``format`` attribute) are refused
with a message naming the file: rebuild them by deleting them and rerunning the workflow.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from vgs.io import PathLike, atomic_path

FORMAT = 2
DTYPE = np.dtype("<f4")
FLUSH_BYTES = 64 * 2**20  # rows buffered in memory before they go to the spill file


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
    with atomic_path(path) as tmp:
        spill = tmp.with_name(tmp.name + ".rows")
        try:
            ids, lengths = _spill_rows(path, items, dim, spill)
            _write_file(tmp, spill, ids, lengths, dim, kind, metadata)
        finally:
            spill.unlink(missing_ok=True)
    return len(ids)


def _spill_rows(
    path: PathLike, items: Iterable[tuple[str, np.ndarray]], dim: int, spill: Path
) -> tuple[list[str], list[int]]:
    """Append every array's rows to the raw file ``spill``; return ids and row counts in order."""
    ids: list[str] = []
    lengths: list[int] = []
    seen: set[str] = set()
    buffer: list[np.ndarray] = []
    buffered = 0
    with open(spill, "wb") as raw:
        for key, array in items:
            if key in seen:
                raise ValueError(f"duplicate id {key!r} while writing {path}")
            seen.add(key)
            rows = np.asarray(array, dtype=DTYPE)
            if rows.ndim == 1:
                rows = rows[None, :]
            if rows.ndim != 2 or rows.shape[1] != dim:
                raise ValueError(f"{key}: expected shape [n, {dim}], got {tuple(rows.shape)}")
            ids.append(key)
            lengths.append(rows.shape[0])
            buffer.append(rows)
            buffered += rows.nbytes
            if buffered >= FLUSH_BYTES:
                np.concatenate(buffer).tofile(raw)
                buffer.clear()
                buffered = 0
        if buffer:
            np.concatenate(buffer).tofile(raw)
    return ids, lengths


def _write_file(
    tmp: Path,
    spill: Path,
    ids: list[str],
    lengths: list[int],
    dim: int,
    kind: str,
    metadata: Mapping[str, object] | None,
) -> None:
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths_arr)[:-1]]).astype(np.int64) if ids else lengths_arr
    total = int(lengths_arr.sum())
    rows_per_block = max(1, FLUSH_BYTES // (4 * dim))
    with h5py.File(tmp, "w") as handle:
        handle.create_dataset("ids", data=np.asarray(ids, dtype=object), dtype=h5py.string_dtype())
        handle.create_dataset("offsets", data=offsets)
        handle.create_dataset("lengths", data=lengths_arr)
        data = handle.create_dataset("data", shape=(total, dim), dtype=DTYPE)  # contiguous: no chunks
        for start in range(0, total, rows_per_block):
            count = min(rows_per_block, total - start)
            data[start : start + count] = np.fromfile(
                spill, dtype=DTYPE, count=count * dim, offset=start * dim * 4
            ).reshape(count, dim)
        handle.attrs["format"] = FORMAT
        handle.attrs["kind"] = kind
        handle.attrs["dim"] = dim
        handle.attrs["metadata"] = json.dumps(dict(metadata or {}), sort_keys=True)


class StoreLayoutError(ValueError):
    """A store file this reader cannot read by rows (first layout, foreign or damaged file)."""


@dataclass
class _Shard:
    path: str
    fd: int
    data_offset: int  # byte offset of /data in the file
    rows: int


def _open_shard(path: PathLike) -> tuple[_Shard, list[str], np.ndarray, np.ndarray, dict]:
    """Check the layout of one store file and read its index (not its data)."""
    rebuild = "; rebuild it: delete it and rerun the workflow, which remakes it from its inputs"
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise StoreLayoutError(f"{path}: not a readable HDF5 store ({error}){rebuild}") from error
    with handle:
        missing = [name for name in ("ids", "offsets", "lengths", "data") if name not in handle]
        if missing:
            raise StoreLayoutError(f"{path}: not an ArrayStore file (no {', '.join(missing)})")
        data = handle["data"]
        if handle.attrs.get("format") != FORMAT or data.chunks is not None:
            raise StoreLayoutError(
                f"{path}: ArrayStore of an older layout (format {handle.attrs.get('format', 1)}, /data "
                f"{'chunked' if data.chunks else 'contiguous'}); this version reads rows on demand from "
                f"a contiguous /data (format {FORMAT}){rebuild}"
            )
        if data.dtype != DTYPE or data.ndim != 2:
            raise StoreLayoutError(f"{path}: /data is {data.dtype} {data.shape}, expected 2-D float32{rebuild}")
        rows, dim = data.shape
        offset = data.id.get_offset()
        if rows and offset is None:
            raise StoreLayoutError(f"{path}: /data has no storage allocated{rebuild}")
        ids = [raw.decode() if isinstance(raw, bytes) else raw for raw in handle["ids"][:]]
        offsets = handle["offsets"][:].astype(np.int64)
        lengths = handle["lengths"][:].astype(np.int64)
        if len(offsets) != len(ids) or len(lengths) != len(ids) or (len(ids) and int((offsets + lengths).max()) > rows):
            raise StoreLayoutError(f"{path}: index (ids, offsets, lengths) does not match /data {data.shape}{rebuild}")
        attrs = {
            "dim": int(dim),
            "kind": str(handle.attrs["kind"]),
            "metadata": json.loads(handle.attrs.get("metadata", "{}")),
        }
    shard = _Shard(str(path), os.open(path, os.O_RDONLY), int(offset or 0), int(rows))
    return shard, ids, offsets, lengths, attrs


class ArrayStore(Mapping[str, np.ndarray]):
    """Read-only mapping from id to ``float32 [rows, dim]`` array over one or more store files.

    Several files (shards) are merged into one mapping; an id present in two shards is an error.
    Only the index is held in memory; ``store[id]`` reads that array's rows from disk (a new array
    each time). See the module docstring for sizes at full scale.
    """

    def __init__(self, paths: PathLike | Sequence[PathLike]):
        path_list = [paths] if isinstance(paths, (str, Path)) else list(paths)
        if not path_list:
            raise ValueError("ArrayStore needs at least one file")
        self._shards: list[_Shard] = []
        self._index: dict[str, int] = {}
        shard_of, offsets, lengths = [], [], []
        self.metadata: dict[str, object] = {}
        self.shard_metadata: list[dict[str, object]] = []  # each file's own (a run check reads every shard's)
        dims: set[int] = set()
        try:
            for number, path in enumerate(path_list):
                shard, ids, shard_offsets, shard_lengths, attrs = _open_shard(path)
                self._shards.append(shard)
                dims.add(attrs["dim"])
                self.kind = attrs["kind"]
                self.metadata.update(attrs["metadata"])
                self.shard_metadata.append(attrs["metadata"])
                for key in ids:
                    if key in self._index:
                        raise ValueError(f"id {key!r} appears in more than one shard ({path})")
                    self._index[key] = len(self._index)
                shard_of.append(np.full(len(ids), number, dtype=np.int32))
                offsets.append(shard_offsets)
                lengths.append(shard_lengths)
        except BaseException:
            self.close()
            raise
        if len(dims) != 1:
            self.close()
            raise ValueError(f"shards disagree on dimension: {sorted(dims)}")
        self.dim = dims.pop()
        self._shard_of = np.concatenate(shard_of)
        self._offsets = np.concatenate(offsets)
        self._lengths = np.concatenate(lengths)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.read(self._index[key])

    def read(self, position: int) -> np.ndarray:
        """The array at ``position`` in iteration order, read from disk with one ``pread``."""
        shard = self._shards[self._shard_of[position]]
        rows = np.empty((int(self._lengths[position]), self.dim), dtype=DTYPE)
        if rows.size:
            start = shard.data_offset + int(self._offsets[position]) * self.dim * DTYPE.itemsize
            got = os.preadv(shard.fd, [rows], start)
            if got != rows.nbytes:
                raise StoreLayoutError(f"{shard.path}: file ends inside /data (truncated?); rebuild it")
        return rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def length(self, key: str) -> int:
        """Number of rows (frames) of ``key`` without touching the data."""
        return int(self._lengths[self._index[key]])

    @property
    def nbytes(self) -> int:
        """Bytes of array data in the store's files (what loading it whole would take)."""
        return sum(shard.rows for shard in self._shards) * self.dim * DTYPE.itemsize

    def matrix(self, keys: Sequence[str]) -> np.ndarray:
        """Stack single-row arrays (image features, embeddings) into ``[len(keys), dim]``."""
        return self.rows(keys)[:]

    def rows(self, keys: Sequence[str]) -> StoreRows:
        """A lazy ``[len(keys), dim]`` matrix of single-row arrays, read when indexed."""
        return StoreRows(self, self._positions(keys))

    def arrays(self, keys: Sequence[str]) -> StoreArrays:
        """The arrays of ``keys`` as a lazy sequence: each read when indexed, none held."""
        return StoreArrays(self, self._positions(keys))

    def _positions(self, keys: Sequence[str]) -> np.ndarray:
        missing = [key for key in keys if key not in self._index]
        if missing:
            raise KeyError(f"{len(missing)} id(s) not in the store: {missing[:5]}")
        return np.array([self._index[key] for key in keys], dtype=np.int64)

    def close(self) -> None:
        """Close the files (also done when the store is garbage-collected)."""
        for shard in getattr(self, "_shards", []):  # absent when __init__ stopped before opening any
            if shard.fd >= 0:
                os.close(shard.fd)
                shard.fd = -1

    def __del__(self) -> None:
        self.close()


class StoreRows:
    """``[N, dim]`` view of single-row arrays of a store, read on indexing (``rows[idx]``, ``rows[a:b]``).

    Why: a split's image features are needed a batch at a time, and held whole they grow with the
    corpus (Places' 400k training images are 3.3 GB of ResNet-152 features).
    """

    def __init__(self, store: ArrayStore, positions: np.ndarray):
        self.store, self.positions = store, positions

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.positions), self.store.dim)

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, index: slice | Sequence[int] | np.ndarray) -> np.ndarray:
        chosen = np.atleast_1d(self.positions[index])
        out = np.empty((len(chosen), self.store.dim), dtype=DTYPE)
        for row, position in enumerate(chosen):
            array = self.store.read(int(position))
            if len(array) != 1:
                raise ValueError(f"store row {position} has {len(array)} rows; StoreRows reads single-row arrays")
            out[row] = array[0]
        return out


class StoreArrays(Sequence[np.ndarray]):
    """Arrays of chosen ids of a store, in order, each read from disk when indexed."""

    def __init__(self, store: ArrayStore, positions: np.ndarray):
        self.store, self.positions = store, positions

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, index):  # type: ignore[override]  # int -> array; slices are not needed
        return self.store.read(int(self.positions[index]))
