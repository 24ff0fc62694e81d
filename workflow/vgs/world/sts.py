"""A graded sentence-similarity benchmark about the world, in SentEval's STS layout.

Why: the paper evaluates sentence embeddings of spoken sentences against human similarity grades.
Offline, the world supplies its own benchmark: pairs of world captions whose grade follows from
how much scene content the two sentences share. Five subtasks probe different kinds of
difference, like the real STS subtasks come from different sources:

``paraphrase``  two captions of the same scene (same or nearly the same content, other words)
``attribute``   the same content except one colour or size
``relation``    the same content except that a spatial relation is reversed
``objects``     two scenes sharing some objects but not all (and maybe not the place)
``unrelated``   captions of two independent scenes

The grade (:func:`grade`) — the formula documented for the resources README::

    grade = 5 * dice * 0.8 ** conflicts
    dice  = 2 * w(shared) / (w(A) + w(B))

A and B are the sentences' meanings (``captions.meaning``): slot -> value pairs for the place, each
named object kind (weight 2), its stated colour and size (1 each), and a stated relation
(``related`` 1, plus ``direction`` 1 unless it was only "next to"). ``shared`` are the slots with
equal values in both; ``conflicts`` count slots both sentences fill with different values
(a red ball vs. a blue ball, left vs. right, beach vs. forest): saying something different is
worse than leaving it out, as in the STS annotation guidelines. Grades are rounded to 2 decimals.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from vgs.io import write_text_atomic
from vgs.world.captions import SLOT_WEIGHTS, Meaning, Plan, meaning, realise, sample_plan, toggled
from vgs.world.scene import (
    COLOURS,
    KINDS,
    PLACES,
    SIZES,
    Scene,
    sample_scene,
    with_attribute,
    with_objects,
    with_swapped_positions,
)

SUBTASKS = ("paraphrase", "attribute", "relation", "objects", "unrelated")
CONFLICT_FACTOR = 0.8
DATASET_DIR = "WORLD-en-test"
MARKER = ".complete"


@dataclass(frozen=True)
class StsPair:
    """One line of the benchmark: two sentences and their gold grade."""

    sent_a: str
    sent_b: str
    gold: float


def _weight(slot: tuple[str, ...]) -> float:
    return SLOT_WEIGHTS[slot[0]]


def grade(a: Meaning, b: Meaning) -> float:
    """Similarity 0-5 of two meanings (see the module docstring for the formula)."""
    total = sum(map(_weight, a)) + sum(map(_weight, b))
    shared = sum(_weight(slot) for slot in a.keys() & b.keys() if a[slot] == b[slot])
    conflicts = sum(1 for slot in a.keys() & b.keys() if a[slot] != b[slot])
    return round(5 * (2 * shared / total) * CONFLICT_FACTOR**conflicts, 2) if total else 5.0


Side = tuple[Scene, Plan]
PairMaker = Callable[[random.Random], tuple[Side, Side]]


def _paraphrase(rng: random.Random) -> tuple[Side, Side]:
    scene = sample_scene(rng)
    plan = sample_plan(scene, rng)
    return (scene, plan), (scene, plan if rng.random() < 0.5 else toggled(plan, rng))


def _attribute(rng: random.Random) -> tuple[Side, Side]:
    scene = sample_scene(rng)
    plan = sample_plan(scene, rng)
    mention = rng.choice(plan.mentions)
    attribute = rng.choice(["colour", "size"])
    obj = scene.objects[mention.index]
    current = getattr(obj, attribute)
    value = rng.choice([v for v in (COLOURS if attribute == "colour" else SIZES) if v != current])
    stated = replace(mention, **{attribute: True})  # the changed attribute must be said to matter
    plan = replace(plan, mentions=tuple(stated if m.index == mention.index else m for m in plan.mentions))
    return (scene, plan), (with_attribute(scene, mention.index, attribute, value), plan)


def _relation(rng: random.Random) -> tuple[Side, Side]:
    scene = sample_scene(rng, tuple(rng.sample(KINDS, rng.choice([2, 3]))))
    plan = sample_plan(scene, rng, include=(0, 1))
    plan = replace(plan, relation=(0, 1), directional=True)
    return (scene, plan), (with_swapped_positions(scene, 0, 1), plan)


def _objects(rng: random.Random) -> tuple[Side, Side]:
    scene = sample_scene(rng)
    count = len(scene.objects)
    keep = tuple(rng.sample(range(count), rng.randint(1, max(1, count - 1))))
    unused = [k for k in KINDS if k not in {o.kind for o in scene.objects}]
    new_kinds = tuple(rng.sample(unused, rng.randint(1, 3 - len(keep))))
    other = with_objects(scene, rng, keep, new_kinds)
    if rng.random() < 0.5:
        other = replace(other, place=rng.choice(PLACES))
    shared_a, shared_b = keep[:1], (0,)  # the first kept object is object 0 of the other scene
    return (scene, sample_plan(scene, rng, include=shared_a)), (other, sample_plan(other, rng, include=shared_b))


def _unrelated(rng: random.Random) -> tuple[Side, Side]:
    first, second = sample_scene(rng), sample_scene(rng)
    return (first, sample_plan(first, rng)), (second, sample_plan(second, rng))


PAIR_MAKERS: dict[str, PairMaker] = {
    "paraphrase": _paraphrase,
    "attribute": _attribute,
    "relation": _relation,
    "objects": _objects,
    "unrelated": _unrelated,
}


def build_pairs(subtask: str, count: int, seed: int) -> list[StsPair]:
    """``count`` distinct graded pairs of one subtask (two different sentences each)."""
    if subtask not in PAIR_MAKERS:
        raise ValueError(f"unknown world STS subtask {subtask!r}; choose from {', '.join(SUBTASKS)}")
    rng = random.Random(f"world-sts:{seed}:{subtask}")
    pairs: list[StsPair] = []
    seen: set[tuple[str, str]] = set()
    for _ in range(100 * count):
        (scene_a, plan_a), (scene_b, plan_b) = PAIR_MAKERS[subtask](rng)
        sent_a, sent_b = realise(scene_a, plan_a, rng), realise(scene_b, plan_b, rng)
        if sent_a == sent_b or (sent_a, sent_b) in seen:
            continue
        seen.add((sent_a, sent_b))
        pairs.append(StsPair(sent_a, sent_b, grade(meaning(scene_a, plan_a), meaning(scene_b, plan_b))))
        if len(pairs) == count:
            return pairs
    raise RuntimeError(f"world STS {subtask}: only {len(pairs)} distinct pairs; asked for {count}")


def write_sts(root: str | Path, pairs_per_subtask: int, seed: int, subtasks: Sequence[str] = SUBTASKS) -> None:
    """Write ``root/WORLD-en-test/STS.{input,gs}.<subtask>.txt`` and then ``root/.complete``.

    Entry point of the ``world_sts`` rule.

    SentEval layout: the input file has the two sentences of a pair tab-separated on one line,
    the gs file the gold grade on the same line number.
    """
    directory = Path(root) / DATASET_DIR
    for subtask in subtasks:
        pairs = build_pairs(subtask, pairs_per_subtask, seed)
        write_text_atomic(directory / f"STS.input.{subtask}.txt", "".join(f"{p.sent_a}\t{p.sent_b}\n" for p in pairs))
        write_text_atomic(directory / f"STS.gs.{subtask}.txt", "".join(f"{p.gold:.2f}\n" for p in pairs))
    write_text_atomic(Path(root) / MARKER, f"{len(subtasks)} subtasks x {pairs_per_subtask} pairs\n")
