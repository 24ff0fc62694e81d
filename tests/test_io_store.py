"""Atomic writes and the keyed HDF5 ArrayStore."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vgs.io import atomic_path, read_tsv, write_tsv
from vgs.store import ArrayStore, write_store


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
