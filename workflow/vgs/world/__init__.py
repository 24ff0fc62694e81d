"""The generated, visually grounded world: the offline default data of the workflow.

``scene`` samples scenes, ``render`` draws them, ``captions`` describes them in varied English,
``sts`` builds a graded sentence-similarity benchmark from them, ``formats`` writes training
corpora in the real Flickr8k / Places / SpokenCOCO on-disk formats and ``generate`` ties it all
together for the ``world_generate`` rule; ``speak`` runs the text-to-speech of a corpus.
"""
