"""Google Cloud Text-to-Speech (WaveNet en-US voices), as used for the paper's SpokenSTS.

Credentials come from the environment (``GOOGLE_APPLICATION_CREDENTIALS`` or the gcloud default);
they are never read, logged or put in error messages here. Transient failures (rate limits,
unavailable service, timeouts) are retried with exponential backoff; errors that retrying cannot
fix (authentication, permission, an invalid voice or request) stop the run at once with a message
saying what to change.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import soundfile as sf
from google.api_core import exceptions as api_errors

from vgs.tts.backend import TARGET_RATE, TTSFatalError, to_target_rate

log = logging.getLogger(__name__)

TRANSIENT_ERRORS = (
    api_errors.TooManyRequests,
    api_errors.ResourceExhausted,
    api_errors.ServiceUnavailable,
    api_errors.DeadlineExceeded,
    api_errors.InternalServerError,
    api_errors.BadGateway,
    api_errors.GatewayTimeout,
    api_errors.Aborted,
)
AUTH_ERRORS = (api_errors.Unauthenticated, api_errors.PermissionDenied, api_errors.Forbidden)
REQUEST_ERRORS = (api_errors.InvalidArgument, api_errors.NotFound, api_errors.BadRequest)
MAX_DELAY_S = 60.0


def _default_client() -> Any:
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import texttospeech

    try:
        return texttospeech.TextToSpeechClient()
    except DefaultCredentialsError:
        raise TTSFatalError(
            "Google Cloud credentials not found: set GOOGLE_APPLICATION_CREDENTIALS to your "
            "service-account key file (or run `gcloud auth application-default login`), or use "
            "tts.backend: espeak"
        ) from None


class GoogleBackend:
    """WaveNet voices such as ``en-US-Wavenet-D``; LINEAR16 at 16 kHz."""

    name = "google"

    def __init__(
        self,
        language_code: str = "en-US",
        max_attempts: int = 6,
        backoff_s: float = 1.0,
        client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from google.cloud import texttospeech

        self._tts = texttospeech
        self.language_code = language_code
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.client = client if client is not None else _default_client()
        self.sleep = sleep
        self.version = f"google-texttospeech-{texttospeech.__version__}"

    def _request(self, text: str, voice: str) -> bytes:
        response = self.client.synthesize_speech(
            input=self._tts.SynthesisInput(text=text),
            voice=self._tts.VoiceSelectionParams(language_code=self.language_code, name=voice),
            audio_config=self._tts.AudioConfig(
                audio_encoding=self._tts.AudioEncoding.LINEAR16, sample_rate_hertz=TARGET_RATE
            ),
        )
        return response.audio_content

    def synthesize(self, text: str, voice: str) -> np.ndarray:
        for attempt in range(self.max_attempts):
            try:
                content = self._request(text, voice)
                break
            except AUTH_ERRORS as error:
                raise TTSFatalError(
                    f"Google Cloud TTS refused the credentials ({type(error).__name__}); check that "
                    "GOOGLE_APPLICATION_CREDENTIALS points to a key with Text-to-Speech enabled"
                ) from None
            except REQUEST_ERRORS as error:
                raise TTSFatalError(
                    f"Google Cloud TTS rejected voice {voice!r} ({self.language_code}): "
                    f"{getattr(error, 'message', error)}; check tts.voices in config.yaml"
                ) from None
            except TRANSIENT_ERRORS as error:
                if attempt + 1 == self.max_attempts:
                    raise RuntimeError(
                        f"Google Cloud TTS still failing after {self.max_attempts} attempts ({type(error).__name__})"
                    ) from None
                delay = min(MAX_DELAY_S, self.backoff_s * 2**attempt)
                log.warning("%s from Google Cloud TTS; retrying in %.1f s", type(error).__name__, delay)
                self.sleep(delay)
        samples, rate = sf.read(io.BytesIO(content), dtype="int16")
        return to_target_rate(samples, rate)
