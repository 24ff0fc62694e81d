"""The world's scenes, images, captions and STS grades: deterministic, varied and consistent."""

from __future__ import annotations

import dataclasses
import io
import random
import re
import statistics

import numpy as np
import pytest

from vgs.world.captions import (
    KIND_WORDS,
    PLACE_NOUNS,
    PLACE_PHRASES,
    RELATION_PHRASES,
    SIZE_WORDS,
    Mention,
    Plan,
    caption_scene,
    meaning,
    realise,
)
from vgs.world.render import NOISE_LEVEL, render_scene
from vgs.world.scene import COLOURS, INVERSE, RADIUS, Scene, SceneObject, sample_scene
from vgs.world.sts import SUBTASKS, build_pairs, grade, write_sts

SCENES = [sample_scene(random.Random(f"test:{i}")) for i in range(60)]


def _png(scene: Scene, size: int = 64) -> bytes:
    buffer = io.BytesIO()
    render_scene(scene, size).save(buffer, format="PNG")
    return buffer.getvalue()


def test_same_seed_gives_identical_scenes_images_and_captions():
    first, second = (sample_scene(random.Random("seed")) for _ in range(2))
    assert first == second
    assert _png(first) == _png(second)
    texts = [[c.text for c in caption_scene(first, 10, random.Random("captions"))] for _ in range(2)]
    assert texts[0] == texts[1]


def _pixels(scene: Scene, size: int) -> np.ndarray:
    return np.asarray(render_scene(scene, size), dtype=int)


def test_each_object_is_drawn_in_its_colour_at_its_place_and_size():
    """Read the objects back from the image: what the drawing of the objects changes (against the
    same scene rendered without objects: same background, same noise) lies inside the objects'
    boxes (centre +- radius), spans at least 1.5 radii of each box (every shape spans 1.6-2 radii one
    way; a small object drawn large would leave its box, a large one drawn small spans at most
    1.2 of its radii), and is mostly the object's colour: that colour covers at least 15% of the
    changed pixels in its box (measured minimum 18%, a small kite, whose outline and string are
    much of it) and more than any other colour of the palette does (at most 8% there: a car's
    black wheels)."""
    size = 128
    rows, columns = np.mgrid[0:size, 0:size] + 0.5  # pixel centres
    palette = {name: np.array(rgb) for name, rgb in COLOURS.items()}
    for scene in SCENES:
        image = _pixels(scene, size)
        changed = (image != _pixels(dataclasses.replace(scene, objects=()), size)).any(axis=2)
        boxes = np.zeros_like(changed)
        for obj in scene.objects:
            radius = RADIUS[obj.size] * size
            box = (np.abs(columns - obj.x * size) <= radius + 1) & (np.abs(rows - obj.y * size) <= radius + 1)
            boxes |= box
            drawn = changed & box
            assert drawn.any(), f"{obj} not drawn in {scene}"
            ys, xs = np.nonzero(drawn)
            extent = max(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) / radius
            assert extent >= 1.5, f"{obj} spans {extent:.2f} radii in {scene}"
            share = {
                name: ((np.abs(image - rgb).max(axis=2) <= NOISE_LEVEL) & drawn).sum() / drawn.sum()
                for name, rgb in palette.items()
            }
            assert share[obj.colour] >= 0.15 and max(share, key=share.get) == obj.colour, (obj, share, scene)
        assert not (changed & ~boxes).any(), f"drawn outside the objects' boxes in {scene}"


def test_image_has_the_configured_size():
    image = render_scene(SCENES[0], 80)
    assert image.size == (80, 80) and image.mode == "RGB"


def test_layout_has_no_overlaps_and_unambiguous_relations():
    for scene in SCENES:
        assert 1 <= len(scene.objects) <= 3
        assert len({o.kind for o in scene.objects}) == len(scene.objects)
        for a in range(len(scene.objects)):
            for b in range(a + 1, len(scene.objects)):
                oa, ob = scene.objects[a], scene.objects[b]
                dx, dy = abs(oa.x - ob.x), abs(oa.y - ob.y)
                assert max(dx, dy) >= RADIUS[oa.size] + RADIUS[ob.size]
                assert scene.relation(b, a) == INVERSE[scene.relation(a, b)]


def test_at_least_ten_distinct_lower_case_captions_per_image():
    for index, scene in enumerate(SCENES):
        texts = [c.text for c in caption_scene(scene, 12, random.Random(index))]
        assert len(set(texts)) == 12
        for text in texts:
            assert text == text.lower() and "  " not in text and re.fullmatch(r"[a-z ,]+", text), text


def _all_captions() -> list[str]:
    return [c.text for i, s in enumerate(SCENES) for c in caption_scene(s, 10, random.Random(i))]


def test_grammar_uses_synonyms_constructions_and_optional_parts():
    texts = _all_captions()
    joined = "\n".join(texts)
    for word in ["big", "large", "small", "little", "box", "crate", "car", "automobile"]:
        assert re.search(rf"\b{word}\b", joined), f"synonym {word!r} never used"
    for construction in [
        r"^there (is|are) ",
        r"^you can see ",
        r" can be seen",
        r" with .* to its (left|right)",
        r"^an? (picture|photo|image|drawing) of ",
        r"^(on|in|at|by|near) .* there (is|are) ",
    ]:
        assert any(re.search(construction, t) for t in texts), f"construction {construction!r} never used"
    with_place = sum(any(p in t for ps in PLACE_PHRASES.values() for p in ps) for t in texts)
    with_relation = sum(any(p in t for ps in RELATION_PHRASES.values() for p in ps) for t in texts)
    assert 0.3 * len(texts) < with_place < 0.95 * len(texts)
    assert 0.1 * len(texts) < with_relation < 0.9 * len(texts)


def test_caption_words_say_exactly_what_the_plan_means():
    for index, scene in enumerate(SCENES):
        for caption in caption_scene(scene, 10, random.Random(index)):
            said = meaning(scene, caption.plan)
            words = set(re.findall(r"[a-z]+", caption.text))
            for slot, value in said.items():
                if slot[0] == "kind":
                    assert words & set(KIND_WORDS[slot[1]]), (caption.text, slot)
                if slot[0] == "colour":
                    assert value in words, (caption.text, slot)
                if slot[0] == "size":
                    assert words & set(SIZE_WORDS[value]), (caption.text, slot)
                if slot[0] == "place":
                    assert any(p in caption.text for p in PLACE_PHRASES[value] + PLACE_NOUNS[value]), caption.text
            stated_colours = {v for s, v in said.items() if s[0] == "colour"}
            assert {c for c in COLOURS if c in words} == stated_colours, caption.text


def test_relation_words_match_the_geometry():
    """Ball left of box: whatever the construction, the object nearest before "left" is the ball."""
    scene = Scene(
        "beach", (SceneObject("ball", "red", "small", 0.2, 0.5), SceneObject("box", "blue", "small", 0.8, 0.55)), 0
    )
    plan = Plan((Mention(0, True, False), Mention(1, True, False)), True, (0, 1), True)
    kinds = {w: k for k, ws in KIND_WORDS.items() for w in ws}
    for seed in range(80):
        words = realise(scene, plan, random.Random(seed)).split()
        side = next(w for w in words if w in ("left", "right"))
        before = [kinds[w] for w in words[: words.index(side)] if w in kinds]
        assert before[-1] == ("ball" if side == "left" else "box"), " ".join(words)
        assert not {"above", "below", "under", "over", "beneath"} & set(words)


def test_grade_is_symmetric_bounded_and_penalises_contradiction_more_than_omission():
    scene = SCENES[5]
    full = Plan(tuple(Mention(i, True, True) for i in range(len(scene.objects))), True)
    said = meaning(scene, full)
    assert grade(said, said) == 5.0
    without_place = meaning(scene, Plan(full.mentions, False))
    other_place = {**said, ("place",): "nowhere"}
    assert grade(said, without_place) == grade(without_place, said)
    assert 0 < grade(said, other_place) < grade(said, without_place) < 5


@pytest.fixture(scope="module")
def pairs() -> dict[str, list]:
    return {subtask: build_pairs(subtask, 60, seed=3) for subtask in SUBTASKS}


def test_pairs_are_distinct_graded_and_vary_within_subtasks(pairs):
    for subtask, subtask_pairs in pairs.items():
        assert len(subtask_pairs) == 60
        assert len({(p.sent_a, p.sent_b) for p in subtask_pairs}) == 60
        assert all(p.sent_a != p.sent_b and 0 <= p.gold <= 5 for p in subtask_pairs)
        assert len({p.gold for p in subtask_pairs}) >= 4, f"{subtask} grades barely vary"


def test_subtask_grades_are_ordered_by_how_much_meaning_is_shared(pairs):
    mean = {subtask: statistics.mean(p.gold for p in ps) for subtask, ps in pairs.items()}
    assert mean["paraphrase"] > mean["attribute"] > mean["objects"] > mean["unrelated"]
    assert mean["paraphrase"] > mean["relation"] > mean["unrelated"]


def test_unknown_subtask_is_named():
    with pytest.raises(ValueError, match="unknown world STS subtask 'colour'"):
        build_pairs("colour", 3, seed=1)


def test_sts_files_follow_the_senteval_layout(tmp_path):
    write_sts(tmp_path, 25, seed=4)
    folder = tmp_path / "WORLD-en-test"
    for subtask in SUBTASKS:
        inputs = (folder / f"STS.input.{subtask}.txt").read_text(encoding="utf-8").splitlines()
        golds = (folder / f"STS.gs.{subtask}.txt").read_text(encoding="utf-8").splitlines()
        assert len(inputs) == len(golds) == 25
        assert all(len(line.split("\t")) == 2 and all(line.split("\t")) for line in inputs)
        assert all(0 <= float(gold) <= 5 for gold in golds)
    assert (tmp_path / ".complete").is_file()
    from vgs.sts.senteval import load_sts

    loaded = load_sts(tmp_path)
    assert len(loaded) == 25 * len(SUBTASKS)
    assert set(loaded["year"]) == {"WORLD"} and set(loaded["subtask"]) == set(SUBTASKS)


def test_sts_is_byte_identical_for_the_same_seed(tmp_path):
    write_sts(tmp_path / "a", 10, seed=9)
    write_sts(tmp_path / "b", 10, seed=9)
    for path in (tmp_path / "a" / "WORLD-en-test").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / "WORLD-en-test" / path.name).read_bytes()
