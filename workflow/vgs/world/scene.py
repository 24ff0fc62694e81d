"""Scenes of the generated world: a place with one to three objects in it.

Why a generated world: the workflow must run end to end offline on two CPU cores, yet every stage
(image encoder, spoken captions, retrieval, STS) needs data whose words are *grounded* in what an
image shows. A scene is the single source of truth from which the image is drawn (``render``), the
captions are said (``captions``) and the similarity of two sentences is graded (``sts``), so image,
words and grades can never disagree.

Object kinds are unique within a scene, so a kind names one object unambiguously; that keeps the
meaning of a caption ("the ball is left of the box") a simple function of the scene.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from dataclasses import dataclass

PLACES = ("beach", "forest", "street", "kitchen", "field", "room", "lake", "desert")
KINDS = ("ball", "box", "triangle", "star", "tree", "house", "car", "flower", "kite")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (205, 35, 35),
    "blue": (40, 70, 215),
    "green": (40, 165, 55),
    "yellow": (240, 215, 40),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
    "orange": (245, 135, 25),
    "purple": (135, 45, 175),
    "pink": (245, 130, 185),
    "brown": (125, 75, 35),
}
SIZES = ("small", "large")
# Half extent of an object as a fraction of the image side.
RADIUS = {"small": 0.1, "large": 0.17}
# Two objects stand in a clear relation only when one axis dominates the other by this factor;
# otherwise "left of" and "above" would both be defensible and captions could contradict the image.
DOMINANCE = 1.6
OBJECT_COUNT_WEIGHTS = {1: 1, 2: 2, 3: 2}
MAX_LAYOUT_TRIES = 500

# Relation of object a to object b; the inverse describes b relative to a.
INVERSE = {"left": "right", "right": "left", "above": "below", "below": "above"}


@dataclass(frozen=True)
class SceneObject:
    """One object: what it is, how it looks and where its centre is (fractions of the image side)."""

    kind: str
    colour: str
    size: str
    x: float  # 0 = left edge, 1 = right edge
    y: float  # 0 = top edge, 1 = bottom edge


@dataclass(frozen=True)
class Scene:
    """A place with its objects; ``texture_seed`` varies the background's fine texture only."""

    place: str
    objects: tuple[SceneObject, ...]
    texture_seed: int

    def relation(self, a: int, b: int) -> str:
        """Where object ``a`` is relative to object ``b``: left, right, above or below."""
        return relation_between(self.objects[a], self.objects[b])

    def index_of(self, kind: str) -> int:
        """Index of the object of ``kind`` (kinds are unique within a scene)."""
        for index, obj in enumerate(self.objects):
            if obj.kind == kind:
                return index
        raise KeyError(f"no {kind} in this scene ({[o.kind for o in self.objects]})")


def relation_between(a: SceneObject, b: SceneObject) -> str:
    """The dominant spatial relation of ``a`` to ``b`` (image y grows downwards)."""
    dx, dy = b.x - a.x, b.y - a.y
    if abs(dx) >= abs(dy):
        return "left" if dx > 0 else "right"
    return "above" if dy > 0 else "below"


def _fits(candidate: SceneObject, placed: list[SceneObject]) -> bool:
    """No overlap with the objects already placed and an unambiguous relation to each of them."""
    for other in placed:
        dx, dy = abs(candidate.x - other.x), abs(candidate.y - other.y)
        if max(dx, dy) < RADIUS[candidate.size] + RADIUS[other.size] + 0.02:
            return False
        if max(dx, dy) < DOMINANCE * min(dx, dy):
            return False
    return True


def _layout(rng: random.Random, looks: list[tuple[str, str, str]]) -> tuple[SceneObject, ...]:
    """Place objects (kind, colour, size) one by one by rejection sampling."""
    for _ in range(MAX_LAYOUT_TRIES):
        placed: list[SceneObject] = []
        for kind, colour, size in looks:
            margin = RADIUS[size] + 0.03
            for _ in range(50):
                candidate = SceneObject(
                    kind, colour, size, rng.uniform(margin, 1 - margin), rng.uniform(margin, 1 - margin)
                )
                if _fits(candidate, placed):
                    placed.append(candidate)
                    break
            else:
                break
        if len(placed) == len(looks):
            return tuple(placed)
    raise RuntimeError(f"could not lay out {looks} without overlap in {MAX_LAYOUT_TRIES} tries")


def sample_scene(rng: random.Random, kinds: tuple[str, ...] | None = None) -> Scene:
    """Draw a random scene; ``kinds`` fixes which objects it holds (else 1-3 random kinds)."""
    place = rng.choice(PLACES)
    if kinds is None:
        count = rng.choices(list(OBJECT_COUNT_WEIGHTS), weights=list(OBJECT_COUNT_WEIGHTS.values()))[0]
        kinds = tuple(rng.sample(KINDS, count))
    looks = [(kind, rng.choice(list(COLOURS)), rng.choice(SIZES)) for kind in kinds]
    return Scene(place, _layout(rng, looks), rng.getrandbits(32))


def with_objects(scene: Scene, rng: random.Random, keep: tuple[int, ...], new_kinds: tuple[str, ...]) -> Scene:
    """A new scene keeping the looks of objects ``keep`` and adding objects of ``new_kinds``.

    Used for the STS "objects" subtask: two scenes that share some objects but not all. Kept
    objects keep kind, colour and size; everything is laid out afresh.
    """
    looks = [(scene.objects[i].kind, scene.objects[i].colour, scene.objects[i].size) for i in keep]
    looks += [(kind, rng.choice(list(COLOURS)), rng.choice(SIZES)) for kind in new_kinds]
    return Scene(scene.place, _layout(rng, looks), rng.getrandbits(32))


def with_attribute(scene: Scene, index: int, attribute: str, value: str) -> Scene:
    """The same scene with one attribute (``colour`` or ``size``) of one object changed."""
    objects = list(scene.objects)
    objects[index] = dataclasses.replace(objects[index], **{attribute: value})
    return dataclasses.replace(scene, objects=tuple(objects))


def with_swapped_positions(scene: Scene, a: int, b: int) -> Scene:
    """The same scene with objects ``a`` and ``b`` trading places (their relation flips)."""
    objects = list(scene.objects)
    oa, ob = objects[a], objects[b]
    objects[a] = dataclasses.replace(oa, x=ob.x, y=ob.y)
    objects[b] = dataclasses.replace(ob, x=oa.x, y=oa.y)
    return dataclasses.replace(scene, objects=tuple(objects))


def describe(scene: Scene) -> str:
    """A compact, canonical description for tables: place; objects; relations."""
    objects = ", ".join(f"{o.size} {o.colour} {o.kind}" for o in scene.objects)
    relations = ", ".join(
        f"{scene.objects[a].kind} {scene.relation(a, b)} {scene.objects[b].kind}"
        for a, b in itertools.combinations(range(len(scene.objects)), 2)
    )
    return f"{scene.place}; {objects}; {relations}"
