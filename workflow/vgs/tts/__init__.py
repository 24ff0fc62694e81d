"""Text-to-speech: backends behind one interface and sharded, resumable, cached synthesis.

``vgs.tts.synthesis.synthesize_jobs`` is the entry point other stages call; the backend is chosen
by ``config["tts"]["backend"]`` (``espeak`` offline, ``google`` with the user's credentials,
``released`` reading the paper's released WaveNet WAVs instead of synthesising) in
:func:`vgs.tts.engines.make_backend`; :mod:`vgs.tts.normalise` rewrites text that engines misread.
"""
