"""SpokenSTS: STS ingestion (SentEval layout), TTS text normalisation, the six-voice build and
the natural-speech sample."""
