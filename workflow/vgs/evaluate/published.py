"""The numbers and claims the paper publishes, as data, so a paper-configuration run can be set
beside them (:mod:`vgs.evaluate.paper_comparison`).

Source: Merkx, Frank & Ernestus (2021), "Semantic sentence similarity: size does not always
matter", Interspeech 2021 (text in ``../shared/paper/``). Table 2 (retrieval on
each corpus's 1,000-image test set), Table 3 (AIC of the five captions-per-image models), Table 1
(12,544 STS pairs), section 2.1.2 (638 natural-speech pairs) and section 2.3 (test sets) are
transcribed from the paper's text; every value below was checked against it by hand. Figures 1
and 2 are published as images only, so their values are not here, only the claims the text makes
about them (section 3).

Why a module and not a file under ``resources/``: the values are few, fixed and typed; a module
keeps them next to the source they cite and importable by the tests without a path.
"""

from __future__ import annotations

from dataclasses import dataclass

CITATION = ("Merkx, Frank & Ernestus (2021), Semantic sentence similarity: size does not always matter, "
            "Interspeech 2021")  # fmt: skip

#: The paper's model names of Table 2, keyed by corpus format (``corpora.<name>.format``).
PAPER_MODELS = {"flickr8k": "Flickr8k Audio", "places": "Places Audio", "spokencoco": "SpokenCOCO"}

#: Size of each corpus's test set in the paper (section 2.3): 1,000 images for all three.
TEST_IMAGES = 1000
#: STS pairs of the paper's SpokenSTS (Table 1, "Total"), the n of "All" and of Table 3's regressions.
STS_PAIRS = 12_544
#: Pairs of the natural-speech sample (section 2.1.2).
NATURAL_PAIRS = 638


@dataclass(frozen=True)
class Retrieval:
    """One row of Table 2: R@1, R@5, R@10 in percent and the median rank."""

    r1: float
    r5: float
    r10: float
    medr: float


#: Table 2, keyed by (corpus format, direction).
TABLE2: dict[tuple[str, str], Retrieval] = {
    ("flickr8k", "caption_to_image"): Retrieval(12.7, 35.1, 48.4, 12),
    ("places", "caption_to_image"): Retrieval(30.6, 62.6, 73.8, 3),
    ("spokencoco", "caption_to_image"): Retrieval(30.6, 64.1, 79.8, 3),
    ("flickr8k", "image_to_caption"): Retrieval(20.3, 44.8, 58.8, 7),
    ("places", "image_to_caption"): Retrieval(29.5, 62.0, 74.3, 3),
    ("spokencoco", "image_to_caption"): Retrieval(39.2, 75.3, 86.4, 2),
}


@dataclass(frozen=True)
class AicRow:
    """One row of Table 3: AIC, ΔAIC to the best model and log-likelihood of the OLS regression
    of the human scores on one captions-per-image model's similarities (All)."""

    aic: float
    delta_aic: float
    log_likelihood: float


#: Table 3, keyed by captions per image, in the paper's row order (best first).
TABLE3: dict[int, AicRow] = {
    5: AicRow(127974.5, 0.00, -63984.23),
    3: AicRow(127985.3, 10.81, -63989.64),
    4: AicRow(128116.3, 141.80, -64055.13),
    2: AicRow(128218.3, 243.80, -64106.13),
    1: AicRow(128269.7, 295.26, -64131.86),
}

#: Captions per image from the best to the worst fit in Table 3 (the order Figure 2 shows in r).
TABLE3_ORDER: tuple[int, ...] = tuple(sorted(TABLE3, key=lambda k: TABLE3[k].aic))

#: The corpora of Figure 1 from the highest to the lowest Pearson r on All (section 3: Flickr8k
#: above SpokenCOCO, both above Places, "confirmed by significant differences").
FIGURE1_ALL_ORDER = ("flickr8k", "spokencoco", "places")

#: Table 2's order of the corpora by R@10, lowest first ("performance increases with database size").
TABLE2_R10_ORDER = ("flickr8k", "places", "spokencoco")

#: The subtasks of visual descriptions (Table 1's sources "videos" and "image descriptions"), as the
#: correlation tables name subtasks (``<year> <subtask>``): section 4 says every model does best on them
#: and that SpokenCOCO beats Flickr8k mainly on them.
VISUAL_SUBTASKS = ("2012 MSRvid", "2014 images", "2015 images")
#: The subtasks section 4 names as ones "on which the model performs quite poorly".
POOR_SUBTASKS = ("2012 MSRpar", "2013 FNWN")

#: What the paper claims that no table of a run can judge, and why (the comparison's caption lists them).
NOT_JUDGED = (
    (
        "the models' similarities correlate well with human judgements (abstract; section 4)",
        "the paper sets no threshold for 'well'; the r of every subtask is in the STS table",
    ),
    (
        "training on more data makes a model overspecialise to sentences like its training data (section 4)",
        "an explanation the paper offers, with no test of its own; the visual-description claims test what it predicts",
    ),
    (
        "few captions per image explain why Places performs worst (section 4)",
        "an explanation; Places' rank is judged (Figure 1) and captions per image are judged (Table 3)",
    ),
    ("the results confirm earlier text-based work [18] (section 4)", "a claim about other work"),
    (
        "whether the trend continues beyond five captions per image (section 4)",
        "a question the paper leaves open (the study, docs/study.md, trains k up to 10 on the generated world)",
    ),
    (
        "Figure 1's and Figure 2's values and confidence intervals",
        "published as images only: no numbers to set beside this run's",
    ),
)
