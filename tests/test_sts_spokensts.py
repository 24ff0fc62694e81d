"""The released SpokenSTS: natural speech from the release's folders, from a hub copy written by
``datasets`` itself (save_to_disk and parquet; audio cells or plain float lists), and from a folder +
CSV; the key numbering found from the data (lines or scored pairs, from 0 or 1, on real STS 2015/2016
subtasks with unscored lines); release JSONs listing the sample or every sentence; the released
WaveNet voices behind the TTS interface. Fixtures use real STS pairs and espeak audio as stand-in content."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from scipy.signal import resample_poly

from test_tts_synthesis import FakeBackend
from vgs.config import ConfigError, validate_config
from vgs.evaluate.sts_eval import pair_similarities, speaker_pairs
from vgs.io import read_tsv, write_tsv
from vgs.store import ArrayStore, write_store
from vgs.sts.build import MANIFEST_COLUMNS, ingest_sts, synthesize_sts_shard, voice_manifest
from vgs.sts.natural import natural_manifest, write_natural_sample
from vgs.sts.spokensts import SpokenSTSError, release_location
from vgs.tts.backend import TTSFatalError
from vgs.tts.espeak import EspeakBackend

# Real pairs (year, subtask, line); 2012 OnWN sits in the release as "surprise.OnWN".
CHOSEN = ["2012_MSRpar_0001", "2012_MSRvid_0003", "2012_OnWN_0002", "2013_headlines_0002", "2014_images_0005"]
RELEASE_SUBTASK = {("2012", "OnWN"): "surprise.OnWN"}
SPEAKERS = {"1": "en-us+m1", "2": "en-us+f2"}
HIGH_RATE_PAIR = CHOSEN[0]  # speaker 1 reads this pair at 44.1 kHz
PAUSED_PAIR = CHOSEN[3]  # speaker 2 reads side a of this pair with a 1.5 s pause in the middle
TTS = {"backend": "fake", "voices": {"m1": "wn-a", "f1": "wn-b"}, "shards": 1, "retries": 0}


@pytest.fixture(scope="module")
def sts(shared_sts: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """pairs.tsv / sentences.tsv of the real STS data, the chosen pairs, and their espeak readings."""
    out = tmp_path_factory.mktemp("sts")
    ingest_sts(shared_sts, out / "pairs.tsv", out / "sentences.tsv", out / "changes.tsv")
    pairs = read_tsv(out / "pairs.tsv").set_index("pair_id", drop=False)
    espeak = EspeakBackend()
    audio = {}
    for pair_id in CHOSEN:
        for side in ("a", "b"):
            for speaker, voice in SPEAKERS.items():
                audio[(pair_id, side, speaker)] = espeak.synthesize(pairs.loc[pair_id, f"sent_{side}"], voice)
    paused = audio[(PAUSED_PAIR, "a", "2")]
    half = len(paused) // 2
    audio[(PAUSED_PAIR, "a", "2")] = np.concatenate([paused[:half], np.zeros(24_000, np.int16), paused[half:]])
    return {"dir": out, "pairs": pairs.loc[CHOSEN], "audio": audio}


def release_key(pair_id: str) -> tuple[str, str, str]:
    """(task, release subtask, key) of a pair, keys counting STS.input lines from 0."""
    year, subtask, line = pair_id.split("_")
    release_subtask = RELEASE_SUBTASK.get((year, subtask), subtask)
    return f"STS{year[2:]}", release_subtask, f"{release_subtask}_{int(line) - 1}"


def recording(sts: dict[str, Any], pair_id: str, side: str, speaker: str) -> tuple[np.ndarray, int]:
    """The stand-in recording and its rate (44.1 kHz for one reading, 16 kHz otherwise)."""
    samples = sts["audio"][(pair_id, side, speaker)]
    if (pair_id, speaker) == (HIGH_RATE_PAIR, "1"):
        return np.rint(resample_poly(samples.astype(float), 441, 160)).astype(np.int16), 44_100
    return samples, 16_000


def write_release(root: Path, sts: dict[str, Any], bad: bool = False) -> Path:
    """The release layout; ``bad`` adds a wrong text, an unknown key and a missing WAV."""
    texts: dict[tuple[str, str], dict[str, list[str]]] = {}
    readings = [(pair_id, side, speaker) for pair_id in CHOSEN for side in "ab" for speaker in SPEAKERS]
    if bad:
        readings += [("unknown", side, speaker) for side in "ab" for speaker in SPEAKERS]
        readings.remove((CHOSEN[2], "b", "2"))
    for pair_id, side, speaker in readings:
        source = CHOSEN[0] if pair_id == "unknown" else pair_id
        task, subtask, key = release_key(source)
        key = f"{subtask}_99999" if pair_id == "unknown" else key
        row = sts["pairs"].loc[source]
        texts.setdefault((task, subtask), {})[key] = [row["sent_a"], row["sent_b"]]
        folder = root / "SpokenSTS_wav" / "natural_speech" / task / subtask
        folder.mkdir(parents=True, exist_ok=True)
        samples, rate = recording(sts, source, side, speaker)
        sf.write(folder / f"{key}_{'ab'.index(side)}_human-speaker-{speaker}.wav", samples, rate)
    if bad:
        task, subtask, key = release_key(CHOSEN[1])
        texts[(task, subtask)][key][1] = "a man is playing a flute ."
    for (task, subtask), entries in texts.items():
        (root / task).mkdir(parents=True, exist_ok=True)
        (root / task / f"{subtask}.json").write_text(json.dumps(entries))
    return root


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def hub_dataset(sts: dict[str, Any], bad: bool = False) -> Any:
    """The hub schema written by ``datasets``: one row per pair and speaker, Audio columns.

    ``bad`` adds a row with a wrong text, one with an unknown pair and one with a wrong score."""
    import datasets

    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            "task",
            "subtask",
            "pair_id",
            "speaker_id",
            "audio_a",
            "audio_b",
            "similarity",
            "sentence_a",
            "sentence_b",
        )
    }
    for pair_id in CHOSEN:
        task, subtask, key = release_key(pair_id)
        row = sts["pairs"].loc[pair_id]
        for speaker in SPEAKERS:
            values = {
                "task": task,
                "subtask": subtask,
                "pair_id": int(key.rsplit("_", 1)[1]),
                "speaker_id": int(speaker),
                "similarity": float(row["gold"]),
                "sentence_a": row["sent_a"],
                "sentence_b": row["sent_b"],
            }
            for side in "ab":
                values[f"audio_{side}"] = {
                    "bytes": wav_bytes(*recording(sts, pair_id, side, speaker)),
                    "path": None,
                }
            for name, value in values.items():
                columns[name].append(value)
    if bad:  # row 2 is CHOSEN[1] read by speaker 1, row 4 CHOSEN[2] by speaker 1
        columns["sentence_b"][2] = "a man is playing a flute ."
        columns["similarity"][4] = 0.25
        for name in columns:
            columns[name].append(99999 if name == "pair_id" else columns[name][2])
    data = datasets.Dataset.from_dict(columns)
    for column in ("audio_a", "audio_b"):
        data = data.cast_column(column, datasets.Audio())
    return data


def natural_config(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "fraction": 0.05,
        "seed": 1,
        "source": "spokensts",
        "speakers": ["unused"],
        "max_silence_ms": 500,
        "silence_threshold_db": -16,
        "spokensts": {"shorten_silences": False, **spec},
    }


def run_import(sts: dict[str, Any], spec: dict[str, Any], out: Path) -> pd.DataFrame:
    """What the sts_natural_sample and sts_natural rules do; returns the natural manifest."""
    tables, natural = sts["dir"], natural_config(spec)
    write_natural_sample(
        tables / "pairs.tsv", tables / "sentences.tsv", natural, out / "sample.tsv", out / "script.tsv"
    )
    natural_manifest(
        tables / "pairs.tsv",
        tables / "sentences.tsv",
        out / "sample.tsv",
        natural,
        TTS,
        out / "cache",
        out / "wavs",
        out / "natural.tsv",
    )
    return read_tsv(out / "natural.tsv")


def check_imported(sts: dict[str, Any], manifest: pd.DataFrame, out: Path) -> None:
    """Exactly the released pairs and speakers, every reading kept, all 16 kHz mono, durations intact."""
    assert set(read_tsv(out / "sample.tsv")["pair_id"]) == set(CHOSEN)
    assert len(manifest) == len(CHOSEN) * 2 * len(SPEAKERS) and manifest["utt_id"].is_unique
    assert set(manifest["voice"]) == {"human-speaker-1", "human-speaker-2"}
    assert (manifest["source"] == "recorded").all()
    assert speaker_pairs(manifest, "speaker") == f"{len(CHOSEN)} pairs, 2 speakers, 4 speaker pairs"
    for row in manifest.itertuples():
        speaker = row.voice.removeprefix("human-speaker-")
        original = sts["audio"][(row.pair_id, row.side, speaker)]
        converted, rate = sf.read(row.wav_path, dtype="int16")
        assert rate == 16_000 and converted.ndim == 1
        # 44.1 kHz is resampled, not read as 16 kHz; the release's own pauses are not cut again.
        assert abs(len(converted) - len(original)) <= 2, (row.pair_id, row.side, speaker)
        n = min(len(converted), len(original))
        assert np.corrcoef(converted[:n].astype(float), original[:n].astype(float))[0, 1] > 0.99


def test_release_folders_give_every_pair_and_speaker(sts: dict[str, Any], tmp_path: Path) -> None:
    root = write_release(tmp_path / "release", sts)
    check_imported(sts, run_import(sts, {"format": "release", "path": str(root)}, tmp_path), tmp_path)


@pytest.mark.parametrize("layout", ["save_to_disk", "parquet"])
def test_hub_copy_written_by_datasets(sts: dict[str, Any], tmp_path: Path, layout: str) -> None:
    import datasets

    data = hub_dataset(sts)
    assert isinstance(data.features["audio_a"], datasets.Audio)
    if layout == "save_to_disk":
        datasets.DatasetDict({"test": data}).save_to_disk(str(tmp_path / "copy"))
    else:
        (tmp_path / "copy").mkdir()
        data.to_parquet(str(tmp_path / "copy" / "test-00000-of-00001.parquet"))
    manifest = run_import(sts, {"format": "hub", "path": str(tmp_path / "copy"), "split": "test"}, tmp_path)
    check_imported(sts, manifest, tmp_path)


def test_hub_problems_are_listed_in_one_error(sts: dict[str, Any], tmp_path: Path) -> None:
    hub_dataset(sts, bad=True).to_parquet(str(tmp_path / "bad.parquet"))
    with pytest.raises(SpokenSTSError) as error:
        run_import(sts, {"format": "hub", "path": str(tmp_path / "bad.parquet")}, tmp_path)
    lines = str(error.value).splitlines()
    assert "5 problem(s)" in lines[0] and len(lines) == 6
    assert lines[1] == (  # 4 of 22 recordings disagree under the best numberings (the same pairs)
        "  no numbering of the keys matches every recording to its STS pair (recordings that disagree, of 22, "
        "if keys count: lines from 0: 4, lines from 1: 22, scored from 0: 4, scored from 1: 22); listed below "
        "as if keys count STS.input lines from 0, which fits most"
    )
    assert (
        "row 2 " in lines[2] and f"'a man is playing a flute .' differs from side b of STS pair {CHOSEN[1]}" in lines[2]
    )
    assert "row 4 " in lines[3] and "similarity 0.25 differs from the gold score" in lines[3] and CHOSEN[2] in lines[3]
    assert all("row 10 " in line and "no STS pair 2012_MSRvid_100000 (unknown pair" in line for line in lines[4:])
    assert not (tmp_path / "sample.tsv").exists()


def test_release_problems_are_listed_in_one_error(sts: dict[str, Any], tmp_path: Path) -> None:
    root = write_release(tmp_path / "release", sts, bad=True)
    with pytest.raises(SpokenSTSError) as error:
        run_import(sts, {"format": "release", "path": str(root)}, tmp_path)
    message = str(error.value)
    # no numbering fits; a wrong text read by 2 speakers, an unknown key's 4 WAVs, a missing WAV
    assert "8 problem(s)" in message and "no numbering of the keys matches every recording" in message
    assert message.count(f"differs from side b of STS pair {CHOSEN[1]}") == 2
    assert message.count("no STS pair 2012_MSRpar_100000 (unknown pair") == 4
    assert f"pair {CHOSEN[2]}: human-speaker-2 read side a but side b has no recording (missing audio)" in message


def test_folder_with_csv(sts: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "wavs_in"
    folder.mkdir()
    rows = []
    for pair_id in CHOSEN:
        for side in "ab":
            for speaker in SPEAKERS:
                name = f"{pair_id}_{side}_{speaker}.wav"
                sf.write(folder / name, *recording(sts, pair_id, side, speaker))
                rows.append({"pair_id": pair_id, "side": side, "speaker": f"human-speaker-{speaker}", "file": name})
    pd.DataFrame(rows).to_csv(folder / "mapping.csv", index=False)
    spec = {"format": "folder", "path": str(folder), "mapping": str(folder / "mapping.csv")}
    check_imported(sts, run_import(sts, spec, tmp_path), tmp_path)
    for row in rows[:2]:
        (folder / row["file"]).unlink()
    with pytest.raises(SpokenSTSError, match=r"2 problem\(s\)") as error:
        run_import(sts, spec, tmp_path / "again")
    assert all(f"{row['file']} does not exist (missing audio)" in str(error.value) for row in rows[:2])


def test_silence_rule_can_be_applied_again(sts: dict[str, Any], tmp_path: Path) -> None:
    root = write_release(tmp_path / "release", sts)
    manifest = run_import(sts, {"format": "release", "path": str(root), "shorten_silences": True}, tmp_path)
    row = manifest[
        (manifest["pair_id"] == PAUSED_PAIR) & (manifest["side"] == "a") & (manifest["voice"] == "human-speaker-2")
    ].iloc[0]
    paused = len(sts["audio"][(PAUSED_PAIR, "a", "2")])
    assert float(row["duration"]) * 16_000 < paused - 0.9 * 16_000  # the 1.5 s pause became at most 0.5 s


def test_key_locations() -> None:
    assert release_location("STS12", "MSRpar", "MSRpar_0") == ("2012", "MSRpar", 0)
    assert release_location("STS12", "surprise.OnWN", "surprise.OnWN_1") == ("2012", "OnWN", 1)
    assert release_location("STS16", "question-question", 7) == ("2016", "question-question", 7)
    assert release_location("STS13", "FNWN", "FNWN_x") == ("2013", "FNWN", None)


def test_similarity_averages_over_all_speaker_pairs(tmp_path: Path) -> None:
    """Four speakers per side: the pair's similarity is the mean of the 16 cosines."""
    rng = np.random.default_rng(0)
    vectors = {f"human-speaker-{k}/p/{side}": rng.normal(size=8) for k in range(1, 5) for side in "ab"}
    write_store(tmp_path / "e.h5", vectors.items(), 8, "embedding")
    manifest = pd.DataFrame([(utt, "p", utt[-1]) for utt in vectors], columns=["utt_id", "pair_id", "side"])
    unit = {utt: v / np.linalg.norm(v) for utt, v in vectors.items()}
    by_hand = np.mean(
        [unit[f"human-speaker-{i}/p/a"] @ unit[f"human-speaker-{j}/p/b"] for i in range(1, 5) for j in range(1, 5)]
    )
    similarity = pair_similarities(["p"], manifest, ArrayStore(tmp_path / "e.h5"), "test")
    assert similarity[0] == pytest.approx(by_hand, abs=1e-6)
    assert speaker_pairs(manifest, "speaker") == "1 pairs, 4 speakers, 16 speaker pairs"


def test_default_run_does_not_import_datasets() -> None:
    code = (
        "import sys, vgs.sts.natural, vgs.sts.spokensts, vgs.tts.released, vgs.evaluate.sts_eval; "
        "print('datasets' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --- Released WaveNet voices in place of TTS --------------------------------------------------------

PATTERN = "SpokenSTS_wav/synthetic_speech/{voice}/{task}/{subtask}/{key}_{side}.wav"


def write_voices(root: Path, sts: dict[str, Any]) -> None:
    """The release's JSONs and a 24 kHz WAV per voice and sentence at PATTERN."""
    write_release(root, sts)
    for pair_id in CHOSEN:
        task, subtask, key = release_key(pair_id)
        for side in "ab":
            for voice in TTS["voices"].values():
                path = root / PATTERN.format(voice=voice, task=task, subtask=subtask, key=key, side="ab".index(side))
                path.parent.mkdir(parents=True, exist_ok=True)
                samples = sts["audio"][(pair_id, side, "1")]
                sf.write(path, np.rint(resample_poly(samples.astype(float), 3, 2)).astype(np.int16), 24_000)


def voice_manifests(sts: dict[str, Any], tmp_path: Path, tts: dict[str, Any], backend: Any = None) -> pd.DataFrame:
    """Synthesise the chosen pairs' sentences in voice m1 and write its manifest."""
    pairs = read_tsv(sts["dir"] / "pairs.tsv")
    pairs = pairs[pairs["pair_id"].isin(CHOSEN)]
    sentences = read_tsv(sts["dir"] / "sentences.tsv")
    sentences = sentences[sentences["sent_id"].isin(set(pairs["sent_a_id"]) | set(pairs["sent_b_id"]))]
    write_tsv(tmp_path / "pairs.tsv", pairs)
    write_tsv(tmp_path / "sentences.tsv", sentences)
    synthesize_sts_shard(tmp_path / "sentences.tsv", "m1", 0, tts, tmp_path / "cache", tmp_path / "shard0.tsv", backend)
    voice_manifest(
        tmp_path / "pairs.tsv",
        tmp_path / "sentences.tsv",
        [tmp_path / "shard0.tsv"],
        "m1",
        tmp_path / "manifest.tsv",
    )
    return read_tsv(tmp_path / "manifest.tsv")


def test_released_voices_replace_synthesis(sts: dict[str, Any], tmp_path: Path) -> None:
    write_voices(tmp_path / "release", sts)
    tts = {**TTS, "backend": "released", "released": {"path": str(tmp_path / "release"), "pattern": PATTERN}}
    released = voice_manifests(sts, tmp_path / "released", tts)
    synthesised = voice_manifests(sts, tmp_path / "synthesised", TTS, FakeBackend())
    assert list(released.columns) == MANIFEST_COLUMNS == list(synthesised.columns)
    keys = ["utt_id", "pair_id", "side", "subtask", "year", "text", "voice"]
    assert released[keys].equals(synthesised[keys])
    for row in released.itertuples():
        samples, rate = sf.read(row.wav_path, dtype="int16")
        assert rate == 16_000 and abs(len(samples) - len(sts["audio"][(row.pair_id, row.side, "1")])) <= 2


def test_released_voices_from_a_folder_and_csv(sts: dict[str, Any], tmp_path: Path) -> None:
    write_voices(tmp_path / "release", sts)
    rows = []
    for pair_id in CHOSEN:
        task, subtask, key = release_key(pair_id)
        for side in (0, 1):
            file = PATTERN.format(voice="wn-a", task=task, subtask=subtask, key=key, side=side)
            rows.append({"voice": "wn-a", "text": sts["pairs"].loc[pair_id, f"sent_{'ab'[side]}"], "file": file})
    pd.DataFrame(rows).to_csv(tmp_path / "release" / "voices.csv", index=False)
    tts = {
        **TTS,
        "backend": "released",
        "released": {"path": str(tmp_path / "release"), "mapping": "voices.csv"},
    }
    manifest = voice_manifests(sts, tmp_path / "out", tts)
    assert len(manifest) == 2 * len(CHOSEN) and (manifest["voice"] == "m1").all()


def test_missing_released_voices_are_listed(sts: dict[str, Any], tmp_path: Path) -> None:
    write_voices(tmp_path / "release", sts)
    fields = [dict(zip(("task", "subtask", "key"), release_key(pair_id))) for pair_id in CHOSEN[:2]]
    gone = [tmp_path / "release" / PATTERN.format(voice="wn-a", side=1, **field) for field in fields]
    for path in gone:
        path.unlink()
    tts = {**TTS, "backend": "released", "released": {"path": str(tmp_path / "release"), "pattern": PATTERN}}
    with pytest.raises(TTSFatalError, match="2 utterance") as error:
        voice_manifests(sts, tmp_path / "out", tts)
    assert all(str(path) in str(error.value) for path in gone)
    assert not (tmp_path / "out" / "cache").exists()  # nothing synthesised, nothing skipped


# --- The pair numbering of the keys is found from the data --------------------------------------------

# STS 2015 and 2016 have lines without a gold score, so their line numbers and scored-pair ranks
# differ; 2012 MSRvid scores every line, so there the two agree.
NUMBERED_SUBTASKS = ["2012/MSRvid", "2015/headlines", "2016/answer-answer"]
SCHEMES = {
    "lines from 0": ("lines", 0),
    "lines from 1": ("lines", 1),
    "scored from 0": ("scored", 0),
    "scored from 1": ("scored", 1),
}
TINY_WAV = wav_bytes(np.full(1600, 100, np.int16), 16_000)


@pytest.fixture(scope="module")
def numbered(shared_sts: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The real pairs of NUMBERED_SUBTASKS, each with its line and its rank among the scored pairs;
    the chosen ones are the 3rd and 40th scored pair of each subtask (after unscored lines in 2015/2016)."""
    out = tmp_path_factory.mktemp("numbered")
    ingest_sts(shared_sts, out / "pairs.tsv", out / "sentences.tsv", out / "changes.tsv", NUMBERED_SUBTASKS)
    pairs = read_tsv(out / "pairs.tsv")
    pairs["line"] = pairs["pair_id"].str.rsplit("_", n=1).str[1].astype(int)
    pairs["rank"] = pairs.groupby(["year", "subtask"]).cumcount()
    chosen = pairs.groupby(["year", "subtask"]).nth([2, 39])
    assert (chosen["line"] != chosen["rank"] + 1).sum() == 4  # 2015 and 2016: the schemes disagree
    return {"dir": out, "pairs": pairs, "chosen": chosen}


def key_of(row: Any, scheme: tuple[str, int]) -> int:
    counts, first = scheme
    return (row.line - 1 if counts == "lines" else row.rank) + first


def numbered_hub(chosen: pd.DataFrame, scheme: tuple[str, int], path: Path, audio: Any = None) -> Path:
    """A hub copy (parquet written by datasets) of ``chosen`` read by two speakers, keys numbered by
    ``scheme``; ``audio`` (a function of the side) replaces the audio cells."""
    import datasets

    rows = []
    for row in chosen.itertuples():
        for speaker in (1, 2):
            rows.append(
                {
                    "task": f"STS{row.year[2:]}",
                    "subtask": row.subtask,
                    "pair_id": key_of(row, scheme),
                    "speaker_id": speaker,
                    "similarity": float(row.gold),
                    "sentence_a": row.sent_a,
                    "sentence_b": row.sent_b,
                    **{f"audio_{side}": audio(side) if audio else {"bytes": TINY_WAV, "path": None} for side in "ab"},
                }
            )
    data = datasets.Dataset.from_list(rows)
    if audio is None:
        for column in ("audio_a", "audio_b"):
            data = data.cast_column(column, datasets.Audio())
    data.to_parquet(str(path))
    return path


def numbered_release(
    chosen: pd.DataFrame, scheme: tuple[str, int], root: Path, listed: pd.DataFrame | None = None
) -> Path:
    """The release layout of ``chosen`` (two speakers); its JSONs list ``listed`` (default: ``chosen``)."""
    for row in chosen.itertuples():
        key = f"{row.subtask}_{key_of(row, scheme)}"
        folder = root / "SpokenSTS_wav" / "natural_speech" / f"STS{row.year[2:]}" / row.subtask
        folder.mkdir(parents=True, exist_ok=True)
        for side, speaker in ((0, 1), (0, 2), (1, 1), (1, 2)):
            (folder / f"{key}_{side}_human-speaker-{speaker}.wav").write_bytes(TINY_WAV)
    for (year, subtask), group in (chosen if listed is None else listed).groupby(["year", "subtask"]):
        entries = {f"{subtask}_{key_of(row, scheme)}": [row.sent_a, row.sent_b] for row in group.itertuples()}
        (root / f"STS{year[2:]}").mkdir(parents=True, exist_ok=True)
        (root / f"STS{year[2:]}" / f"{subtask}.json").write_text(json.dumps(entries))
    return root


def sample_of(tables: Path, spec: dict[str, Any], out: Path) -> list[str]:
    """What the sts_natural_sample rule writes: the sample's pair ids."""
    write_natural_sample(
        tables / "pairs.tsv", tables / "sentences.tsv", natural_config(spec), out / "sample.tsv", out / "script.tsv"
    )
    return sorted(read_tsv(out / "sample.tsv")["pair_id"])


@pytest.mark.parametrize("form", ["hub", "release"])
@pytest.mark.parametrize("scheme", SCHEMES.values(), ids=SCHEMES.keys())
def test_numbering_is_found_from_the_data(
    numbered: dict[str, Any], tmp_path: Path, caplog, form: str, scheme: tuple[str, int]
) -> None:
    if form == "hub":
        spec = {"format": "hub", "path": str(numbered_hub(numbered["chosen"], scheme, tmp_path / "hub.parquet"))}
    else:
        spec = {"format": "release", "path": str(numbered_release(numbered["chosen"], scheme, tmp_path / "r"))}
    caplog.set_level(logging.INFO)
    assert sample_of(numbered["dir"], spec, tmp_path) == sorted(numbered["chosen"]["pair_id"])
    counts, first = scheme
    what = "STS.input lines" if counts == "lines" else "scored pairs"
    assert f"pair numbering found from the data: keys count {what} from {first}" in caplog.text


def test_no_fitting_numbering_stops_with_one_message(numbered: dict[str, Any], tmp_path: Path) -> None:
    path = numbered_hub(numbered["chosen"], ("lines", 2), tmp_path / "hub.parquet")  # keys counted from 2
    with pytest.raises(SpokenSTSError) as error:
        sample_of(numbered["dir"], {"format": "hub", "path": str(path)}, tmp_path)
    assert "no numbering of the keys matches every recording to its STS pair (recordings that disagree, of 24" in (
        str(error.value)
    )
    assert not (tmp_path / "sample.tsv").exists()


def test_two_numberings_that_give_different_pairs_stop(tmp_path: Path) -> None:
    """Lines 1 and 2 hold the same pair and score: key 1 from 0 and from 1 fits both, so nothing decides."""
    folder = tmp_path / "sts" / "STS16-en-test"
    folder.mkdir(parents=True)
    twins = "a dog runs .\ta dog is running .\n"
    (folder / "STS.input.twins.txt").write_text(twins * 2 + "a cat sleeps .\ta cat eats .\n")
    (folder / "STS.gs.twins.txt").write_text("4.2\n4.2\n1.0\n")
    ingest_sts(tmp_path / "sts", tmp_path / "pairs.tsv", tmp_path / "sentences.tsv", tmp_path / "changes.tsv")
    pairs = read_tsv(tmp_path / "pairs.tsv")
    pairs["line"], pairs["rank"] = [1, 2, 3], [0, 1, 2]
    path = numbered_hub(pairs.iloc[[1]], ("lines", 0), tmp_path / "hub.parquet")
    with pytest.raises(SpokenSTSError, match="fit more than one numbering of the keys, which give different pairs"):
        sample_of(tmp_path, {"format": "hub", "path": str(path)}, tmp_path)
    assert not (tmp_path / "sample.tsv").exists()


# --- Release JSONs may list only the recorded sample or every synthesised sentence --------------------


def test_release_json_listing_every_sentence_gives_the_recorded_sample(
    numbered: dict[str, Any], tmp_path: Path, caplog
) -> None:
    everything = numbered["pairs"]
    root = numbered_release(numbered["chosen"], ("scored", 0), tmp_path / "r", listed=everything)
    caplog.set_level(logging.INFO)
    assert sample_of(numbered["dir"], {"format": "release", "path": str(root)}, tmp_path) == sorted(
        numbered["chosen"]["pair_id"]
    )
    assert f"the JSON files list {len(everything)} keys, 6 of them with natural recordings" in caplog.text


# --- Hub audio cells: audio structs or plain float lists with a configured rate --------------------------


def float_list(side: str) -> list[float]:
    return list(np.linspace(-0.5, 0.5, 1600) * (1 if side == "a" else -1))


def test_hub_plain_float_lists_need_a_sampling_rate(numbered: dict[str, Any], tmp_path: Path) -> None:
    chosen = numbered["chosen"].iloc[:2]
    path = numbered_hub(chosen, ("lines", 0), tmp_path / "hub.parquet", audio=float_list)
    spec = {"format": "hub", "path": str(path)}
    with pytest.raises(SpokenSTSError) as error:
        sample_of(numbered["dir"], spec, tmp_path)
    assert str(error.value) == (
        f"{path}: column(s) audio_a (list<item: double>), audio_b (list<item: double>) hold plain lists of "
        "samples, which carry no sampling rate; set sts.natural.spokensts.sampling_rate to the rate of the recordings"
    )
    assert not (tmp_path / "sample.tsv").exists()  # stopped before anything was written
    tables, natural = numbered["dir"], natural_config({**spec, "sampling_rate": 8000})
    write_natural_sample(
        tables / "pairs.tsv", tables / "sentences.tsv", natural, tmp_path / "sample.tsv", tmp_path / "script.tsv"
    )
    natural_manifest(
        tables / "pairs.tsv",
        tables / "sentences.tsv",
        tmp_path / "sample.tsv",
        natural,
        TTS,
        tmp_path / "cache",
        tmp_path / "wavs",
        tmp_path / "natural.tsv",
    )
    manifest = read_tsv(tmp_path / "natural.tsv")
    assert len(manifest) == 2 * 2 * 2
    for row in manifest.itertuples():
        samples, rate = sf.read(row.wav_path, dtype="int16")
        assert rate == 16_000 and len(samples) == 3200  # 1,600 samples at 8 kHz resampled to 16 kHz
        middle = np.rint(np.asarray(float_list(row.side)) * 32767)[800]  # a slow ramp survives resampling
        assert abs(int(samples[1600]) - middle) <= 40


def test_hub_audio_of_another_form_names_the_column(numbered: dict[str, Any], tmp_path: Path) -> None:
    chosen = numbered["chosen"].iloc[:1]
    path = numbered_hub(chosen, ("lines", 0), tmp_path / "hub.parquet", audio=lambda side: "x.wav")
    with pytest.raises(SpokenSTSError, match=rf"^{path}: column audio_a holds string; expected audio cells"):
        sample_of(numbered["dir"], {"format": "hub", "path": str(path), "sampling_rate": 16000}, tmp_path)
    assert not (tmp_path / "sample.tsv").exists()


def test_sampling_rate_is_schema_checked() -> None:
    config = yaml.safe_load((Path(__file__).parents[1] / "workflow" / "config" / "paper.yaml").read_text())
    config["sts"]["natural"]["spokensts"]["sampling_rate"] = 16000
    assert validate_config(config)["sts"]["natural"]["spokensts"]["sampling_rate"] == 16000
    config["sts"]["natural"]["spokensts"]["sampling_rate"] = "16k"
    expected = r"^config error at sts\.natural\.spokensts\.sampling_rate: '16k' is not of type"
    with pytest.raises(ConfigError, match=expected):
        validate_config(config)
