"""The espeak-ng (in-process) and Google Cloud (fake client) backends."""

from __future__ import annotations

import io
import logging
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from google.api_core import exceptions as api_errors

from vgs.tts.backend import TTSFatalError
from vgs.tts.engines import make_backend
from vgs.tts.google import GoogleBackend


def test_espeak_speaks_16k_int16_and_voices_differ() -> None:
    backend = make_backend({"backend": "espeak"})
    male = backend.synthesize("a man is playing a guitar.", "en-us+m1")
    female = backend.synthesize("a man is playing a guitar.", "en-us+f2")
    assert male.dtype == np.int16 and 0.8 < len(male) / 16000 < 4
    assert np.abs(male).max() > 1000
    assert not np.array_equal(male[: len(female)], female[: len(male)])
    assert backend.version.startswith("espeak-ng-")


SPEAK_SEQUENCE = """
import hashlib
from vgs.tts.engines import make_backend
backend = make_backend({"backend": "espeak"})
for voice in ("en-us+f3", "en-us+m2", "en-us+f3"):  # f3 breathes: random noise in every sentence
    print(hashlib.sha256(backend.synthesize("a small red ball is next to a blue box.", voice).tobytes()).hexdigest())
"""


@pytest.mark.slow
def test_espeak_processes_speaking_the_same_sentences_write_the_same_audio() -> None:
    runs = [
        subprocess.run([sys.executable, "-c", SPEAK_SEQUENCE], capture_output=True, text=True, check=True).stdout
        for _ in range(3)
    ]
    assert runs[0] == runs[1] == runs[2] and len(runs[0].split()) == 3


@pytest.mark.parametrize("voice", ["en-us+nosuchvariant", "xx-nowhere"])
def test_espeak_unknown_voice_is_fatal(voice: str) -> None:
    with pytest.raises(TTSFatalError, match="no voice"):
        make_backend({"backend": "espeak"}).synthesize("hello", voice)


def wav_bytes(seconds: float, rate: int = 24000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(int(seconds * rate), dtype=np.int16) + 100, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


class FakeClient:
    """Stands in for texttospeech.TextToSpeechClient: replays a script of errors, then audio."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = list(errors)
        self.requests: list[dict] = []

    def synthesize_speech(self, *, input, voice, audio_config):  # noqa: A002 - the library's keyword
        self.requests.append({"text": input.text, "voice": voice.name, "rate": audio_config.sample_rate_hertz})
        if self.errors:
            raise self.errors.pop(0)

        class Response:
            audio_content = wav_bytes(0.5)

        return Response()


def test_google_request_and_resampling() -> None:
    client = FakeClient([])
    audio = GoogleBackend(client=client).synthesize("hello", "en-US-Wavenet-D")
    assert client.requests == [{"text": "hello", "voice": "en-US-Wavenet-D", "rate": 16000}]
    assert audio.dtype == np.int16 and len(audio) == 8000


def test_google_backs_off_exponentially_on_transient_errors(caplog: pytest.LogCaptureFixture) -> None:
    delays: list[float] = []
    client = FakeClient(
        [
            api_errors.TooManyRequests("quota"),
            api_errors.ServiceUnavailable("down"),
            api_errors.DeadlineExceeded("slow"),
        ]
    )
    with caplog.at_level(logging.WARNING):
        audio = GoogleBackend(client=client, backoff_s=0.5, sleep=delays.append).synthesize("hi", "en-US-Wavenet-A")
    assert delays == [0.5, 1.0, 2.0] and len(audio) == 8000
    with pytest.raises(RuntimeError, match="after 2 attempts"):
        GoogleBackend(
            client=FakeClient([api_errors.ResourceExhausted("q")] * 2), max_attempts=2, sleep=delays.append
        ).synthesize("hi", "en-US-Wavenet-A")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (api_errors.Unauthenticated("token secret-token-123 expired"), "refused the credentials"),
        (api_errors.PermissionDenied("no"), "refused the credentials"),
        (api_errors.InvalidArgument("voice does not exist"), "rejected voice 'en-US-Nope'"),
    ],
)
def test_google_fails_fast_without_leaking_credentials(
    error: Exception, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeClient([error])
    with caplog.at_level(logging.DEBUG), pytest.raises(TTSFatalError, match=message) as raised:
        GoogleBackend(client=client, sleep=lambda _: pytest.fail("fatal errors must not be retried")).synthesize(
            "hi", "en-US-Nope"
        )
    assert len(client.requests) == 1
    assert "secret-token-123" not in str(raised.value) and "secret-token-123" not in caplog.text


def test_google_missing_credentials_message(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "absent.json"))
    with pytest.raises(TTSFatalError, match="GOOGLE_APPLICATION_CREDENTIALS") as raised:
        make_backend({"backend": "google", "google": {}})
    assert str(tmp_path) not in str(raised.value)
