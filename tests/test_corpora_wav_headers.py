"""A WAV whose header alone is wrong is read as what it holds (and listed in ``repaired.tsv``); a WAV
cut short is still refused as truncated. The files are written byte by byte in the layout of the
Flickr8k release (44-byte canonical header, 16 kHz mono 16-bit PCM), independently of libsndfile, and
what is read is compared with the standard library's ``wave`` reader, which the authors' repair used.
"""

from __future__ import annotations

import hashlib
import logging
import struct
import wave
from pathlib import Path

import numpy as np
import pytest
import yaml

from checkout import run_snakemake
from conftest import REPO
from test_corpora import MIN_SAMPLES, write_flickr8k
from vgs.corpora.audio_check import HeaderRepair, check_audio
from vgs.corpora.load import load_corpus
from vgs.corpora.manifest import CorpusError
from vgs.features.audio import read_audio
from vgs.io import read_tsv

RATE = 16_000
FRAMES = 16_000  # one second of audio present in every fixture


def canonical_wav(samples: np.ndarray, data_size: int, riff_size: int) -> bytes:
    """A 44-byte-header PCM WAV (16 kHz mono 16-bit) with the two size fields given by hand."""
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, 2 * RATE, 2, 16)
    header = b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    return header + b"data" + struct.pack("<I", data_size) + samples.astype("<i2").tobytes()


def speech_like() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.rint(8000 * np.sin(np.arange(FRAMES) / 7.0) + rng.normal(0, 300, FRAMES)).astype(np.int16)


def wrong_header(samples: np.ndarray) -> bytes:
    """Header declares twice the data present; the RIFF size is the file's true length (a header fault)."""
    return canonical_wav(samples, data_size=4 * FRAMES, riff_size=36 + 2 * FRAMES)


def cut_download(samples: np.ndarray) -> bytes:
    """A two-second file with a consistent header, cut after its first second (a broken download)."""
    whole = np.concatenate([samples, samples])
    return canonical_wav(whole, data_size=4 * FRAMES, riff_size=36 + 4 * FRAMES)[: 44 + 2 * FRAMES]


# (file bytes, expected outcome): every case holds one second of audio and declares two.
CASES = {
    "data size wrong, RIFF size right": (wrong_header, HeaderRepair(2.0, 1.0)),
    "data size beyond a smaller RIFF size": (
        lambda s: canonical_wav(s, data_size=4 * FRAMES, riff_size=36 + FRAMES),
        HeaderRepair(2.0, 1.0),
    ),
    "both sizes agree, file cut short": (
        cut_download,
        "truncated: the header declares 2.000 s of audio, the file holds 1.000 s",
    ),
    "sizes contradict each other, data end inside a frame": (
        lambda s: wrong_header(s)[:-1],
        "damaged: the header's sizes contradict each other and the data end inside a frame (1 of 2 bytes)",
    ),
}


@pytest.mark.parametrize(("make", "expected"), CASES.values(), ids=CASES.keys())
def test_wrong_header_is_told_from_a_cut_download(tmp_path: Path, make, expected) -> None:
    path = tmp_path / "caption.wav"
    path.write_bytes(make(speech_like()))
    check = check_audio(str(path), MIN_SAMPLES)
    if isinstance(expected, HeaderRepair):
        assert check.problem is None and check.repair == expected
    else:
        assert check.problem == expected and check.repair is None


def test_the_mfcc_stage_reads_what_the_file_holds_and_the_file_is_unchanged(tmp_path: Path) -> None:
    """read_audio (the MFCC stage's reader) gets the frames present, as the stdlib wave reader does."""
    path = tmp_path / "caption.wav"
    path.write_bytes(wrong_header(speech_like()))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert check_audio(str(path), MIN_SAMPLES).repair == HeaderRepair(2.0, 1.0)
    with wave.open(str(path)) as reference:  # reads the bytes present, whatever nframes says
        assert reference.getnframes() == 2 * FRAMES
        present = np.frombuffer(reference.readframes(reference.getnframes()), "<i2")
    assert len(present) == FRAMES
    samples = read_audio(path, MIN_SAMPLES).numpy()
    np.testing.assert_array_equal(samples, present.astype(np.float32) / 32768)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def paper_flickr8k(root: Path) -> dict:
    """paper.yaml's Flickr8k entry (on_bad_audio left at its default, stop) pointed at ``root``."""
    spec = yaml.safe_load((REPO / "workflow" / "config" / "paper.yaml").read_text())["corpora"]["flickr8k"]
    assert "on_bad_audio" not in spec
    return {**spec, "root": str(root)}


def flickr8k_wavs(root: Path) -> list[Path]:
    write_flickr8k(root, {"train": 3, "val": 1, "test": 1}, captions=3)
    return sorted((root / "flickr_audio" / "wavs").glob("*.wav"))


def test_paper_flickr8k_keeps_a_wrong_header_and_lists_it(tmp_path: Path, caplog) -> None:
    wavs = flickr8k_wavs(tmp_path / "flickr8k")
    wavs[4].write_bytes(wrong_header(speech_like()))
    before = wavs[4].read_bytes()
    out = tmp_path / "results"
    caplog.set_level(logging.INFO)
    summary = load_corpus(
        paper_flickr8k(tmp_path / "flickr8k"),
        "flickr8k",
        out / "manifest.tsv",
        out / "rejected.tsv",
        tmp_path / "logs" / "stop.tsv",
        MIN_SAMPLES,
    )
    assert str(wavs[4]) in set(read_tsv(out / "manifest.tsv")["wav_path"])
    repaired = read_tsv(out / "repaired.tsv")
    assert repaired.to_dict("records") == [
        {"utt_id": wavs[4].stem, "wav_path": str(wavs[4]), "declared_s": "2.0", "actual_s": "1.0"}
    ]
    assert len(read_tsv(out / "rejected.tsv")) == 0
    assert wavs[4].read_bytes() == before
    assert "15 wavs checked: 0 rejected" in caplog.text
    assert "15 kept, 1 of them read as what they hold despite a wrong header" in caplog.text
    assert summary.repaired == 1  # and the line the rule prints on the terminal says so:
    line = summary.line(out / "rejected.tsv")
    assert f"0 rejected for unusable audio (listed in {out / 'rejected.tsv'}), 1 repaired" in line


def test_paper_flickr8k_still_stops_on_a_cut_download(tmp_path: Path) -> None:
    wavs = flickr8k_wavs(tmp_path / "flickr8k")
    wavs[4].write_bytes(cut_download(speech_like()))
    out = tmp_path / "results"
    with pytest.raises(CorpusError) as error:
        load_corpus(
            paper_flickr8k(tmp_path / "flickr8k"),
            "flickr8k",
            out / "manifest.tsv",
            out / "rejected.tsv",
            tmp_path / "logs" / "stop.tsv",
            MIN_SAMPLES,
        )
    assert f"{wavs[4]} (utterance {wavs[4].stem}): truncated: the header declares 2.000 s" in str(error.value)
    assert not (out / "repaired.tsv").exists()


@pytest.mark.slow
def test_rule_declares_repaired_tsv_and_the_report_counts_it(tmp_path: Path) -> None:
    wavs = flickr8k_wavs(tmp_path / "flickr8k")
    wavs[4].write_bytes(wrong_header(speech_like()))
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["corpora"]["f8k"] = paper_flickr8k(tmp_path / "flickr8k")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))

    def snakemake(*args: str) -> str:
        return run_snakemake(tmp_path, *args)

    terminal = snakemake("results/corpora/f8k/manifest.tsv")
    assert "1 repaired (listed in results/corpora/f8k/repaired.tsv)" in terminal
    assert list(read_tsv(tmp_path / "results" / "corpora" / "f8k" / "repaired.tsv")["wav_path"]) == [str(wavs[4])]
    log = (tmp_path / "results" / "logs" / "load_corpus" / "f8k.log").read_text()
    assert "1 of them read as what they hold despite a wrong header" in log
    snakemake("results/corpora/f8k/repaired.tsv", "--report", "report.html")
    report = (tmp_path / "report.html").read_text()
    assert '"labels": {"corpus": "f8k", "repaired wavs": 1}' in report  # repaired.tsv's own entry
    assert '"repaired wavs": 1, ' in report.split('"labels": {"corpus": "f8k", "kept utterances"')[1]  # the summary
