"""SpokenSTS: STS ingestion (SentEval layout), the six-voice build and the natural-speech sample.

The text normalisation the engines need lives below, in :mod:`vgs.tts.normalise`."""
