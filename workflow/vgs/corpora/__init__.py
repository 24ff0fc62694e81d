"""Training corpora: real-format loaders (Flickr8k Audio, Places Audio, SpokenCOCO) into one manifest.

Every corpus, the generated world's included, goes through the same loaders, so the embedded run
exercises exactly the code a full-scale run uses. Entry points: :func:`vgs.corpora.load.load_corpus`
and :func:`vgs.corpora.subsets.make_subset`.
"""
