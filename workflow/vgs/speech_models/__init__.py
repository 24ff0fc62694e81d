"""External speech models (self-supervised wav2vec 2.0, HuBERT, WavLM, ... from Hugging Face
``transformers``) scored on SpokenSTS layer by layer beside the trained VGS models.

``spec`` plans (layers read, checks at planning time, no torch), ``hf`` loads models and pools
hidden states (torch, numpy and transformers only, for the GPU benchmark), ``embed`` writes the
per-layer embedding stores of the SpokenSTS utterance sets. Each layer read is then evaluated by
``vgs.evaluate`` exactly as a trained model (system ``<name>-L<layer>``, kind ``speech model``).
"""
