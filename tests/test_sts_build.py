"""SpokenSTS build: ingestion tables, sharded cached synthesis, voice manifests, kill and resume."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from test_tts_synthesis import FakeBackend
from vgs.io import read_tsv
from vgs.sts.build import build_pairs, ingest_sts, synthesize_sts_shard, voice_manifest

TTS = {"backend": "fake", "voices": {"m1": "engine-m1", "f2": "engine-f2"}, "shards": 2, "retries": 0}


@pytest.fixture()
def sts_root(tmp_path: Path) -> Path:
    root = tmp_path / "sts"
    for folder, subtask, lines, golds in [
        (
            "STS12-en-test",
            "surprise.OnWN",
            ["a dog runs .\ta dog is running .", "we love the usa .\twe love america ."],
            ["4", "3.5"],
        ),
        (
            "STS13-en-test",
            "headlines",
            ["a dog runs .\tcats sleep .", "x\ty", 'the cop is on the beat . "\tcops .'],
            ["0.5", "", "2"],
        ),
    ]:
        (root / folder).mkdir(parents=True)
        (root / folder / f"STS.input.{subtask}.txt").write_text("\n".join(lines) + "\n")
        (root / folder / f"STS.gs.{subtask}.txt").write_text("\n".join(golds) + "\n")
    return root


def test_ingest_tables(sts_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ingest_sts(sts_root, out / "pairs.tsv", out / "sentences.tsv", out / "changes.tsv")
    pairs = read_tsv(out / "pairs.tsv")
    assert pairs["pair_id"].tolist() == [
        "2012_OnWN_0001",
        "2012_OnWN_0002",
        "2013_headlines_0001",
        "2013_headlines_0003",
    ]
    sentences = read_tsv(out / "sentences.tsv")
    assert len(sentences) == 7  # "a dog runs ." occurs twice, synthesised once
    assert pairs.loc[0, "sent_a_id"] == pairs.loc[2, "sent_a_id"]
    spoken = dict(zip(sentences["sent_id"], sentences["normalised"]))
    assert spoken[pairs.loc[1, "sent_a_id"]] == "we love the U.S.A. ."
    assert spoken[pairs.loc[3, "sent_a_id"]] == 'the cop is on the beat ."'
    changes = read_tsv(out / "changes.tsv")
    assert set(changes["rules"]) == {"lowercase_abbreviation", "final_quote"}


def synthesise_voice(out: Path, voice: str, backend: FakeBackend, shards=range(2)) -> list[Path]:
    paths = []
    for shard in shards:
        path = out / voice / f"shard{shard}.tsv"
        synthesize_sts_shard(out / "sentences.tsv", voice, shard, TTS, out / "cache", path, backend=backend)
        paths.append(path)
    return paths


def test_voice_manifest_and_cache_sharing(sts_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ingest_sts(sts_root, out / "pairs.tsv", out / "sentences.tsv", out / "changes.tsv")
    backend = FakeBackend()
    shard_paths = synthesise_voice(out, "m1", backend)
    assert len(backend.calls) == 7 and {voice for _, voice in backend.calls} == {"engine-m1"}
    voice_manifest(out / "pairs.tsv", out / "sentences.tsv", shard_paths, "m1", out / "m1.tsv")
    manifest = read_tsv(out / "m1.tsv")
    assert list(manifest.columns) == [
        "utt_id",
        "pair_id",
        "side",
        "subtask",
        "year",
        "text",
        "wav_path",
        "duration",
        "voice",
    ]
    assert len(manifest) == 8 and manifest["side"].tolist()[:2] == ["a", "b"]
    assert manifest["utt_id"].str.startswith("m1/s").all()
    assert manifest.loc[0, "wav_path"] == manifest.loc[4, "wav_path"]  # shared sentence, shared wav
    assert all(Path(path).is_file() for path in manifest["wav_path"])
    # A second build of the same voice reuses the cache entirely.
    again = FakeBackend()
    synthesise_voice(out, "m1", again)
    assert again.calls == []


def test_kill_mid_shard_then_rerun_redoes_only_unfinished_work(sts_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ingest_sts(sts_root, out / "pairs.tsv", out / "sentences.tsv", out / "changes.tsv")
    sentences = read_tsv(out / "sentences.tsv")
    shard1 = sentences.iloc[1::2]["normalised"].tolist()
    synthesise_voice(out, "f2", FakeBackend(), shards=[0])
    killer = FakeBackend(failures={shard1[2]: 99})  # dies on the third sentence of shard 1
    with pytest.raises(RuntimeError):
        synthesise_voice(out, "f2", killer, shards=[1])
    assert not (out / "f2" / "shard1.tsv").exists()
    assert not list((out / "cache").rglob("*.part"))
    rerun = FakeBackend()
    synthesise_voice(out, "f2", rerun, shards=[1])
    assert [text for text, _ in rerun.calls] == shard1[2:]
    done = read_tsv(out / "f2" / "shard1.tsv")
    assert done["duration"].astype(float).gt(0).all()


def test_manifest_names_missing_audio(sts_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ingest_sts(sts_root, out / "pairs.tsv", out / "sentences.tsv", out / "changes.tsv")
    shard_paths = synthesise_voice(out, "m1", FakeBackend(), shards=[0])
    with pytest.raises(ValueError, match="have no audio.*rerun sts_synthesize for voice m1"):
        voice_manifest(out / "pairs.tsv", out / "sentences.tsv", shard_paths, "m1", out / "m1.tsv")


def test_real_sts_ingestion(shared_sts: Path) -> None:
    pairs, sentences, changes = build_pairs(shared_sts)
    assert len(pairs) == 12_544 and pairs["pair_id"].is_unique
    assert sentences["normalised"].is_unique
    assert set(pairs["sent_a_id"]) | set(pairs["sent_b_id"]) == set(sentences["sent_id"])
    assert 15_000 < len(sentences) < 2 * len(pairs)
    assert isinstance(changes, pd.DataFrame) and len(changes) > 0
