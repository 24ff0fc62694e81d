"""Describe scenes in varied English, and say exactly what each description means.

Why two layers: a caption is first *planned* (which objects, which of their attributes, whether the
place and a spatial relation are mentioned) and then *realised* as words (synonyms, word order,
one of many sentence constructions). The plan alone fixes the meaning (:func:`meaning`), so two
captions of the same plan are paraphrases, and the world STS grades (``vgs.world.sts``) can be
computed from meanings rather than from surface words. Realisation choices give the variety that
real captions have: "a big red ball to the left of a blue crate on the beach", "on a beach there is
a blue box with a red ball to its left", "a photo of a red ball and a blue box".

Captions are plain lower-case English without punctuation other than commas, because they are
spoken by espeak-ng and compared as text.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from vgs.world.scene import INVERSE, Scene

# --- Lexicon: every meaning has several ways to say it -------------------------------------------

KIND_WORDS = {
    "ball": ["ball"],
    "box": ["box", "crate", "cube"],
    "triangle": ["triangle"],
    "star": ["star"],
    "tree": ["tree"],
    "house": ["house", "cottage", "hut"],
    "car": ["car", "automobile"],
    "flower": ["flower", "blossom"],
    "kite": ["kite"],
}
SIZE_WORDS = {"small": ["small", "little", "tiny"], "large": ["large", "big"]}
PLACE_PHRASES = {
    "beach": ["on a beach", "on the beach", "at the beach", "by the sea"],
    "forest": ["in a forest", "in the forest", "in the woods"],
    "street": ["on a street", "in the street", "on the road"],
    "kitchen": ["in a kitchen", "in the kitchen"],
    "field": ["in a field", "in a meadow", "on the grass"],
    "room": ["in a room", "in the room", "indoors"],
    "lake": ["by a lake", "at the lake", "near a lake"],
    "desert": ["in a desert", "in the desert", "on the sand dunes"],
}
PLACE_NOUNS = {
    "beach": ["a beach", "a sandy beach"],
    "forest": ["a forest", "a wood"],
    "street": ["a street", "a road"],
    "kitchen": ["a kitchen"],
    "field": ["a field", "a meadow"],
    "room": ["a room"],
    "lake": ["a lake shore", "a lake"],
    "desert": ["a desert", "sand dunes"],
}
# "next" is the undirected relation of two objects side by side (left or right of each other).
RELATION_PHRASES = {
    "left": ["to the left of", "left of", "on the left of"],
    "right": ["to the right of", "right of", "on the right of"],
    "above": ["above", "over"],
    "below": ["below", "under", "beneath"],
    "next": ["next to", "beside"],
}
# The same relations said of "it": "a box with a ball to its left".
RELATION_PRONOUN = {
    "left": ["to its left", "on its left"],
    "right": ["to its right", "on its right"],
    "above": ["above it", "over it"],
    "below": ["below it", "under it", "beneath it"],
    "next": ["next to it", "beside it"],
}
PICTURE_WORDS = ["a picture of", "a photo of", "an image of", "a drawing of"]

# --- Plans and meanings ---------------------------------------------------------------------------

# Weight of each kind of meaning slot in the STS grade: naming an object counts most.
SLOT_WEIGHTS = {"kind": 2.0, "colour": 1.0, "size": 1.0, "place": 1.0, "related": 1.0, "direction": 1.0}


@dataclass(frozen=True)
class Mention:
    """An object the caption mentions, and which of its attributes it states."""

    index: int
    colour: bool
    size: bool


@dataclass(frozen=True)
class Plan:
    """What a caption says: mentions in order, the place or not, and at most one relation.

    ``relation`` is a pair of scene indices (both mentioned). ``directional`` False says only that
    the two are side by side ("next to"), which is allowed for horizontal pairs only.
    """

    mentions: tuple[Mention, ...]
    place: bool
    relation: tuple[int, int] | None = None
    directional: bool = True


@dataclass(frozen=True)
class Caption:
    """A realised caption with the plan that fixes its meaning."""

    text: str
    plan: Plan


Meaning = dict[tuple[str, ...], object]


def meaning(scene: Scene, plan: Plan) -> Meaning:
    """The propositions a caption asserts, as ``slot -> value``.

    Slots: ``("kind", k)`` an object of kind k exists; ``("colour", k)`` / ``("size", k)`` its
    attributes; ``("place",)``; ``("related", k1, k2)`` the two are related in space;
    ``("direction", k1, k2)`` where k1 is relative to k2 (k1 < k2 alphabetically, so paraphrases
    that swap the order, "a left of b" / "b right of a", give the same slot and value).
    """
    result: Meaning = {}
    if plan.place:
        result[("place",)] = scene.place
    for mention in plan.mentions:
        obj = scene.objects[mention.index]
        result[("kind", obj.kind)] = True
        if mention.colour:
            result[("colour", obj.kind)] = obj.colour
        if mention.size:
            result[("size", obj.kind)] = obj.size
    if plan.relation is not None:
        a, b = sorted(plan.relation, key=lambda i: scene.objects[i].kind)
        pair = (scene.objects[a].kind, scene.objects[b].kind)
        result[("related", *pair)] = True
        if plan.directional:
            result[("direction", *pair)] = scene.relation(a, b)
    return result


def can_say_next_to(scene: Scene, a: int, b: int) -> bool:
    """ "Next to" fits horizontal neighbours only."""
    return scene.relation(a, b) in ("left", "right")


def sample_plan(scene: Scene, rng: random.Random, include: Sequence[int] = ()) -> Plan:
    """A random plan; objects in ``include`` are always mentioned.

    Probabilities mimic what people mention: colours mostly, sizes sometimes, the place often,
    a relation when two or more objects are mentioned more often than not.
    """
    others = [i for i in range(len(scene.objects)) if i not in include]
    extra = rng.randint(0 if include else 1, len(others))
    chosen = list(include) + rng.sample(others, extra)
    rng.shuffle(chosen)
    mentions = tuple(Mention(i, rng.random() < 0.75, rng.random() < 0.4) for i in chosen)
    relation, directional = None, True
    if len(chosen) >= 2 and rng.random() < 0.6:
        a, b = rng.sample(chosen, 2)
        relation = (a, b)
        directional = not (can_say_next_to(scene, a, b) and rng.random() < 0.3)
    return Plan(mentions, rng.random() < 0.7, relation, directional)


# --- Realisation ----------------------------------------------------------------------------------


def with_article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def noun_phrase(scene: Scene, mention: Mention, rng: random.Random) -> str:
    """ "a big red ball", "a crate", "a tiny cottage"."""
    obj = scene.objects[mention.index]
    words = []
    if mention.size:
        words.append(rng.choice(SIZE_WORDS[obj.size]))
    if mention.colour:
        words.append(obj.colour)
    words.append(rng.choice(KIND_WORDS[obj.kind]))
    return with_article(" ".join(words))


def join_list(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _relation_word(scene: Scene, plan: Plan) -> str:
    a, b = plan.relation  # type: ignore[misc]
    return scene.relation(a, b) if plan.directional else "next"


def _realise_relation(scene: Scene, plan: Plan, rng: random.Random) -> str:
    a, b = plan.relation  # type: ignore[misc]
    relation = _relation_word(scene, plan)
    if relation != "next" and rng.random() < 0.5:  # say it the other way round
        a, b, relation = b, a, INVERSE[relation]
    elif relation == "next" and rng.random() < 0.5:
        a, b = b, a
    by_index = {m.index: m for m in plan.mentions}
    np_a, np_b = noun_phrase(scene, by_index[a], rng), noun_phrase(scene, by_index[b], rng)
    rest = [noun_phrase(scene, m, rng) for m in plan.mentions if m.index not in (a, b)]
    phrase = rng.choice(RELATION_PHRASES[relation])
    # (words, is a clause): only clauses take the place phrase in front ("on the beach a ball is ...").
    constructions = [
        (f"{np_a} {phrase} {np_b}", False),
        (f"{np_a} is {phrase} {np_b}", True),
        (f"there is {np_a} {phrase} {np_b}", True),
        (f"{np_b} with {np_a} {rng.choice(RELATION_PRONOUN[relation])}", False),
        (f"{rng.choice(PICTURE_WORDS)} {np_a} {phrase} {np_b}", False),
    ]
    if relation == "next":
        constructions.append((f"{np_a} and {np_b} {rng.choice(['next to each other', 'side by side'])}", False))
    sentence, clause = rng.choice(constructions)
    if plan.place:
        place = rng.choice(PLACE_PHRASES[scene.place])
        sentence = f"{place} {sentence}" if clause and rng.random() < 0.4 else f"{sentence} {place}"
    if rest:
        sentence += rng.choice([", and there is also ", ", together with "]) + join_list(rest)
    return sentence


def _realise_list(scene: Scene, plan: Plan, rng: random.Random) -> str:
    objects = join_list([noun_phrase(scene, m, rng) for m in plan.mentions])
    be = "is" if len(plan.mentions) == 1 else "are"
    if not plan.place:
        return rng.choice(
            [
                objects,
                f"there {be} {objects}",
                f"{rng.choice(PICTURE_WORDS)} {objects}",
                f"you can see {objects}",
                f"{objects} can be seen",
            ]
        )
    place = rng.choice(PLACE_PHRASES[scene.place])
    return rng.choice(
        [
            f"{objects} {place}",
            f"there {be} {objects} {place}",
            f"{place} there {be} {objects}",
            f"{rng.choice(PICTURE_WORDS)} {objects} {place}",
            f"{rng.choice(PLACE_NOUNS[scene.place])} with {objects}",
            f"you can see {objects} {place}",
            f"{place} you can see {objects}",
            f"{objects} can be seen {place}",
        ]
    )


def realise(scene: Scene, plan: Plan, rng: random.Random) -> str:
    """Words for ``plan``: one of many constructions with random synonyms."""
    if plan.relation is not None:
        return _realise_relation(scene, plan, rng)
    return _realise_list(scene, plan, rng)


def caption_scene(scene: Scene, count: int, rng: random.Random) -> list[Caption]:
    """``count`` distinct captions of ``scene`` with independently sampled plans."""
    captions: list[Caption] = []
    seen: set[str] = set()
    for _ in range(50 * count):
        plan = sample_plan(scene, rng)
        text = realise(scene, plan, rng)
        if text not in seen:
            seen.add(text)
            captions.append(Caption(text, plan))
            if len(captions) == count:
                return captions
    raise RuntimeError(f"only {len(captions)} distinct captions for {scene}; asked for {count}")


def toggled(plan: Plan, rng: random.Random) -> Plan:
    """A slightly different plan of the same scene: one detail more or less (for paraphrase pairs)."""
    choice = rng.choice(["place", "attribute"] + (["relation"] if plan.relation is not None else []))
    if choice == "place":
        return replace(plan, place=not plan.place)
    if choice == "relation":
        return replace(plan, relation=None)
    position = rng.randrange(len(plan.mentions))
    mention = plan.mentions[position]
    attribute = rng.choice(["colour", "size"])
    changed = replace(mention, **{attribute: not getattr(mention, attribute)})
    return replace(plan, mentions=plan.mentions[:position] + (changed,) + plan.mentions[position + 1 :])
