"""Draw a scene as an RGB image with Pillow.

Why it looks like this: places must be told apart by an image encoder (distinct colour layouts and
simple textures, like sky over sand over sea), objects by shape and colour, and sizes and positions
must be visible, because the captions talk about all of them. Drawing happens at twice the target
size and is downsampled for smooth edges; a little seeded pixel noise makes every image unique
even when two scenes coincide. Everything is a pure function of the scene, so the same seed gives
byte-identical images.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from vgs.world.scene import COLOURS, RADIUS, Scene, SceneObject

SUPERSAMPLE = 2
NOISE_LEVEL = 6  # +- grey levels of per-pixel noise

RGB = tuple[int, int, int]
Band = tuple[float, float, RGB, RGB]  # top, bottom (fractions), colour at top, colour at bottom

# Each place is a stack of vertical gradient bands plus a texture drawn over them.
PLACE_BANDS: dict[str, list[Band]] = {
    "beach": [
        (0.0, 0.35, (120, 185, 240), (175, 215, 245)),
        (0.35, 0.5, (30, 95, 170), (50, 130, 190)),
        (0.5, 1.0, (235, 210, 150), (215, 185, 120)),
    ],
    "forest": [(0.0, 1.0, (30, 80, 35), (55, 110, 45))],
    "street": [(0.0, 0.5, (150, 150, 160), (120, 120, 130)), (0.5, 1.0, (70, 70, 75), (55, 55, 60))],
    "kitchen": [(0.0, 0.65, (235, 235, 225), (220, 220, 210)), (0.65, 1.0, (160, 110, 70), (130, 90, 55))],
    "field": [(0.0, 0.4, (110, 170, 235), (170, 205, 240)), (0.4, 1.0, (120, 190, 80), (80, 150, 50))],
    "room": [(0.0, 0.7, (215, 195, 160), (200, 180, 145)), (0.7, 1.0, (150, 100, 60), (120, 80, 45))],
    "lake": [
        (0.0, 0.35, (150, 195, 235), (195, 220, 240)),
        (0.35, 0.42, (45, 100, 50), (45, 100, 50)),
        (0.42, 1.0, (60, 120, 175), (25, 70, 130)),
    ],
    "desert": [(0.0, 0.4, (245, 225, 190), (240, 210, 165)), (0.4, 1.0, (225, 170, 95), (200, 140, 70))],
}


def _gradient(size: int, bands: list[Band]) -> np.ndarray:
    image = np.zeros((size, size, 3), dtype=np.float32)
    rows = (np.arange(size, dtype=np.float32) + 0.5) / size
    for top, bottom, start, end in bands:
        inside = (rows >= top) & (rows < bottom)
        t = ((rows[inside] - top) / (bottom - top))[:, None, None]
        image[inside] = (1 - t) * np.array(start, np.float32) + t * np.array(end, np.float32)
    return image


def _texture(place: str, draw: ImageDraw.ImageDraw, size: int, rng: random.Random) -> None:
    """Place-specific marks: trunks, road markings, tiles, planks, ripples, dunes, waves."""
    s = size
    if place == "beach":
        for _ in range(4):
            y = rng.uniform(0.37, 0.48) * s
            x = rng.uniform(0, 0.8) * s
            draw.line([(x, y), (x + 0.2 * s, y)], fill=(200, 225, 245), width=max(1, s // 96))
    elif place == "forest":
        for _ in range(7):
            x = rng.uniform(0, 1) * s
            width = rng.uniform(0.03, 0.06) * s
            draw.rectangle([x, 0, x + width, s], fill=(80, 55, 30))
    elif place == "street":
        for i in range(5):
            x = (i + rng.uniform(0.1, 0.3)) * s / 5
            draw.rectangle([x, rng.uniform(0.1, 0.3) * s, x + 0.12 * s, 0.5 * s], fill=(105, 100, 115))
        for i in range(6):
            x = (i + 0.2) * s / 6
            draw.rectangle([x, 0.74 * s, x + 0.08 * s, 0.77 * s], fill=(240, 240, 240))
    elif place == "kitchen":
        step = s / 8
        for row in range(6):
            for col in range(8):
                if (row + col) % 2 == 0 and (row + 1) * step <= 0.65 * s:
                    draw.rectangle([col * step, row * step, (col + 1) * step, (row + 1) * step], fill=(200, 215, 225))
    elif place == "field":
        for _ in range(30):
            x, y = rng.uniform(0, 1) * s, rng.uniform(0.45, 1) * s
            draw.line([(x, y), (x + 0.01 * s, y - 0.04 * s)], fill=(60, 120, 40), width=max(1, s // 96))
    elif place == "room":
        for i in range(10):
            x = (i + 0.5) * s / 10
            draw.line([(x, 0), (x, 0.7 * s)], fill=(190, 165, 125), width=max(1, s // 64))
        for i in range(4):
            y = (0.72 + 0.07 * i) * s
            draw.line([(0, y), (s, y)], fill=(95, 60, 35), width=max(1, s // 96))
    elif place == "lake":
        for _ in range(8):
            x, y = rng.uniform(0, 0.85) * s, rng.uniform(0.45, 0.98) * s
            draw.line([(x, y), (x + 0.15 * s, y)], fill=(120, 170, 210), width=max(1, s // 96))
    elif place == "desert":
        draw.ellipse([0.72 * s, 0.05 * s, 0.9 * s, 0.23 * s], fill=(250, 240, 170))
        for _ in range(3):
            x, y = rng.uniform(-0.3, 0.7) * s, rng.uniform(0.45, 0.85) * s
            draw.arc([x, y, x + 0.6 * s, y + 0.3 * s], 200, 340, fill=(185, 125, 60), width=max(1, s // 48))
    else:
        raise ValueError(f"no background defined for place {place!r}; add it to PLACE_BANDS and _texture")


def _shade(colour: RGB, factor: float) -> RGB:
    return tuple(int(min(255, max(0, c * factor))) for c in colour)  # type: ignore[return-value]


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else 0.45 * r
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def _draw_object(draw: ImageDraw.ImageDraw, obj: SceneObject, size: int) -> None:
    colour = COLOURS[obj.colour]
    edge = _shade(colour, 0.55) if obj.colour != "black" else (90, 90, 90)
    cx, cy, r = obj.x * size, obj.y * size, RADIUS[obj.size] * size
    line = max(1, size // 64)
    DRAWERS[obj.kind](draw, cx, cy, r, colour, edge, line)


def _ball(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, c: RGB, e: RGB, w: int) -> None:
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=c, outline=e, width=w)
    d.ellipse([cx - 0.5 * r, cy - 0.55 * r, cx - 0.15 * r, cy - 0.2 * r], fill=_shade(c, 1.3))


def _box(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, c: RGB, e: RGB, w: int) -> None:
    d.rectangle([cx - 0.85 * r, cy - 0.85 * r, cx + 0.85 * r, cy + 0.85 * r], fill=c, outline=e, width=w)
    d.line([(cx - 0.85 * r, cy - 0.3 * r), (cx + 0.85 * r, cy - 0.3 * r)], fill=e, width=w)


def _triangle(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, c: RGB, e: RGB, w: int) -> None:
    d.polygon([(cx, cy - r), (cx + r, cy + 0.8 * r), (cx - r, cy + 0.8 * r)], fill=c, outline=e, width=w)


def _star_shape(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, c: RGB, e: RGB, w: int) -> None:
    d.polygon(_star(cx, cy, r), fill=c, outline=e, width=w)


def _tree(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, c: RGB, e: RGB, w: int) -> None:
    d.rectangle([cx - 0.15 * r, cy, cx + 0.15 * r, cy + r], fill=(95, 60, 30))
    d.ellipse([cx - 0.75 * r, cy - r, cx + 0.75 * r, cy + 0.35 * r], fill=c, outline=e, width=w)


def _house(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, c: RGB, e: RGB, w: int) -> None:
    d.rectangle([cx - 0.75 * r, cy - 0.1 * r, cx + 0.75 * r, cy + r], fill=c, outline=e, width=w)
    d.polygon([(cx - 0.95 * r, cy - 0.1 * r), (cx, cy - r), (cx + 0.95 * r, cy - 0.1 * r)], fill=e)
    d.rectangle([cx - 0.18 * r, cy + 0.4 * r, cx + 0.18 * r, cy + r], fill=(70, 45, 25))


def _car(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, c: RGB, e: RGB, w: int) -> None:
    d.rectangle([cx - 0.5 * r, cy - 0.55 * r, cx + 0.45 * r, cy], fill=c, outline=e, width=w)
    d.rectangle([cx - r, cy - 0.1 * r, cx + r, cy + 0.45 * r], fill=c, outline=e, width=w)
    for wx in (cx - 0.55 * r, cx + 0.55 * r):
        d.ellipse([wx - 0.28 * r, cy + 0.25 * r, wx + 0.28 * r, cy + 0.8 * r], fill=(20, 20, 20))


def _flower(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, c: RGB, e: RGB, w: int) -> None:
    d.line([(cx, cy), (cx, cy + r)], fill=(40, 130, 40), width=2 * w)
    for i in range(5):
        angle = -math.pi / 2 + i * 2 * math.pi / 5
        px, py = cx + 0.4 * r * math.cos(angle), cy - 0.2 * r + 0.4 * r * math.sin(angle)
        d.ellipse([px - 0.32 * r, py - 0.32 * r, px + 0.32 * r, py + 0.32 * r], fill=c, outline=e, width=w)
    d.ellipse([cx - 0.2 * r, cy - 0.4 * r, cx + 0.2 * r, cy], fill=(250, 220, 60))


def _kite(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, c: RGB, e: RGB, w: int) -> None:
    d.line([(cx, cy + 0.6 * r), (cx + 0.4 * r, cy + r)], fill=(60, 60, 60), width=w)
    d.polygon(
        [(cx, cy - r), (cx + 0.6 * r, cy - 0.2 * r), (cx, cy + 0.6 * r), (cx - 0.6 * r, cy - 0.2 * r)],
        fill=c,
        outline=e,
        width=w,
    )
    d.line([(cx, cy - r), (cx, cy + 0.6 * r)], fill=e, width=w)


Drawer = Callable[[ImageDraw.ImageDraw, float, float, float, RGB, RGB, int], None]
DRAWERS: dict[str, Drawer] = {
    "ball": _ball,
    "box": _box,
    "triangle": _triangle,
    "star": _star_shape,
    "tree": _tree,
    "house": _house,
    "car": _car,
    "flower": _flower,
    "kite": _kite,
}


def render_scene(scene: Scene, size: int) -> Image.Image:
    """The scene as a ``size`` x ``size`` RGB image (deterministic given the scene)."""
    big = size * SUPERSAMPLE
    rng = random.Random(scene.texture_seed)
    canvas = Image.fromarray(_gradient(big, PLACE_BANDS[scene.place]).round().astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    _texture(scene.place, draw, big, rng)
    # Smaller objects last so a large object never hides a small one completely.
    for obj in sorted(scene.objects, key=lambda o: -RADIUS[o.size]):
        _draw_object(draw, obj, big)
    image = np.asarray(canvas.resize((size, size), Image.Resampling.BOX), dtype=np.int16)
    noise = np.random.default_rng(scene.texture_seed).integers(-NOISE_LEVEL, NOISE_LEVEL + 1, image.shape)
    return Image.fromarray(np.clip(image + noise, 0, 255).astype(np.uint8))
