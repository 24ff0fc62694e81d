"""The released SpokenSTS natural speech: read it from any of its three forms, match it to STS pairs.

Why a separate importer: the paper's 638 natural-speech pairs were chosen by the authors, so the
natural sample is *the pairs present in the data*, not a draw, and every speaker's reading of a
pair is kept (four speakers read every pair). The data comes in three forms, all reduced here to
one inventory (one row per recording, :data:`INVENTORY_COLUMNS`):

* ``release``: the original release's folders, ``<root>/SpokenSTS_wav/natural_speech/<STSyy>/
  <subtask>/<key>_<0|1>_human-speaker-<n>.wav`` (0 = first sentence, 1 = second) beside per-subtask
  JSON files ``<root>/<STSyy>/<subtask>.json`` mapping each key to its two sentences;
* ``hub``: the Hugging Face copy (``juice500/spoken_sts``: split ``test``, one row per pair and
  speaker, columns ``task subtask pair_id speaker_id audio_a audio_b similarity`` and sometimes the
  texts), read through ``datasets`` from the hub or from a local copy (a ``save_to_disk`` folder,
  or parquet files);
* ``folder``: a plain folder of WAVs with a CSV ``pair_id,side,speaker,file``.

The key -> STS pair mapping: a release key is ``<subtask>_<n>`` (the hub's ``pair_id`` is the
``<n>``, as third-party readers join them into the release's file names); ``<n>`` numbers the
pairs of the subtask's ``STS.input`` file from ``first_key`` (the file's line ``n - first_key + 1``).
The exact numbering is not documented in the release, so every row is checked against what the
STS files say: the sentence texts where the data has them (both normalised as for synthesis and
compared by their words, :func:`vgs.sts.normalise.comparison_key`), and the gold score where it
has one. An off-by-one numbering therefore fails loudly, listing the rows.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from vgs.sts.build import make_pair_id
from vgs.sts.normalise import comparison_key
from vgs.sts.senteval import subtask_label, year_label

INVENTORY_COLUMNS = ["pair_id", "side", "speaker", "text", "gold", "where", "ref"]
SIDE_OF_INDEX = {"0": "a", "1": "b"}
RELEASE_NATURAL = Path("SpokenSTS_wav") / "natural_speech"
RELEASE_WAV = re.compile(r"(?P<key>.+)_(?P<side>[01])_human-speaker-(?P<speaker>\w+)\.wav")
HUB_COLUMNS = ("task", "subtask", "pair_id", "speaker_id", "audio_a", "audio_b")
HUB_TEXT_COLUMNS = (
    ("sentence_a", "sentence_b"),
    ("text_a", "text_b"),
    ("sent_a", "sent_b"),
    ("sentence1", "sentence2"),
)
GOLD_TOLERANCE = 1e-3  # STS gold files carry at most 3-4 decimals

AudioReader = Callable[[str], tuple[np.ndarray, int]]


class SpokenSTSError(ValueError):
    """Released SpokenSTS data that does not fit the STS pairs; the message lists every problem."""


def speaker_name(speaker_id: object) -> str:
    """The release's speaker label: ``1`` -> ``human-speaker-1`` (labels already in that form pass)."""
    text = str(speaker_id)
    return text if text.startswith("human-speaker-") else f"human-speaker-{text}"


def key_number(key: object, subtask: str) -> int | None:
    """The ``<n>`` of a key ``<subtask>_<n>`` (or of a bare ``<n>``); ``None`` if it has neither form."""
    text = str(key).strip()
    for prefix in (f"{subtask}_", f"surprise.{subtask}_"):
        if text.startswith(prefix):
            text = text.removeprefix(prefix)
            break
    return int(text) if text.isdigit() else None


def release_pair_id(task: str, subtask: str, key: object, first_key: int) -> str | None:
    """Our pair id for a release key of ``task`` (``STS12``) / ``subtask``; ``None`` if unparseable."""
    label = subtask_label(str(subtask))
    number = key_number(key, label)
    if number is None:
        return None
    return make_pair_id(year_label(f"{task}-en-test"), label, number - first_key + 1)


def _inventory(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=INVENTORY_COLUMNS)
    frame["gold"] = frame["gold"].astype(float)
    return frame


def release_inventory(root: Path, first_key: int) -> tuple[pd.DataFrame, list[str], AudioReader]:
    """Recordings of the release folder at ``root``; problems of its own layout (unparseable names,
    WAVs whose key the subtask's JSON lacks, JSON keys without any WAV) come back as messages."""
    natural = root / RELEASE_NATURAL
    if not natural.is_dir():
        raise SpokenSTSError(f"{natural}: not found; sts.natural.spokensts.path must hold SpokenSTS_wav/")
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    json_paths = sorted(root.glob("STS*/*.json"))
    texts: dict[tuple[str, str], dict[str, list[str]]] = {}
    for path in json_paths:
        try:
            texts[(path.parent.name, path.stem)] = {
                str(k): v for k, v in json.loads(path.read_text()).items()
            }
        except (json.JSONDecodeError, AttributeError, UnicodeDecodeError) as error:
            problems.append(f"{path}: not a JSON object of key -> [sentence 1, sentence 2] ({error})")
    heard: set[tuple[str, str, str]] = set()
    for wav in sorted(natural.glob("*/*/*.wav")):
        task, subtask = wav.parent.parent.name, wav.parent.name
        match = RELEASE_WAV.fullmatch(wav.name)
        if match is None:
            problems.append(f"{wav}: name is not <key>_<0|1>_human-speaker-<n>.wav")
            continue
        key, side = match["key"], SIDE_OF_INDEX[match["side"]]
        sentences = texts.get((task, subtask), {})
        if key not in sentences:
            problems.append(f"{wav}: key {key!r} is not in {root / task / subtask}.json")
            continue
        heard.add((task, subtask, key))
        pair_id = release_pair_id(task, subtask, key, first_key)
        if pair_id is None:
            problems.append(f"{wav}: key {key!r} is not <subtask>_<number>")
            continue
        if not (isinstance(sentences[key], list) and len(sentences[key]) == 2):
            problems.append(f"{root / task / subtask}.json: key {key!r} does not hold two sentences")
            continue
        text = sentences[key][int(match["side"])]
        rows.append(
            {
                "pair_id": pair_id,
                "side": side,
                "speaker": speaker_name(match["speaker"]),
                "text": text,
                "gold": math.nan,
                "where": str(wav),
                "ref": str(wav),
            }
        )
    for (task, subtask), sentences in texts.items():
        for key in sorted(set(sentences) - {k for t, s, k in heard if (t, s) == (task, subtask)}):
            problems.append(f"{root / task / subtask}.json: key {key!r} has no recording under {natural}")
    return _inventory(rows), problems, read_wav


def read_wav(path: str) -> tuple[np.ndarray, int]:
    """int16-scaled samples ``[n, channels]`` and the rate of an audio file."""
    samples, rate = sf.read(path, dtype="int16", always_2d=True)
    return samples, int(rate)


def folder_inventory(folder: Path, mapping: Path) -> tuple[pd.DataFrame, list[str], AudioReader]:
    """Recordings listed by a CSV ``pair_id,side,speaker,file`` (file relative to ``folder``)."""
    if not mapping.is_file():
        raise SpokenSTSError(f"{mapping}: recordings CSV not found (sts.natural.spokensts.mapping)")
    table = pd.read_csv(mapping, dtype=str, keep_default_na=False)
    needed = ["pair_id", "side", "speaker", "file"]
    absent = [column for column in needed if column not in table.columns]
    if absent:
        raise SpokenSTSError(f"{mapping}: missing column(s) {absent}; need {needed}")
    problems = [
        f"{mapping} line {line}: side {side!r} is not a or b"
        for line, side in enumerate(table["side"], start=2)
        if side not in ("a", "b")
    ] + [
        f"{mapping} line {line}: {folder / file} does not exist (missing audio)"
        for line, file in enumerate(table["file"], start=2)
        if not (folder / file).is_file()
    ]
    rows = [
        {
            "pair_id": row.pair_id,
            "side": row.side,
            "speaker": row.speaker,
            "text": "",
            "gold": math.nan,
            "where": f"{mapping} line {line}",
            "ref": str(folder / row.file),
        }
        for line, row in enumerate(table.itertuples(), start=2)
        if row.side in ("a", "b")
    ]
    return _inventory(rows), problems, read_wav


def open_hub(spec: Mapping[str, Any]) -> Any:
    """The hub copy as a ``datasets.Dataset``: from the hub (``dataset``) or a local copy (``path``:
    a ``save_to_disk`` folder, a parquet file, or a folder of parquet files). Audio is left encoded
    (``decode=False``) and decoded by soundfile, so no audio back end of ``datasets`` is needed.

    ``datasets`` is imported here only: nothing else in the workflow needs it.
    """
    try:
        import datasets
    except ImportError as error:
        raise SpokenSTSError(
            "sts.natural.spokensts.format 'hub' needs the 'datasets' package (pip install datasets)"
        ) from error
    split = spec.get("split", "test")
    if "dataset" in spec:
        data = datasets.load_dataset(spec["dataset"], split=split)  # the only line tests cannot reach
    else:
        path = Path(spec["path"])
        parquet = [path] if path.is_file() else sorted(path.rglob("*.parquet"))
        if path.is_dir() and any((path / name).is_file() for name in ("dataset_dict.json", "state.json")):
            data = datasets.load_from_disk(str(path))
            data = data[split] if isinstance(data, datasets.DatasetDict) else data
        elif parquet:
            data = datasets.Dataset.from_parquet([str(file) for file in parquet])
        else:
            raise SpokenSTSError(f"{path}: neither a datasets save_to_disk folder nor parquet files")
    absent = [column for column in HUB_COLUMNS if column not in data.column_names]
    if absent:
        raise SpokenSTSError(f"{spec.get('dataset', spec.get('path'))}: missing column(s) {absent}")
    for column in ("audio_a", "audio_b"):
        if isinstance(data.features[column], datasets.Audio):
            data = data.cast_column(column, datasets.Audio(decode=False))
    return data


def decode_hub_audio(value: Mapping[str, Any], where: str) -> tuple[np.ndarray, int]:
    """Samples of one hub audio cell: encoded (``bytes``, ``path``) or decoded (``array``, rate)."""
    if value.get("array") is not None:
        array = np.asarray(value["array"], dtype=np.float64)
        return array * 32767.0, int(value["sampling_rate"])
    if value.get("bytes"):
        samples, rate = sf.read(io.BytesIO(value["bytes"]), dtype="int16", always_2d=True)
        return samples, int(rate)
    if value.get("path"):
        return read_wav(value["path"])
    raise SpokenSTSError(f"{where}: audio cell holds neither bytes, a path nor an array")


def hub_inventory(spec: Mapping[str, Any], first_key: int) -> tuple[pd.DataFrame, list[str], AudioReader]:
    """Recordings of the hub copy: each row gives two, ``audio_a`` and ``audio_b``."""
    data = open_hub(spec)
    label = spec.get("dataset", spec.get("path"))
    text_columns = next((pair for pair in HUB_TEXT_COLUMNS if set(pair) <= set(data.column_names)), None)
    wanted = [c for c in ("task", "subtask", "pair_id", "speaker_id", "similarity") if c in data.column_names]
    meta = data.select_columns(wanted + list(text_columns or ())).to_pandas()
    rows, problems = [], []
    for index, row in enumerate(meta.itertuples(index=False)):
        where = (
            f"{label} row {index} ({row.task} {row.subtask} pair_id {row.pair_id} speaker {row.speaker_id})"
        )
        pair_id = release_pair_id(str(row.task), str(row.subtask), row.pair_id, first_key)
        if pair_id is None:
            problems.append(f"{where}: pair_id is not a number")
            continue
        for number, side in enumerate(("a", "b")):
            text = getattr(row, text_columns[number]) if text_columns else ""
            # The row's one score is checked once, with side a.
            gold = getattr(row, "similarity", math.nan) if side == "a" else math.nan
            rows.append(
                {
                    "pair_id": pair_id,
                    "side": side,
                    "speaker": speaker_name(row.speaker_id),
                    "text": text or "",
                    "gold": gold,
                    "where": f"{where} audio_{side}",
                    "ref": f"{index}:audio_{side}",
                }
            )

    def read(ref: str) -> tuple[np.ndarray, int]:
        index, column = ref.split(":")
        return decode_hub_audio(data[int(index)][column], f"{label} row {index} {column}")

    return _inventory(rows), problems, read


def read_inventory(spec: Mapping[str, Any]) -> tuple[pd.DataFrame, list[str], AudioReader]:
    """Inventory, layout problems and audio reader of the configured SpokenSTS form."""
    first_key = int(spec.get("first_key", 0))
    if spec["format"] == "release":
        return release_inventory(Path(spec["path"]), first_key)
    if spec["format"] == "hub":
        return hub_inventory(spec, first_key)
    return folder_inventory(Path(spec["path"]), Path(spec["mapping"]))


def check_inventory(
    inventory: pd.DataFrame, problems: list[str], pairs: pd.DataFrame, sides: pd.DataFrame, source: str
) -> pd.DataFrame:
    """The inventory if every row is a known pair side whose text and gold agree with the STS files,
    no recording is listed twice and every speaker read both sides; otherwise one error listing all.

    ``sides`` has one row per pair side with the normalised ``text`` (see ``pair_sides``).
    """
    problems = list(problems)
    gold = dict(zip(pairs["pair_id"], pd.to_numeric(pairs["gold"])))
    spoken = {(pair, side): text for pair, side, text in zip(sides["pair_id"], sides["side"], sides["text"])}
    for row in inventory.itertuples():
        if row.pair_id not in gold:
            problems.append(
                f"{row.where}: no STS pair {row.pair_id} (unknown pair; check year, subtask, "
                "key and sts.natural.spokensts.first_key)"
            )
            continue
        if row.text and comparison_key(str(row.text)) != comparison_key(spoken[(row.pair_id, row.side)]):
            problems.append(
                f"{row.where}: text {row.text!r} differs from side {row.side} of STS pair "
                f"{row.pair_id} {spoken[(row.pair_id, row.side)]!r}"
            )
        if not math.isnan(row.gold) and abs(row.gold - gold[row.pair_id]) > GOLD_TOLERANCE:
            problems.append(
                f"{row.where}: similarity {row.gold:g} differs from the gold score "
                f"{gold[row.pair_id]:g} of STS pair {row.pair_id}"
            )
    known = inventory[inventory["pair_id"].isin(gold.keys())]
    for row in known[known.duplicated(["pair_id", "side", "speaker"], keep="first")].itertuples():
        problems.append(f"{row.where}: pair {row.pair_id} side {row.side} by {row.speaker} is listed twice")
    read = known.groupby(["pair_id", "speaker"])["side"].agg(set)
    for (pair_id, speaker), found in read[read.map(len) < 2].items():
        lacking = "b" if "a" in found else "a"
        problems.append(
            f"{source}: pair {pair_id}: {speaker} read side {min(found)} but side {lacking} "
            "has no recording (missing audio)"
        )
    speakers = set(known["speaker"])
    for pair_id, present in known.groupby("pair_id")["speaker"].agg(set).items():
        for speaker in sorted(speakers - present):
            problems.append(
                f"{source}: pair {pair_id} has no recording by {speaker}, who reads other "
                "pairs (missing audio)"
            )
    if problems:
        raise SpokenSTSError(
            f"{source}: {len(problems)} problem(s) with the SpokenSTS natural speech:\n  "
            + "\n  ".join(problems)
        )
    return inventory.reset_index(drop=True)


def source_label(spec: Mapping[str, Any]) -> str:
    """How errors name the configured data."""
    return str(spec.get("dataset") or spec.get("mapping") or spec.get("path"))
