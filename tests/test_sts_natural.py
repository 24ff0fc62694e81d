"""Natural-speech sample: the paper's 638 pairs, the recording script, the recordings importer
(every bad-input case) and the labelled synthetic stand-in speakers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from test_tts_synthesis import FakeBackend
from vgs.io import read_tsv
from vgs.sts.build import build_pairs, ingest_sts
from vgs.sts.natural import RecordingError, natural_manifest, sample_pairs, shorten_silences, write_sample

TTS = {"backend": "fake", "voices": {"m1": "engine-m1"}, "shards": 1, "retries": 0}
NATURAL = {
    "fraction": 0.5,
    "seed": 3,
    "source": "synthetic",
    "speakers": ["spk-a", "spk-b"],
    "max_silence_ms": 500,
    "silence_threshold_db": -16,
}


def test_real_sample_is_638_pairs_spread_over_every_subtask(shared_sts: Path) -> None:
    pairs, _, _ = build_pairs(shared_sts)
    sample = sample_pairs(pairs, 0.05, seed=1)
    assert len(sample) == 638 and sample["pair_id"].is_unique
    per_subtask = sample.groupby(["year", "subtask"]).size()
    sizes = pairs.groupby(["year", "subtask"]).size()
    assert len(per_subtask) == 24
    assert (per_subtask == np.ceil(0.05 * sizes).astype(int)).all()
    assert sample_pairs(pairs, 0.05, seed=1).equals(sample)
    assert not sample_pairs(pairs, 0.05, seed=2)["pair_id"].equals(sample["pair_id"])


@pytest.fixture()
def built(tmp_path: Path) -> Path:
    root = tmp_path / "sts" / "WORLD-en-test"
    root.mkdir(parents=True)
    for subtask in ("scenes", "colours"):
        lines = [f"{subtask} sentence {i} .\tanother {subtask} {i} ." for i in range(4)]
        (root / f"STS.input.{subtask}.txt").write_text("\n".join(lines) + "\n")
        (root / f"STS.gs.{subtask}.txt").write_text("1\n2\n3\n4\n")
    out = tmp_path / "out"
    ingest_sts(tmp_path / "sts", out / "pairs.tsv", out / "sentences.tsv", out / "changes.tsv")
    write_sample(out / "pairs.tsv", NATURAL["fraction"], NATURAL["seed"], out / "sample.tsv", out / "script.tsv")
    return out


def test_stand_in_speakers_must_differ_from_test_voices(built: Path) -> None:
    with pytest.raises(ValueError, match=r"\['engine-m1'\] are also SpokenSTS voices"):
        natural_manifest(
            built / "pairs.tsv",
            built / "sentences.tsv",
            built / "sample.tsv",
            {**NATURAL, "speakers": ["spk-a", "engine-m1"]},
            TTS,
            built / "cache",
            built / "wavs",
            built / "natural.tsv",
            backend=FakeBackend(),
        )


def test_recording_script(built: Path) -> None:
    sample, script = read_tsv(built / "sample.tsv"), read_tsv(built / "script.tsv")
    assert len(sample) == 4 and sorted(sample.groupby("subtask").size().tolist()) == [2, 2]
    assert len(script) == 8 and set(script["side"]) == {"a", "b"}
    assert script["file"].str.fullmatch(r"WORLD_\w+_\d{4}_[ab]\.wav").all()
    assert script["text"].str.contains("sentence").sum() == 4  # side a reads the original sentence


def test_synthetic_stand_in_is_labelled(built: Path) -> None:
    backend = FakeBackend()
    natural_manifest(
        built / "pairs.tsv",
        built / "sentences.tsv",
        built / "sample.tsv",
        NATURAL,
        TTS,
        built / "cache",
        built / "wavs",
        built / "natural.tsv",
        backend=backend,
    )
    manifest = read_tsv(built / "natural.tsv")
    assert len(manifest) == 8 and (manifest["source"] == "synthetic").all()
    assert set(manifest["voice"]) == {"synthetic:spk-a", "synthetic:spk-b"}
    assert manifest.groupby("pair_id")["voice"].nunique().eq(1).all()  # one speaker reads a pair
    assert {voice for _, voice in backend.calls} == {"spk-a", "spk-b"}
    assert manifest["utt_id"].is_unique


def record(folder: Path, built: Path, rate: int = 44100, skip: int = 0) -> Path:
    """Write stereo recordings with a 1.5 s pause for every script line; return the mapping CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    script = read_tsv(built / "script.tsv").iloc[skip:]
    tone = (6000 * np.sin(np.arange(int(0.4 * rate)) / 4)).astype(np.int16)
    audio = np.concatenate([tone, np.zeros(int(1.5 * rate), np.int16), tone])
    for name in script["file"]:
        sf.write(folder / name, np.stack([audio, audio], axis=1), rate, subtype="PCM_16")
    mapping = pd.DataFrame(
        {"pair_id": script["pair_id"], "side": script["side"], "speaker": "reader1", "file": script["file"]}
    )
    mapping.to_csv(folder / "mapping.csv", index=False)
    return folder / "mapping.csv"


def import_natural(built: Path, folder: Path) -> pd.DataFrame:
    natural = {
        **NATURAL,
        "source": "recordings",
        "recordings": {"dir": str(folder), "mapping": str(folder / "mapping.csv")},
    }
    natural_manifest(
        built / "pairs.tsv",
        built / "sentences.tsv",
        built / "sample.tsv",
        natural,
        TTS,
        built / "cache",
        built / "wavs",
        built / "natural.tsv",
    )
    return read_tsv(built / "natural.tsv")


def test_recordings_imported_resampled_and_silence_shortened(built: Path, tmp_path: Path) -> None:
    record(tmp_path / "rec", built)
    manifest = import_natural(built, tmp_path / "rec")
    assert len(manifest) == 8 and (manifest["source"] == "recorded").all() and set(manifest["voice"]) == {"reader1"}
    info = sf.info(manifest.loc[0, "wav_path"])
    assert (info.samplerate, info.channels) == (16000, 1)
    assert info.duration == pytest.approx(0.4 + 0.5 + 0.4, abs=0.03)  # 1.5 s pause -> 0.5 s


def test_short_pauses_are_kept() -> None:
    tone = (6000 * np.sin(np.arange(6400) / 4)).astype(np.int16)
    audio = np.concatenate([tone, np.zeros(4800, np.int16), tone])  # 0.3 s pause
    assert len(shorten_silences(audio, 500, -16)) == len(audio)


def _pauses_ms(audio: np.ndarray) -> list[float]:
    """Lengths of the runs of digital silence longer than 1 ms, in order."""
    edges = np.diff(np.r_[0, (audio == 0).astype(int), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(end - start) / 16 for start, end in zip(starts, ends, strict=True) if end - start > 16]


def test_leading_trailing_and_every_long_pause_are_shortened_to_500_ms() -> None:
    tone = (6000 * np.sin(np.arange(6400) / 4)).astype(np.int16)  # 0.4 s at 16 kHz

    def pause(ms: int) -> np.ndarray:
        return np.zeros(16 * ms, np.int16)

    audio = np.concatenate([pause(800), tone, pause(1500), tone, pause(300), tone, pause(700), tone, pause(1200)])
    shortened = shorten_silences(audio, 500, -16)
    assert _pauses_ms(audio) == pytest.approx([800, 1500, 300, 700, 1200], abs=0.1)
    # pydub's detector finds a silence to within a few milliseconds of its edges.
    assert _pauses_ms(shortened) == pytest.approx([500, 500, 300, 500, 500], abs=5)
    assert np.array_equal(shortened[shortened != 0], audio[audio != 0])  # no speech sample lost or moved


def test_missing_recording_rows(built: Path, tmp_path: Path) -> None:
    record(tmp_path / "rec", built, skip=3)
    with pytest.raises(RecordingError, match=r"mapping.csv: 3 sample sentence\(s\) have no recording"):
        import_natural(built, tmp_path / "rec")


def test_missing_and_corrupt_files_name_csv_lines(built: Path, tmp_path: Path) -> None:
    mapping = record(tmp_path / "rec", built)
    files = pd.read_csv(mapping)["file"]
    (tmp_path / "rec" / files[0]).unlink()
    (tmp_path / "rec" / files[1]).write_bytes(b"RIFF\x00\x00not audio at all")
    with pytest.raises(RecordingError) as raised:
        import_natural(built, tmp_path / "rec")
    message = str(raised.value)
    assert f"line 2: {tmp_path / 'rec' / files[0]} does not exist" in message
    assert f"line 3: {tmp_path / 'rec' / files[1]} is not readable audio" in message
    assert not (built / "natural.tsv").exists()


def test_unknown_duplicate_and_malformed_mapping(built: Path, tmp_path: Path) -> None:
    mapping = record(tmp_path / "rec", built)
    frame = pd.read_csv(mapping)
    extra = pd.DataFrame([{"pair_id": "nope", "side": "a", "speaker": "x", "file": frame["file"][0]}, frame.iloc[0]])
    pd.concat([frame, extra]).to_csv(mapping, index=False)
    with pytest.raises(
        RecordingError, match=r"line 10: pair nope side 'a' is not in the sample.*line 11: .* more than once"
    ):
        import_natural(built, tmp_path / "rec")
    frame.drop(columns="speaker").to_csv(mapping, index=False)
    with pytest.raises(RecordingError, match=r"missing column\(s\) \['speaker'\]"):
        import_natural(built, tmp_path / "rec")
    mapping.unlink()
    with pytest.raises(RecordingError, match="recordings CSV not found"):
        import_natural(built, tmp_path / "rec")


def test_recordings_source_needs_its_settings(built: Path) -> None:
    with pytest.raises(RecordingError, match="sts.natural.recordings is not set"):
        natural_manifest(
            built / "pairs.tsv",
            built / "sentences.tsv",
            built / "sample.tsv",
            {**NATURAL, "source": "recordings"},
            TTS,
            built / "cache",
            built / "wavs",
            built / "n.tsv",
        )
