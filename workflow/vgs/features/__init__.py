"""Feature caches: MFCCs of utterances and frozen-CNN features of images, as ArrayStore files.

Entry points: :func:`vgs.features.mfcc.extract_mfcc_store` and
:func:`vgs.features.images.extract_image_store`.
"""
