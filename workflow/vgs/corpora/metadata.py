"""Reading corpus metadata files with errors that name the file, the entry and the missing field.

Why: the real releases are large JSON files downloaded over slow links; a truncated download or a
hand-edited entry must stop with one message saying where to look (``SpokenCOCO_val.json:
data[12] (image 'val2014/...') captions[3]: required field 'wav' is missing``), not with a bare
``KeyError: 'wav'`` or a ``JSONDecodeError`` that does not say which of several files is broken.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vgs.corpora.manifest import CorpusError

TYPE_NAMES = {str: "text", list: "a list", dict: "an object"}


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path``; a byte that is not UTF-8 raises :class:`CorpusError` with its line.

    The line is what a user opens the file at; the byte offset alone is no help in a 100 MB JSON file.
    """
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise CorpusError(
            f"{path}:{line}: byte {error.start} ({data[error.start : error.start + 1]!r}) is not UTF-8 text; "
            "the file is damaged or was saved in another encoding: download it again or re-save it as UTF-8"
        ) from None


def read_json(path: Path) -> Any:
    """The parsed JSON file; a damaged file raises :class:`CorpusError` with file, line and column."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise CorpusError(
            f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg}); the file is damaged or "
            "truncated: download it again"
        ) from None


def entry_label(container: str, index: int, entry: Any, id_key: str) -> str:
    """``data[12] (uttid 'A1B2')``: an entry by position and, when it has one, by id."""
    label = f"{container}[{index}]"
    if isinstance(entry, dict) and isinstance(entry.get(id_key), str):
        label += f" ({id_key} {entry[id_key]!r})"
    return label


def required(entry: Any, key: str, where: str, kind: type = str) -> Any:
    """``entry[key]`` after checking that it exists and is of ``kind``; ``where`` locates the entry."""
    if not isinstance(entry, dict):
        raise CorpusError(f"{where}: expected an object, got {type(entry).__name__} {str(entry)[:40]!r}")
    if key not in entry:
        raise CorpusError(f"{where}: required field {key!r} is missing")
    return _checked(entry[key], key, where, kind)


def required_name(entry: Any, key: str, where: str) -> str:
    """``entry[key]``, a file name or id, which must not be empty.

    Why: an empty image or wav name joined to its folder names the folder itself, and the user would
    be told that the folder is missing instead of which entry lacks its file name.
    """
    value = required(entry, key, where)
    if not value.strip():
        raise CorpusError(f"{where}: field {key!r} is empty; it must name a file or an id")
    return value


def optional_text(entry: dict, key: str, where: str) -> str:
    """``entry[key]`` stripped, or "" when absent (the caller counts those); other types are errors."""
    return _checked(entry.get(key, ""), key, where, str).strip()


def _checked(value: Any, key: str, where: str, kind: type) -> Any:
    if not isinstance(value, kind):
        raise CorpusError(f"{where}: field {key!r} should be {TYPE_NAMES[kind]}, got {str(value)[:40]!r}")
    return value
