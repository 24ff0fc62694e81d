"""synthesize_jobs: WAV format, resume after a kill, retries, and no partial file ever left behind."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from vgs.tts.backend import TTSFatalError, to_target_rate
from vgs.tts.espeak import SENTENCES_PER_RESET
from vgs.tts.synthesis import cache_wav_path, synthesize_jobs

CONFIG = {"backend": "fake", "voices": {"m1": "engine-m1"}, "shards": 1, "retries": 2}


class FakeBackend:
    """Speaks 0.1 s of tone per word; can fail on chosen texts a number of times, or for ever."""

    name = "fake"
    version = "1.0"

    def __init__(self, failures: dict[str, int] | None = None, fatal: str | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.failures = dict(failures or {})
        self.fatal = fatal

    def synthesize(self, text: str, voice: str) -> np.ndarray:
        self.calls.append((text, voice))
        if text == self.fatal:
            raise TTSFatalError("bad credentials")
        if self.failures.get(text, 0) > 0:
            self.failures[text] -= 1
            raise RuntimeError(f"engine hiccup on {text}")
        samples = len(text.split()) * 1600
        return (1000 * np.sin(np.arange(samples) / 5)).astype(np.int16)


def jobs(tmp_path: Path, texts: list[str], voice: str = "m1") -> pd.DataFrame:
    return pd.DataFrame(
        {"text": texts, "voice": voice, "wav_path": [str(tmp_path / f"{i}.wav") for i in range(len(texts))]}
    )


def test_writes_16k_mono_int16_and_durations(tmp_path: Path) -> None:
    backend = FakeBackend()
    done = synthesize_jobs(jobs(tmp_path, ["one two", "three"]), CONFIG, backend=backend)
    assert done["duration"].tolist() == pytest.approx([0.2, 0.1])
    info = sf.info(done["wav_path"][0])
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert backend.calls == [("one two", "engine-m1"), ("three", "engine-m1")]  # voice name -> engine voice


def test_killed_run_resumes_without_partial_files(tmp_path: Path) -> None:
    texts = [f"sentence number {i}" for i in range(6)]
    crashing = FakeBackend(failures={texts[3]: 99})
    with pytest.raises(RuntimeError, match="sentence number 3"):
        synthesize_jobs(jobs(tmp_path, texts), {**CONFIG, "retries": 0}, backend=crashing)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.wav", "1.wav", "2.wav"]  # no .part left
    rerun = FakeBackend()
    done = synthesize_jobs(jobs(tmp_path, texts), CONFIG, backend=rerun)
    assert [text for text, _ in rerun.calls] == texts[3:]  # only the unfinished work is redone
    assert done["duration"].notna().all()


def test_corrupt_existing_wav_is_resynthesised(tmp_path: Path) -> None:
    (tmp_path / "0.wav").write_bytes(b"RIFF garbage")
    backend = FakeBackend()
    synthesize_jobs(jobs(tmp_path, ["hello there"]), CONFIG, backend=backend)
    assert len(backend.calls) == 1 and sf.info(str(tmp_path / "0.wav")).frames == 3200


def test_transient_failures_retried_then_reported(tmp_path: Path) -> None:
    backend = FakeBackend(failures={"flaky": 2})
    synthesize_jobs(jobs(tmp_path, ["flaky"]), CONFIG, backend=backend)
    assert len(backend.calls) == 3
    backend = FakeBackend(failures={"broken": 5})
    with pytest.raises(RuntimeError, match=r"after 3 attempts .*voice 'engine-m1', text 'broken'"):
        synthesize_jobs(jobs(tmp_path / "b", ["broken"]), CONFIG, backend=backend)


def test_fatal_error_is_not_retried(tmp_path: Path) -> None:
    backend = FakeBackend(fatal="x")
    with pytest.raises(TTSFatalError):
        synthesize_jobs(jobs(tmp_path, ["x"]), CONFIG, backend=backend)
    assert len(backend.calls) == 1


def test_shared_wav_path_synthesised_once_and_clashes_rejected(tmp_path: Path) -> None:
    frame = pd.DataFrame({"text": ["same", "same"], "voice": "m1", "wav_path": [str(tmp_path / "s.wav")] * 2})
    backend = FakeBackend()
    done = synthesize_jobs(frame, CONFIG, backend=backend)
    assert len(backend.calls) == 1 and len(done) == 2
    frame.loc[1, "text"] = "other"
    with pytest.raises(ValueError, match="different text or voice"):
        synthesize_jobs(frame, CONFIG, backend=backend)


def test_cache_path_depends_on_text_voice_backend_and_version(tmp_path: Path) -> None:
    backend = FakeBackend()
    base = cache_wav_path(tmp_path, backend, "en-us+m1", "hi")
    assert base.startswith(f"{tmp_path}/fake/en-us+m1/") and base.endswith(".wav")
    other = FakeBackend()
    other.version = "2.0"
    assert (
        len(
            {
                base,
                cache_wav_path(tmp_path, backend, "en-us+f2", "hi"),
                cache_wav_path(tmp_path, backend, "en-us+m1", "ho"),
                cache_wav_path(tmp_path, other, "en-us+m1", "hi"),
            }
        )
        == 4
    )


def test_resampling_to_16k_keeps_duration_and_tone() -> None:
    rate = 22050
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.int16)
    out = to_target_rate(tone, rate)
    assert out.dtype == np.int16 and len(out) == 16000
    spectrum = np.abs(np.fft.rfft(out.astype(float)))
    assert np.argmax(spectrum) == 440  # 1 s at 16 kHz -> 1 Hz bins


KILL_SCRIPT = """
import sys
import pandas as pd
from vgs.tts.synthesis import synthesize_jobs
root = sys.argv[1]
texts = [f"sentence number {i} is spoken by a synthetic voice" for i in range(400)]
voices = ["m1", "f2"] * 200  # m1 has pitch flutter, f2 breath noise and echo: engine state that carries over
jobs = pd.DataFrame({"text": texts, "voice": voices, "wav_path": [f"{root}/{i}.wav" for i in range(400)]})
synthesize_jobs(jobs, {"backend": "espeak", "voices": {"m1": "en-us+m1", "f2": "en-us+f2"}, "retries": 0})
"""


@pytest.mark.slow
def test_sigkill_mid_synthesis_resumes_to_the_bytes_of_an_uninterrupted_run(tmp_path: Path) -> None:
    """A real kill (SIGKILL, no cleanup runs) of espeak-ng synthesis in another process, mid-block.

    The resumed shard must keep the finished WAVs and write the same bytes as a run never killed,
    which fails if the engine's state (pitch flutter, noise, echo) carries over between sentences.
    """
    out, reference = tmp_path / "wavs", tmp_path / "reference"
    out.mkdir()
    process = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(out)])
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("*.wav"))) < 40 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        process.kill()
        process.wait()
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav")}
    assert 40 <= len(before) < 400, "the kill must land mid-shard"
    assert len(before) % SENTENCES_PER_RESET, "the kill must land inside a block between engine resets"
    for name in before:  # every WAV that exists is complete and readable
        info = sf.info(out / name)
        assert info.samplerate == 16000 and info.frames > 0.5 * 16000, name

    subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(out)], check=True, timeout=300)
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav")}
    assert len(after) == 400
    assert all(after[name] == mtime for name, mtime in before.items())  # finished audio was kept
    subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(reference)], check=True, timeout=300)
    differing = [name for name in after if (out / name).read_bytes() != (reference / name).read_bytes()]
    assert not differing, f"{len(differing)} WAVs differ from an uninterrupted run, e.g. {differing[:3]}"
