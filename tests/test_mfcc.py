"""MFCC features: shape, frame rate, normalisation, format conversion, errors, agreement with
python_speech_features, and the cache store (sharding, atomicity)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import python_speech_features as psf
import soundfile
import torch

from vgs.features.audio import AudioError, read_audio
from vgs.features.mfcc import MfccExtractor, MfccSettings, extract_mfcc_store
from vgs.io import write_tsv
from vgs.store import ArrayStore

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
    return MfccExtractor(settings)([read_audio(path, settings.n_fft)])[0]


def test_shape_frame_rate_and_static_normalisation(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "a.wav", speech_like(3.0), RATE, subtype="PCM_16")
    features = extract(tmp_path / "a.wav")
    assert features.shape == (1 + (3 * RATE - 512) // 160, 39)
    assert abs(features.shape[0] - 300) <= 3  # 100 frames per second
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
    assert abs(raw[:, 0].mean()) > 1  # c0 of log-mel energies is far from zero when not normalised
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


def test_static_coefficients_agree_with_python_speech_features(tmp_path: Path) -> None:
    """Same recipe in the authors' library: the cepstra must track ours frame by frame.

    torch.stft centres the 400-sample window in a 512-sample frame, 56 samples later than
    python_speech_features' frames, so the reference gets the signal from sample 56 on. Higher
    cepstra agree less because python_speech_features rounds filter edges to FFT bins.
    """
    signal = speech_like(4.0, seed=3)
    soundfile.write(tmp_path / "a.wav", signal, RATE, subtype="PCM_16")
    ours = extract(tmp_path / "a.wav", MfccSettings(n_mels=26, normalise="none"))
    audio = read_audio(tmp_path / "a.wav").numpy()
    reference = psf.mfcc(audio[56:], RATE, winlen=0.025, winstep=0.01, numcep=13, nfilt=26, nfft=512,
                         preemph=0.97, appendEnergy=False, winfunc=np.hamming)
    frames = min(len(ours), len(reference))
    correlations = [np.corrcoef(ours[:frames, c], reference[:frames, c])[0, 1] for c in range(13)]
    assert np.median(correlations) > 0.95 and min(correlations) > 0.75, np.round(correlations, 3)
    shuffled = np.corrcoef(ours[:frames, 1], np.roll(reference[:frames, 1], 50))[0, 1]
    assert shuffled < 0.5  # the agreement is frame by frame, not a property of the coefficient


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
    assert silent.shape == (97, 39) and np.abs(silent).max() < 1e-6


def test_bad_files_raise_errors_naming_them(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, np.int16), RATE, subtype="PCM_16")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(100))
    soundfile.write(tmp_path / "short.wav", np.zeros(200, np.int16), RATE, subtype="PCM_16")
    soundfile.write(tmp_path / "nan.wav", np.full(RATE, np.nan, np.float32), RATE, subtype="FLOAT")
    for name, reason in [("empty", "no samples"), ("corrupt", "cannot read"), ("short", "shorter than one"),
                         ("nan", "NaN")]:
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
