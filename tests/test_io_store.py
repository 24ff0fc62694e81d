"""Atomic writes and the keyed HDF5 ArrayStore."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pandas as pd
import pytest

from conftest import skip_or_fail_in_ci
from vgs.io import atomic_path, read_tsv, write_tsv
from vgs.store import ArrayStore, StoreLayoutError, write_store


def test_atomic_path_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half written")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_replaces_on_success(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".part" and tmp.parent == target.parent
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_tsv_round_trip_keeps_empty_strings_and_tabs_out(tmp_path):
    frame = pd.DataFrame({"utt_id": ["a", "b"], "text": ["a man, smiling", ""]})
    write_tsv(tmp_path / "t.tsv", frame)
    back = read_tsv(tmp_path / "t.tsv", required=["utt_id", "text"])
    assert back["text"].tolist() == ["a man, smiling", ""]
    with pytest.raises(ValueError, match="missing column"):
        read_tsv(tmp_path / "t.tsv", required=["wav_path"])


def test_store_round_trip_variable_lengths_and_shards(tmp_path):
    rng = np.random.default_rng(0)
    first = {f"u{i}": rng.normal(size=(i + 1, 3)).astype(np.float32) for i in range(5)}
    second = {"v": rng.normal(size=3).astype(np.float32)}
    write_store(tmp_path / "a.h5", first.items(), dim=3, kind="mfcc", metadata={"sr": 16000})
    write_store(tmp_path / "b.h5", second.items(), dim=3, kind="mfcc")
    store = ArrayStore([tmp_path / "a.h5", tmp_path / "b.h5"])
    assert len(store) == 6 and store.dim == 3 and store.metadata["sr"] == 16000
    for key, value in first.items():
        np.testing.assert_array_equal(store[key], value)
        assert store.length(key) == value.shape[0]
    np.testing.assert_array_equal(store.matrix(["v"]), second["v"][None, :])


def test_store_rejects_duplicates_and_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="duplicate id"):
        write_store(tmp_path / "d.h5", [("x", np.zeros(2)), ("x", np.zeros(2))], dim=2, kind="e")
    with pytest.raises(ValueError, match="expected shape"):
        write_store(tmp_path / "s.h5", [("x", np.zeros((2, 3)))], dim=2, kind="e")
    assert not (tmp_path / "d.h5").exists() and not (tmp_path / "s.h5").exists()


def test_store_rejects_id_in_two_shards(tmp_path):
    write_store(tmp_path / "a.h5", [("x", np.zeros(2))], dim=2, kind="e")
    write_store(tmp_path / "b.h5", [("x", np.ones(2))], dim=2, kind="e")
    with pytest.raises(ValueError, match="more than one shard"):
        ArrayStore([tmp_path / "a.h5", tmp_path / "b.h5"])


def h5py_arrays(path) -> dict[str, np.ndarray]:
    """Every array of a store file read with h5py alone (the whole /data, sliced by the index)."""
    with h5py.File(path, "r") as handle:
        data = handle["data"][:]
        return {
            key.decode(): data[offset : offset + length]
            for key, offset, length in zip(handle["ids"][:], handle["offsets"][:], handle["lengths"][:])
        }


def test_rows_read_from_contiguous_data_equal_h5py_reads(tmp_path):
    rng = np.random.default_rng(1)
    shards = [{f"s{s}u{i}": rng.normal(size=(int(rng.integers(1, 40)), 5)) for i in range(30)} for s in range(3)]
    paths = [tmp_path / f"shard{s}.h5" for s in range(3)]
    for path, arrays in zip(paths, shards):
        write_store(path, arrays.items(), dim=5, kind="mfcc")
        with h5py.File(path, "r") as handle:
            assert handle.attrs["format"] == 2 and handle["data"].chunks is None  # contiguous: one pread per array
    store = ArrayStore(paths)
    reference = {key: value for path in paths for key, value in h5py_arrays(path).items()}
    assert len(store) == len(reference) == 90 and store.nbytes == sum(v.nbytes for v in reference.values())
    for key in reversed(list(reference)):  # any order, across shards
        np.testing.assert_array_equal(store[key], reference[key])
        np.testing.assert_array_equal(store[key], shards[int(key[1])][key].astype(np.float32))
    keys = ["s2u3", "s0u0", "s1u29"]
    lazy = store.arrays(keys)
    assert len(lazy) == 3 and all(np.array_equal(lazy[i], reference[k]) for i, k in enumerate(keys))


def test_single_rows_read_lazily_as_a_matrix(tmp_path):
    rows = {f"img{i}": np.arange(4, dtype=np.float32) + 10 * i for i in range(6)}
    write_store(tmp_path / "images.h5", rows.items(), dim=4, kind="image")
    store = ArrayStore(tmp_path / "images.h5")
    view = store.rows(["img5", "img1", "img3"])
    assert view.shape == (3, 4) and len(view) == 3
    np.testing.assert_array_equal(view[np.array([2, 0])], np.stack([rows["img3"], rows["img5"]]))
    np.testing.assert_array_equal(view[1:], np.stack([rows["img1"], rows["img3"]]))
    np.testing.assert_array_equal(store.matrix([]), np.zeros((0, 4), np.float32))
    with pytest.raises(KeyError, match="img9"):
        store.rows(["img9"])


def test_store_reads_only_the_rows_asked_for(tmp_path, preadv_bytes):
    arrays = {f"u{i}": np.full((100 + i, 39), i, dtype=np.float32) for i in range(50)}
    write_store(tmp_path / "m.h5", arrays.items(), dim=39, kind="mfcc")
    read = preadv_bytes
    store = ArrayStore(tmp_path / "m.h5")
    assert read == [] and store.length("u7") == 107  # opening and lengths read no data
    np.testing.assert_array_equal(store["u7"], arrays["u7"])
    assert read == [arrays["u7"].nbytes]


def write_first_layout(path, arrays: dict[str, np.ndarray], dim: int) -> None:
    """A store as the first writer made it: /data chunked and resizable, no ``format`` attribute."""
    with h5py.File(path, "w") as handle:
        block = np.concatenate(list(arrays.values())).astype(np.float32)
        handle.create_dataset("data", data=block, maxshape=(None, dim), chunks=(4096, dim))
        lengths = np.array([len(a) for a in arrays.values()], dtype=np.int64)
        handle.create_dataset("ids", data=np.asarray(list(arrays), dtype=object), dtype=h5py.string_dtype())
        handle.create_dataset("offsets", data=np.concatenate([[0], np.cumsum(lengths)[:-1]]))
        handle.create_dataset("lengths", data=lengths)
        handle.attrs["kind"], handle.attrs["dim"], handle.attrs["metadata"] = "mfcc", dim, "{}"


def test_store_of_the_first_layout_is_refused_naming_file_and_remedy(tmp_path):
    write_store(tmp_path / "new.h5", [("a", np.ones((2, 3)))], dim=3, kind="mfcc")
    write_first_layout(tmp_path / "old.h5", {"b": np.ones((2, 3))}, dim=3)
    with pytest.raises(
        StoreLayoutError,
        match=r"old\.h5: ArrayStore of an older layout \(format 1, /data chunked\)"
        r".*rebuild it: delete it and rerun the workflow",
    ):
        ArrayStore([tmp_path / "new.h5", tmp_path / "old.h5"])
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(StoreLayoutError, match="junk.h5: not a readable HDF5 store"):
        ArrayStore(tmp_path / "junk.h5")


def test_truncated_store_is_refused_naming_the_file(tmp_path):
    write_store(tmp_path / "t.h5", [("a", np.ones((2, 3))), ("b", np.ones((1000, 3)))], dim=3, kind="mfcc")
    store_size = (tmp_path / "t.h5").stat().st_size
    with h5py.File(tmp_path / "t.h5", "r") as handle:
        end_of_data = handle["data"].id.get_offset() + handle["data"].id.get_storage_size()
    assert end_of_data == store_size  # /data is written last, so a cut file loses its tail first
    os.truncate(tmp_path / "t.h5", store_size - 100)
    with pytest.raises(StoreLayoutError, match=r"t\.h5: not a readable HDF5 store \(.*truncated file.*rebuild it"):
        ArrayStore(tmp_path / "t.h5")


READ_EPOCH = """
import hashlib, json, sys
import numpy as np
import torch  # noqa: F401  (a training job's imports come before the baseline: they are not the store's)
from vgs.train.batching import epoch_batches
from vgs.train.data import load_training_data

def peak_rss() -> int:
    return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))

directory, paths = sys.argv[1], json.loads(sys.argv[2])
before = peak_rss()
digests = {}
for split in load_training_data(f"{directory}/manifest.tsv", paths, f"{directory}/images.h5"):
    for indices in epoch_batches(split.image_ids, split.lengths, 32, np.random.default_rng(0)):
        for index, array in zip(indices, split.arrays(indices)):
            digests[split.utt_ids[index]] = hashlib.sha1(array.tobytes()).hexdigest()
        split.image_features[split.image_rows[indices]]
print(json.dumps({"growth": peak_rss() - before, "digests": digests}))
"""


@pytest.mark.slow
def test_a_training_pass_over_a_1gb_store_grows_rss_by_under_a_fifth_and_reads_the_same_frames(tmp_path):
    """The whole old reader held the store in memory (1.26x the file, measured); the row reader must
    keep a job's peak RSS growth under a fifth of the store while reading identical frames."""
    if not os.path.exists("/proc/self/status"):
        skip_or_fail_in_ci("reads the peak RSS (VmHWM) from /proc/self/status, which only Linux has")
    import json
    import subprocess
    import sys

    from vgs_ops.bench.scale import write_phase

    written = write_phase(str(tmp_path), 1.05e9, image_dim=16)
    paths = written["mfcc_paths"]
    store_bytes = sum(os.path.getsize(path) for path in paths)
    assert store_bytes >= 1e9 and len(paths) >= 2
    done = subprocess.run(
        [sys.executable, "-c", READ_EPOCH, str(tmp_path), json.dumps(paths)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    job = json.loads(done.stdout)
    grown, size = job["growth"] / 1e9, store_bytes / 1e9
    assert job["growth"] < store_bytes / 5, f"RSS grew {grown:.2f} GB for a {size:.2f} GB store"
    import hashlib

    manifest = pd.read_csv(tmp_path / "manifest.tsv", sep="\t")
    used = set(manifest.loc[manifest["split"] != "test", "utt_id"])
    reference = {}
    for path in paths:  # the in-memory reader: the whole /data of each file, sliced by the index
        reference.update(
            {key: hashlib.sha1(array.tobytes()).hexdigest() for key, array in h5py_arrays(path).items() if key in used}
        )
    assert len(job["digests"]) == len(used) > 10_000 and job["digests"] == reference
