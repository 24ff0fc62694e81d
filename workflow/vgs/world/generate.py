"""Generate the world's training corpora: images, captions, metadata in real formats, speech jobs.

Entry point of the ``world_generate`` rule (the world STS is ``vgs.world.sts``, its own rule, so
changing the benchmark does not regenerate the corpora and retrain every model). Every random
choice is drawn from a ``random.Random`` seeded with a string naming the world seed, the corpus and
the image number, so an image's scene and captions do not depend on how many images later splits
or other corpora have, and the same config gives byte-identical files.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image
from tqdm import tqdm

from vgs.io import atomic_path, read_tsv, write_tsv
from vgs.world.captions import caption_scene
from vgs.world.formats import FORMATS, SPLIT_NAMES, CorpusImage
from vgs.world.render import render_scene
from vgs.world.scene import describe, sample_scene

log = logging.getLogger(__name__)

JPEG_QUALITY = 95
JOBS_FILE = "speech_jobs.tsv"
# What the wavs under a corpus root were (or will be) synthesised from; survives Snakemake's removal
# of the rule's declared outputs, so a regeneration can delete exactly the wavs whose text changed.
ISSUED_FILE = ".speech_jobs.issued.tsv"
JOB_COLUMNS = ["text", "voice", "wav_path"]


def assign_voices(speakers: Sequence[str], count: int, rng: random.Random) -> list[str]:
    """Voices for an image's captions: all different while there are enough, then cycling."""
    order = rng.sample(list(speakers), len(speakers))
    return [order[k % len(order)] for k in range(count)]


def corpus_images(name: str, spec: Mapping[str, Any], world: Mapping[str, Any]) -> list[CorpusImage]:
    """Scenes, captions and voices of every image of one world corpus, split by split."""
    fmt = FORMATS[spec["format"]]
    images, number = [], 0
    for split in SPLIT_NAMES:
        for _ in range(spec["images"][split]):
            number += 1
            rng = random.Random(f"world:{world['seed']}:{name}:{number}")
            scene = sample_scene(rng)
            captions = tuple(c.text for c in caption_scene(scene, spec["captions_per_image"], rng))
            voices = tuple(assign_voices(world["speakers"], len(captions), rng))
            images.append(CorpusImage(fmt.image_id(number, split), split, scene, captions, voices))
    return images


def discard_stale_audio(root: Path, jobs: pd.DataFrame) -> int:
    """Delete wavs under ``root`` that were synthesised from another text or voice than ``jobs`` ask.

    Text-to-speech skips wavs that exist (so killed runs resume); after a config change the
    same wav name may stand for a different caption, and a stale wav would silently mismatch its
    text. Without a record of what was issued before, every existing job wav is suspect.
    Returns the number of wavs deleted.
    """
    issued_path = root / ISSUED_FILE
    issued = (
        read_tsv(issued_path, JOB_COLUMNS).set_index("wav_path")[["text", "voice"]].to_dict("index")
        if issued_path.is_file()
        else {}
    )
    deleted = 0
    for text, voice, wav in jobs[JOB_COLUMNS].itertuples(index=False):
        if issued.get(wav) != {"text": text, "voice": voice} and (root / wav).is_file():
            (root / wav).unlink()
            deleted += 1
    write_tsv(issued_path, jobs[JOB_COLUMNS])
    return deleted


def save_jpeg(image_path: Path, image: Image.Image) -> None:
    with atomic_path(image_path) as tmp:
        image.save(tmp, format="JPEG", quality=JPEG_QUALITY)


def write_corpus(name: str, spec: Mapping[str, Any], world: Mapping[str, Any], root: Path) -> list[CorpusImage]:
    """Write one corpus in its real format plus ``speech_jobs.tsv``; return its images."""
    fmt = FORMATS[spec["format"]]
    images = corpus_images(name, spec, world)
    for image in tqdm(images, desc=f"world {name}: images", unit="img", mininterval=5):
        save_jpeg(root / fmt.image_path(image), render_scene(image.scene, world["image_size"]))
    utterances = fmt.write_metadata(root, images)
    relative = pd.DataFrame([(u.text, u.voice, u.wav) for u in utterances], columns=JOB_COLUMNS)
    deleted = discard_stale_audio(root, relative)
    jobs = relative.assign(wav_path=[str(root / wav) for wav in relative["wav_path"]])
    write_tsv(root / JOBS_FILE, jobs)
    log.info(
        "%s (%s): %d images, %d captions; %d stale wavs deleted", name, spec["format"], len(images), len(jobs), deleted
    )
    return images


def generate_corpora(world: Mapping[str, Any], out_dir: str | Path) -> None:
    """Write ``out_dir/corpora/<name>/`` for every world corpus and ``out_dir/scenes.tsv``.

    ``out_dir`` as given prefixes the wav paths in ``speech_jobs.tsv``; pass it relative to the
    directory the workflow runs in (``resources/world``), so jobs paths are repository-relative.
    ``scenes.tsv`` lists every image with its scene and captions, for inspection and reports.
    """
    out = Path(out_dir)
    rows = []
    for name, spec in world["corpora"].items():
        root = out / "corpora" / name
        fmt = FORMATS[spec["format"]]
        for image in write_corpus(name, spec, world, root):
            rows.append(
                {
                    "corpus": name,
                    "split": image.split,
                    "image_id": image.image_id,
                    "image_path": str(root / fmt.image_path(image)),
                    "scene": describe(image.scene),
                    "captions": " | ".join(image.captions),
                }
            )
    write_tsv(out / "scenes.tsv", pd.DataFrame(rows))
