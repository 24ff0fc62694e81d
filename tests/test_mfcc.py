"""MFCC features: value-by-value agreement with python_speech_features (psf) configured as the authors
configure it, for every recipe the config offers, on espeak-ng speech; shape, frame rate,
normalisation, format conversion, errors, and the cache store (sharding, atomicity)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import python_speech_features as psf
import soundfile
import torch

from vgs.features.audio import AudioError, read_audio
from vgs.features.mfcc import (
    C0_CHOICES,
    NORMALISATIONS,
    MfccExtractor,
    MfccSettings,
    extract_mfcc_store,
    fft_bin_filterbank,
)
from vgs.io import write_tsv
from vgs.store import ArrayStore
from vgs.tts.engines import make_backend
from vgs_ops.bench.mfcc import psf_features

RATE = 16_000


def speech_like(seconds: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """Random "syllables" of 80-300 ms: each with its own pitch, loudness and harmonic weights
    (a changing spectral envelope, so the cepstra move like speech's), plus a little noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    bounds = np.cumsum(rng.uniform(0.08, 0.3, size=int(seconds / 0.08) + 2) * rate).astype(int)
    syllable = np.searchsorted(bounds, np.arange(n), side="right")
    count = syllable.max() + 1
    pitch, loudness = rng.uniform(90, 240, count)[syllable], rng.uniform(0.05, 0.3, count)[syllable]
    weights = rng.uniform(0, 1, (count, 12)) ** 2
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voiced = sum(weights[syllable, h - 1] * np.sin(h * phase) for h in range(1, 13))
    start = np.concatenate([[0], bounds])[syllable]
    fade = np.minimum(1.0, (np.arange(n) - start) / (0.02 * rate))
    return (loudness * fade * voiced / 3 + 0.005 * rng.standard_normal(n)).astype(np.float32)


def extract(path: Path, settings: MfccSettings = MfccSettings()) -> np.ndarray:
    extractor = MfccExtractor(settings)
    return extractor([read_audio(path, extractor.min_samples)])[0]


SENTENCES = [
    ("a young boy in a red shirt is climbing on a wooden fence.", "en-us+m1"),
    ("two dogs run through the snow, chasing a small ball.", "en-us+f3"),
    ("a man reads a newspaper at the station.", "en-us+m3"),
]
SILENT_GAP = 3200  # 0.2 s of digital silence: frames whose energies psf floors at machine epsilon


@pytest.fixture(scope="module")
def espeak_speech(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    """Real espeak-ng sentences (16 kHz int16 WAVs read back as float32), plus two of them joined by a
    stretch of digital silence; the samples both sides of the comparison receive."""
    backend = make_backend({"backend": "espeak"})
    spoken = [backend.synthesize(text, voice) for text, voice in SENTENCES]
    spoken.append(np.concatenate([spoken[0], np.zeros(SILENT_GAP, np.int16), spoken[1]]))
    directory = tmp_path_factory.mktemp("espeak")
    for index, samples in enumerate(spoken):
        soundfile.write(directory / f"{index}.wav", samples, RATE, subtype="PCM_16")
    return [read_audio(directory / f"{index}.wav").numpy() for index in range(len(spoken))]


# Every front end the config offers, and non-default framing / filterbank / cepstra / delta settings.
RECIPES = [MfccSettings(c0=c0, normalise=mode) for c0 in C0_CHOICES for mode in NORMALISATIONS] + [
    MfccSettings(window_ms=20, hop_ms=5, n_mels=26, c0="dct", normalise="static"),
    MfccSettings(
        window_ms=32,
        hop_ms=12.5,
        n_fft=1024,
        n_mels=64,
        n_mfcc=20,
        preemphasis=0.95,
        delta_window=7,
        c0="energy",
        normalise="none",
    ),
]
TOLERANCE = 1e-4


@pytest.mark.parametrize("settings", RECIPES, ids=lambda s: f"{s.c0}-{s.normalise}-{s.window_ms}ms-{s.n_mels}mels")
def test_features_equal_python_speech_features_value_by_value(
    espeak_speech: list[np.ndarray], settings: MfccSettings
) -> None:
    """Our batched torch front end against psf configured to the same recipe (``ceplifter=0``;
    ``appendEnergy`` for ``c0: energy``), then the authors' normalisation and ``psf.delta``.

    Tolerance: absolute 1e-4 on every feature value. Both sides compute in float64 and ours stores
    float32: normalised features have unit variance (rounding below 1e-6; measured at most 2.3e-7),
    raw ones reach |228| (the DCT c0 of a silent frame, whose log energies psf floors at -36), where
    float32 rounds by up to 7.6e-6 (measured 7.5e-6). A float32 spectrum already misses by 2e-4 here
    (8e-4 on other espeak sentences), while the recipe changes this test guards against move normalised values by 0.09
    (periodic instead of symmetric window) to 1 or more (torchaudio's filterbank, frames shifted by
    one sample, c0 as DCT instead of log energy, an affine slip such as ``2x + 5``); psf's default
    lifter shows in ``normalise: none`` only, since normalisation divides each coefficient by its
    own scale.
    """
    ours = MfccExtractor(settings)([torch.from_numpy(samples) for samples in espeak_speech])
    for index, (samples, features) in enumerate(zip(espeak_speech, ours, strict=True)):
        reference = psf_features(samples, settings)
        assert features.shape == reference.shape, f"utterance {index}"
        np.testing.assert_allclose(features, reference, rtol=0, atol=TOLERANCE, err_msg=f"utterance {index}")


def test_digital_silence_is_floored_as_psf_does(espeak_speech: list[np.ndarray]) -> None:
    """The joined utterance holds whole frames of digital silence: psf logs machine epsilon there
    (c0 = log(2.2e-16) = -36.04), which the value-by-value test above then pins."""
    raw = MfccExtractor(MfccSettings(normalise="none"))([torch.from_numpy(espeak_speech[-1])])[0]
    assert (np.abs(raw[:, 0] - np.log(np.finfo(np.float64).eps)) < 1e-4).sum() >= 10


@pytest.mark.parametrize("n_mels, n_fft", [(40, 512), (26, 512), (64, 1024), (80, 512)])
def test_filterbank_equals_python_speech_features(n_mels: int, n_fft: int) -> None:
    np.testing.assert_array_equal(fft_bin_filterbank(n_mels, n_fft), psf.get_filterbanks(n_mels, n_fft, RATE))


@pytest.mark.parametrize("window_ms, hop_ms", [(25, 10), (20, 5), (32, 12.5)])
def test_frame_count_equals_python_speech_features(window_ms: float, hop_ms: float) -> None:
    settings = MfccSettings(window_ms=window_ms, hop_ms=hop_ms)
    for samples in [*range(1, 1300, 7), 399, 400, 401, 559, 560, 561, 48_000]:
        framed = psf.sigproc.framesig(np.zeros(samples), window_ms / 1000 * RATE, hop_ms / 1000 * RATE)
        assert settings.frames(samples) == len(framed), samples


def test_inconsistent_settings_are_rejected() -> None:
    for settings, message in [
        (MfccSettings(n_fft=256), "shorter than"),
        (MfccSettings(c0="log"), "c0 must"),
        (MfccSettings(normalise="cmvn"), "normalise must"),
        (MfccSettings(delta_window=4), "must be odd"),
    ]:
        with pytest.raises(ValueError, match=message):
            MfccExtractor(settings)


def test_shape_frame_rate_and_static_normalisation(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "a.wav", speech_like(3.0), RATE, subtype="PCM_16")
    features = extract(tmp_path / "a.wav")
    assert features.shape == (299, 39)  # 1 + ceil((48,000 - 400) / 160): psf's count, last frame padded
    static = features[:, :13]
    np.testing.assert_allclose(static.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(static.std(0), 1, atol=1e-3)
    assert features[:, 13:].std(0).min() > 0.01  # deltas computed, not zero


def test_normalisation_choices(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "a.wav", speech_like(2.0), RATE)
    every = extract(tmp_path / "a.wav", MfccSettings(normalise="all"))
    np.testing.assert_allclose(every.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(every.std(0), 1, atol=1e-3)
    raw = extract(tmp_path / "a.wav", MfccSettings(normalise="none"))
    assert abs(raw[:, 0].mean()) > 1  # c0 (log frame energy) is far from zero when not normalised
    static = extract(tmp_path / "a.wav", MfccSettings(normalise="static"))
    scale = raw[:, :13].std(0)
    # deltas are linear: static-normalised deltas are the raw deltas divided by the static std
    np.testing.assert_allclose(static[:, 13:26], raw[:, 13:26] / scale, rtol=1e-3, atol=1e-3)


def test_batched_equals_one_at_a_time() -> None:
    extractor = MfccExtractor()
    waves = [torch.from_numpy(speech_like(seconds, seed=n)) for n, seconds in enumerate((0.5, 2.3, 0.04, 1.1))]
    together = extractor(waves)
    for wave, batched in zip(waves, together, strict=True):
        np.testing.assert_allclose(batched, extractor([wave])[0], atol=1e-4)


@pytest.mark.parametrize(
    "subtype, channels, rate",
    [("PCM_24", 1, RATE), ("FLOAT", 1, RATE), ("PCM_16", 2, RATE), ("PCM_16", 1, 44_100), ("PCM_U8", 1, 8000)],
)
def test_formats_are_converted(tmp_path: Path, subtype: str, channels: int, rate: int) -> None:
    reference = tmp_path / "ref.wav"
    soundfile.write(reference, speech_like(1.5), RATE, subtype="PCM_16")
    mono = speech_like(1.5, rate=rate)
    data = np.stack([mono, mono * 0.5], axis=1) if channels == 2 else mono
    path = tmp_path / "a.wav"
    soundfile.write(path, data, rate, subtype=subtype)
    audio = read_audio(path)
    assert audio.dtype == torch.float32 and audio.ndim == 1
    assert abs(audio.shape[0] - int(1.5 * RATE)) <= 1
    ours, expected = extract(path), extract(reference)
    frames = min(len(ours), len(expected))
    tolerance = 0.6 if subtype == "PCM_U8" or rate != RATE else 0.05  # 8-bit and resampling change fine detail
    assert np.abs(ours[:frames, :13] - expected[:frames, :13]).mean() < tolerance


def test_clipped_and_silent_audio_are_accepted(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "clip.wav", np.clip(speech_like(1.0) * 20, -1, 1), RATE, subtype="PCM_16")
    soundfile.write(tmp_path / "silent.wav", np.zeros(RATE, np.int16), RATE, subtype="PCM_16")
    assert np.isfinite(extract(tmp_path / "clip.wav")).all()
    silent = extract(tmp_path / "silent.wav")
    assert silent.shape == (99, 39) and np.abs(silent).max() < 1e-6


def test_bad_files_raise_errors_naming_them(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, np.int16), RATE, subtype="PCM_16")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(100))
    soundfile.write(tmp_path / "short.wav", np.zeros(200, np.int16), RATE, subtype="PCM_16")
    soundfile.write(tmp_path / "nan.wav", np.full(RATE, np.nan, np.float32), RATE, subtype="FLOAT")
    for name, reason in [
        ("empty", "no samples"),
        ("corrupt", "cannot read"),
        ("short", "shorter than one"),
        ("nan", "NaN"),
    ]:
        with pytest.raises(AudioError, match=f"{name}.wav.*{reason}"):
            read_audio(tmp_path / f"{name}.wav", min_samples=512)


def write_manifest(tmp_path: Path, count: int) -> Path:
    rows = []
    for n in range(count):
        wav = tmp_path / "wavs" / f"u{n}.wav"
        wav.parent.mkdir(exist_ok=True)
        soundfile.write(wav, speech_like(0.3 + 0.1 * n, seed=n), RATE, subtype="PCM_16")
        rows.append({"utt_id": f"u{n}", "wav_path": str(wav), "text": "x"})
    rows.append(dict(rows[0]))  # STS manifests repeat utterances shared by several pairs
    write_tsv(tmp_path / "manifest.tsv", pd.DataFrame(rows))
    return tmp_path / "manifest.tsv"


def test_store_shards_deduplicate_and_record_settings(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, 7)
    paths = [tmp_path / f"shard{i}.h5" for i in range(3)]
    for i, path in enumerate(paths):
        extract_mfcc_store(manifest, path, {"normalise": "static", "shards": 3}, shard=i, shards=3)
    store = ArrayStore(paths)
    assert sorted(store) == [f"u{n}" for n in range(7)]
    assert store.kind == "mfcc" and store.dim == 39 and store.metadata["normalise"] == "static"
    expected = extract(tmp_path / "wavs" / "u4.wav")
    np.testing.assert_allclose(store["u4"], expected, atol=1e-5)
    assert store.length("u4") == len(expected)


def test_bad_file_leaves_no_store_and_lists_every_bad_file(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, 4)
    (tmp_path / "wavs" / "u1.wav").write_bytes(b"not audio")
    (tmp_path / "wavs" / "u3.wav").unlink()
    out = tmp_path / "out" / "shard0.h5"
    with pytest.raises(AudioError, match=r"(?s)2 of 4 audio files .* unusable.*u1.wav.*u3.wav"):
        extract_mfcc_store(manifest, out)
    assert list(out.parent.iterdir()) == []


def test_silent_utterances_are_named_for_the_terminal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Digital silence passes every load-time check (its header is sound, its start is quiet); the
    MFCC stage, which reads every sample, names it so the rule can say it on the terminal."""
    manifest = write_manifest(tmp_path, 4)
    soundfile.write(tmp_path / "wavs" / "u2.wav", np.zeros(RATE, np.int16), RATE, subtype="PCM_16")
    silent: list[str] = []
    assert extract_mfcc_store(manifest, tmp_path / "shard0.h5", silent=silent) == 4
    assert silent == ["u2"]
    assert "1 utterance(s) are digital silence; their normalised features are all zero: u2" in caplog.text
    assert np.abs(ArrayStore(tmp_path / "shard0.h5")["u2"]).max() < 1e-6  # zero up to float64 rounding


def test_extraction_logs_progress_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Progress lines (vgs.progress), counted in utterances: here one chunk, so one line."""
    manifest = write_manifest(tmp_path, 3)
    with caplog.at_level("INFO", logger="vgs.features.mfcc"):
        extract_mfcc_store(manifest, tmp_path / "shard0.h5")
    assert [message.split(",")[0] for message in caplog.messages if " utt (" in message] == ["mfcc: 3/3 utt (100.0%)"]


def test_interrupted_extraction_leaves_nothing_a_rerun_accepts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = write_manifest(tmp_path, 5)
    out = tmp_path / "out" / "shard0.h5"
    calls = 0
    real = MfccExtractor.__call__

    def interrupted(self, waveforms):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt  # what Ctrl-C / SIGINT from Snakemake raises mid-run
        return real(self, waveforms)

    monkeypatch.setattr("vgs.features.mfcc.READ_CHUNK", 2)
    monkeypatch.setattr(MfccExtractor, "__call__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        extract_mfcc_store(manifest, out)
    assert not out.exists() and list(out.parent.iterdir()) == []
    monkeypatch.setattr(MfccExtractor, "__call__", real)
    assert extract_mfcc_store(manifest, out) == 5 and len(ArrayStore(out)) == 5
