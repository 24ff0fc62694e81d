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
``<n>``, as third-party readers join them into the release's file names). Nothing public says
whether ``<n>`` counts the lines of the subtask's ``STS.input`` file or only its scored pairs (STS
2015 and 2016 have lines without a gold score), nor whether it counts from 0 or 1, so the numbering
is found from the data (:func:`find_numbering`): each of the four candidates maps every recording to
a pair, and the one under which every recording's texts (both normalised as for synthesis and
compared by their words, :func:`vgs.tts.normalise.comparison_key`) and gold score agree with the STS
files is kept and logged. Texts alone cannot replace the number (437 of the 12,544 scored pairs of
STS 2012-2016 share both texts with another pair of the same subtask), and no fit, or two fits that
give different pairs, stop with one message. At the paper's size this is four passes over 2,552
recordings. The release's JSON files may list only the recorded sample or every sentence the
release synthesised (:mod:`vgs.tts.released` reads them as the latter); either way the sample is
the keys that have recordings.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from vgs.sts.build import make_pair_id
from vgs.sts.senteval import subtask_label, year_label
from vgs.tts.normalise import comparison_key

# year/subtask/number locate a recording by its key (release, hub); pair_id is set once the
# numbering is known (the folder form gives it directly).
INVENTORY_COLUMNS = ["pair_id", "year", "subtask", "number", "side", "speaker", "text", "gold", "where", "ref"]
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

log = logging.getLogger(__name__)


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


def release_location(task: str, subtask: str, key: object) -> tuple[str, str, int | None]:
    """(year, subtask label, key number) of a release key of ``task`` (``STS12``) / ``subtask``;
    the number is ``None`` if the key is unparseable."""
    label = subtask_label(str(subtask))
    return year_label(f"{task}-en-test"), label, key_number(key, label)


@dataclass(frozen=True)
class Numbering:
    """How keys number a subtask's pairs: its ``STS.input`` lines or only its scored pairs, from ``first``."""

    counts: str  # "lines" or "scored"
    first: int

    def __str__(self) -> str:
        return f"keys count {'STS.input lines' if self.counts == 'lines' else 'scored pairs'} from {self.first}"


NUMBERINGS = tuple(Numbering(counts, first) for counts in ("lines", "scored") for first in (0, 1))


def numbered_pair_ids(inventory: pd.DataFrame, pairs: pd.DataFrame, numbering: Numbering) -> list[str | None]:
    """The pair id of every inventory row under ``numbering`` (``None``: no such pair)."""
    if numbering.counts == "lines":
        return [
            make_pair_id(year, subtask, number - numbering.first + 1) if number - numbering.first >= 0 else None
            for year, subtask, number in zip(inventory["year"], inventory["subtask"], inventory["number"])
        ]
    scored: dict[tuple[str, str], list[str]] = {}
    for year, subtask, pair_id in zip(pairs["year"], pairs["subtask"], pairs["pair_id"]):
        scored.setdefault((str(year), str(subtask)), []).append(pair_id)
    for ids in scored.values():
        ids.sort(key=lambda pair_id: int(pair_id.rsplit("_", 1)[1]))  # file order
    found = []
    for year, subtask, number in zip(inventory["year"], inventory["subtask"], inventory["number"]):
        ids, index = scored.get((year, subtask), []), number - numbering.first
        found.append(ids[index] if 0 <= index < len(ids) else None)
    return found


def _inventory(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=INVENTORY_COLUMNS)
    frame["gold"] = frame["gold"].astype(float)
    frame["number"] = frame["number"].astype("Int64")
    return frame


def release_inventory(root: Path) -> tuple[pd.DataFrame, list[str], AudioReader]:
    """Recordings of the release folder at ``root``; problems of its own layout (unparseable names,
    WAVs whose key the subtask's JSON lacks) come back as messages. JSON keys without a recording
    are counted in the log: the JSONs may list every synthesised sentence, not only the sample."""
    natural = root / RELEASE_NATURAL
    if not natural.is_dir():
        raise SpokenSTSError(f"{natural}: not found; sts.natural.spokensts.path must hold SpokenSTS_wav/")
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    json_paths = sorted(root.glob("STS*/*.json"))
    texts: dict[tuple[str, str], dict[str, list[str]]] = {}
    for path in json_paths:
        try:
            texts[(path.parent.name, path.stem)] = {str(k): v for k, v in json.loads(path.read_text()).items()}
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
        year, label, number = release_location(task, subtask, key)
        if number is None:
            problems.append(f"{wav}: key {key!r} is not <subtask>_<number>")
            continue
        if not (isinstance(sentences[key], list) and len(sentences[key]) == 2):
            problems.append(f"{root / task / subtask}.json: key {key!r} does not hold two sentences")
            continue
        text = sentences[key][int(match["side"])]
        rows.append(
            {
                "pair_id": "",
                "year": year,
                "subtask": label,
                "number": number,
                "side": side,
                "speaker": speaker_name(match["speaker"]),
                "text": text,
                "gold": math.nan,
                "where": str(wav),
                "ref": str(wav),
            }
        )
    listed = sum(len(sentences) for sentences in texts.values())
    log.info(
        "%s: the JSON files list %d keys, %d of them with natural recordings (the sample); the others "
        "are sentences the release synthesised only",
        root,
        listed,
        len(heard),
    )
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
            "year": "",
            "subtask": "",
            "number": None,
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


ENCODED_AUDIO_FIELDS = {"bytes", "path", "array"}  # what an audio cell (a struct) must hold one of


def hub_audio_rate(data: Any, spec: Mapping[str, Any], label: str) -> int | None:
    """The sampling rate of plain-list audio cells (``sampling_rate`` from the config), or ``None``
    when both audio columns hold audio cells that carry their own.

    Checked from the Arrow schema before anything is written, so a copy in an unexpected form
    stops with the column and what it holds instead of failing at the first decoded recording.
    """
    import pyarrow as pa  # installed with datasets, which hub copies need anyway

    plain = []
    for column in ("audio_a", "audio_b"):
        kind = data.data.schema.field(column).type
        if pa.types.is_struct(kind) and {kind.field(i).name for i in range(kind.num_fields)} & ENCODED_AUDIO_FIELDS:
            continue
        lists = pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
        if lists and pa.types.is_floating(kind.value_type):
            plain.append(f"{column} ({kind})")
            continue
        raise SpokenSTSError(
            f"{label}: column {column} holds {kind}; expected audio cells (bytes, path, or array with "
            "sampling_rate) or lists of float samples in [-1, 1]"
        )
    if not plain:
        return None
    if "sampling_rate" not in spec:
        raise SpokenSTSError(
            f"{label}: column(s) {', '.join(plain)} hold plain lists of samples, which carry no sampling "
            "rate; set sts.natural.spokensts.sampling_rate to the rate of the recordings"
        )
    return int(spec["sampling_rate"])


def int16_scaled(samples: Any, where: str) -> np.ndarray:
    """Float samples in [-1, 1] scaled to the int16 range; anything else is not float audio."""
    array = np.asarray(samples, dtype=np.float64)
    if not np.isfinite(array).all() or (array.size and np.abs(array).max() > 1.0):
        raise SpokenSTSError(f"{where}: samples are not finite floats in [-1, 1]; not float audio")
    return array * 32767.0


def decode_hub_audio(value: Any, where: str, rate: int | None) -> tuple[np.ndarray, int]:
    """Samples of one hub audio cell: encoded (``bytes``, ``path``), decoded (``array``, rate), or a
    plain list of float samples at ``rate`` (see :func:`hub_audio_rate`)."""
    if not isinstance(value, Mapping):
        if rate is None:
            raise SpokenSTSError(f"{where}: audio cell holds {type(value).__name__}, not an audio cell")
        return int16_scaled(value, where), rate
    if value.get("array") is not None:
        return int16_scaled(value["array"], where), int(value["sampling_rate"])
    if value.get("bytes"):
        samples, found = sf.read(io.BytesIO(value["bytes"]), dtype="int16", always_2d=True)
        return samples, int(found)
    if value.get("path"):
        return read_wav(value["path"])
    raise SpokenSTSError(f"{where}: audio cell holds neither bytes, a path nor an array")


def hub_inventory(spec: Mapping[str, Any]) -> tuple[pd.DataFrame, list[str], AudioReader]:
    """Recordings of the hub copy: each row gives two, ``audio_a`` and ``audio_b``."""
    data = open_hub(spec)
    label = spec.get("dataset", spec.get("path"))
    rate = hub_audio_rate(data, spec, label)
    text_columns = next((pair for pair in HUB_TEXT_COLUMNS if set(pair) <= set(data.column_names)), None)
    wanted = [c for c in ("task", "subtask", "pair_id", "speaker_id", "similarity") if c in data.column_names]
    meta = data.select_columns(wanted + list(text_columns or ())).to_pandas()
    rows, problems = [], []
    for index, row in enumerate(meta.itertuples(index=False)):
        where = f"{label} row {index} ({row.task} {row.subtask} pair_id {row.pair_id} speaker {row.speaker_id})"
        year, subtask, number = release_location(str(row.task), str(row.subtask), row.pair_id)
        if number is None:
            problems.append(f"{where}: pair_id is not a number")
            continue
        for position, side in enumerate(("a", "b")):
            text = getattr(row, text_columns[position]) if text_columns else ""
            # The row's one score is checked once, with side a.
            gold = getattr(row, "similarity", math.nan) if side == "a" else math.nan
            rows.append(
                {
                    "pair_id": "",
                    "year": year,
                    "subtask": subtask,
                    "number": number,
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
        return decode_hub_audio(data[int(index)][column], f"{label} row {index} {column}", rate)

    return _inventory(rows), problems, read


def read_inventory(spec: Mapping[str, Any]) -> tuple[pd.DataFrame, list[str], AudioReader]:
    """Inventory, layout problems and audio reader of the configured SpokenSTS form."""
    if spec["format"] == "release":
        return release_inventory(Path(spec["path"]))
    if spec["format"] == "hub":
        return hub_inventory(spec)
    return folder_inventory(Path(spec["path"]), Path(spec["mapping"]))


def row_problems(
    inventory: pd.DataFrame,
    pair_ids: list[str | None],
    gold: Mapping[str, float],
    spoken: Mapping[tuple[str, str], str],
) -> list[list[str]]:
    """For every recording, why its pair is unknown or its text or gold score differs from that pair's."""
    found = []
    for row, pair_id in zip(inventory.itertuples(), pair_ids):
        problems: list[str] = []
        found.append(problems)
        if pair_id not in gold:
            shown = f"pair {pair_id}" if pair_id else f"pair for key number {row.number} of {row.year} {row.subtask}"
            problems.append(f"{row.where}: no STS {shown} (unknown pair; check year, subtask and key)")
            continue
        if row.text and comparison_key(str(row.text)) != comparison_key(spoken[(pair_id, row.side)]):
            problems.append(
                f"{row.where}: text {row.text!r} differs from side {row.side} of STS pair "
                f"{pair_id} {spoken[(pair_id, row.side)]!r}"
            )
        if not math.isnan(row.gold) and abs(row.gold - gold[pair_id]) > GOLD_TOLERANCE:
            problems.append(
                f"{row.where}: similarity {row.gold:g} differs from the gold score "
                f"{gold[pair_id]:g} of STS pair {pair_id}"
            )
    return found


def find_numbering(
    inventory: pd.DataFrame,
    pairs: pd.DataFrame,
    gold: Mapping[str, float],
    spoken: Mapping[tuple[str, str], str],
    source: str,
) -> tuple[list[str], list[str]]:
    """(pair id of every row, problems) under the one numbering that fits every recording.

    Numberings that give the same pairs (a subtask without unscored lines numbers its lines and
    its scored pairs alike) count as one. When none fits, the problems are those of the numbering
    that fits most recordings, after one line saying how many disagree under each; two fits that
    give different pairs stop at once, since the data cannot tell which pairs were recorded.
    """
    if inventory["number"].isna().all():  # the folder form names its pairs itself
        ids = inventory["pair_id"].tolist()
        return ids, [problem for found in row_problems(inventory, ids, gold, spoken) for problem in found]
    results = {}
    for numbering in NUMBERINGS:
        ids = numbered_pair_ids(inventory, pairs, numbering)
        results[numbering] = (ids, row_problems(inventory, ids, gold, spoken))
    fitting: dict[tuple[str | None, ...], list[Numbering]] = {}
    for numbering, (ids, found) in results.items():
        if not any(found):
            fitting.setdefault(tuple(ids), []).append(numbering)
    if len(fitting) > 1:
        raise SpokenSTSError(
            f"{source}: the recordings fit more than one numbering of the keys, which give different pairs "
            f"with the same texts and gold scores ({'; '.join(str(group[0]) for group in fitting.values())}); "
            "the data cannot tell which pairs were recorded"
        )
    if fitting:
        ((ids, group),) = fitting.items()
        same = f" (the same pairs as: {', '.join(map(str, group[1:]))})" if len(group) > 1 else ""
        log.info("%s: pair numbering found from the data: %s%s", source, group[0], same)
        return list(ids), []
    disagree = {numbering: sum(map(bool, found)) for numbering, (_ids, found) in results.items()}
    best = min(NUMBERINGS, key=disagree.__getitem__)
    summary = (
        f"no numbering of the keys matches every recording to its STS pair (recordings that disagree, of "
        f"{len(inventory)}, if keys count: "
        f"{', '.join(f'{n.counts} from {n.first}: {count}' for n, count in disagree.items())}); "
        f"listed below as if {best}, which fits most"
    )
    return results[best][0], [summary, *(problem for found in results[best][1] for problem in found)]


def check_inventory(
    inventory: pd.DataFrame, problems: list[str], pairs: pd.DataFrame, sides: pd.DataFrame, source: str
) -> pd.DataFrame:
    """The inventory, each row given its pair (:func:`find_numbering`), if every row is a known pair
    side whose text and gold agree with the STS files, no recording is listed twice and every speaker
    read both sides; otherwise one error listing all.

    ``sides`` has one row per pair side with the normalised ``text`` (see ``pair_sides``).
    """
    gold = dict(zip(pairs["pair_id"], pd.to_numeric(pairs["gold"])))
    spoken = {(pair, side): text for pair, side, text in zip(sides["pair_id"], sides["side"], sides["text"])}
    ids, found = find_numbering(inventory, pairs, gold, spoken, source)
    inventory = inventory.assign(pair_id=ids)
    problems = [*problems, *found]
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
                f"{source}: pair {pair_id} has no recording by {speaker}, who reads other pairs (missing audio)"
            )
    if problems:
        raise SpokenSTSError(
            f"{source}: {len(problems)} problem(s) with the SpokenSTS natural speech:\n  " + "\n  ".join(problems)
        )
    return inventory.reset_index(drop=True)


def source_label(spec: Mapping[str, Any]) -> str:
    """How errors name the configured data."""
    return str(spec.get("dataset") or spec.get("mapping") or spec.get("path"))
