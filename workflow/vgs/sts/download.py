"""Fetch the official STS 2012-2016 test archives and unpack them into SentEval layout.

Why our own unpacker: each year's zip has its own folder name (and 2016 its own file prefix),
while the loader expects ``<root>/STS1X-en-test/STS.{input,gs}.<subtask>.txt``. Only subtasks with
both an input and a gold file are kept (2013's SMT input is licensed separately and absent). The
folder is written under a temporary name and renamed, and ``<root>/.complete`` is written last, so
an interrupted download never looks finished.

``text`` chooses what the input files hold: ``senteval`` (the paper's: the first two columns
Moses-tokenised and lower-cased, as SentEval's data script writes them; :mod:`vgs.sts.tokenise`) or
``official`` (the archives as published, cased, source columns kept).
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from vgs.io import PathLike, atomic_path, write_text_atomic
from vgs.sts.tokenise import tokenise_input_file

log = logging.getLogger(__name__)


class Archive(NamedTuple):
    url: str
    folder: str  # top-level folder inside the zip


OFFICIAL_ARCHIVES: Mapping[str, Archive] = {
    "STS12": Archive("http://ixa2.si.ehu.es/stswiki/images/4/40/STS2012-en-test.zip", "test-gold"),
    "STS13": Archive("http://ixa2.si.ehu.es/stswiki/images/2/2f/STS2013-en-test.zip", "test-gs"),
    "STS14": Archive("http://ixa2.si.ehu.es/stswiki/images/8/8c/STS2014-en-test.zip", "sts-en-test-gs-2014"),
    "STS15": Archive("http://ixa2.si.ehu.es/stswiki/images/d/da/STS2015-en-test.zip", "test_evaluation_task2a"),
    "STS16": Archive("http://ixa2.si.ehu.es/stswiki/images/9/98/STS2016-en-test.zip", "sts2016-english-with-gs-v1.0"),
}
_NAME = re.compile(r"^STS(?:\d{4})?\.(input|gs)\.(.+)\.txt$")
TEXT_FORMS = ("senteval", "official")


def unpack_archive(zip_path: PathLike, name: str, folder: str, root: PathLike, text: str = "senteval") -> list[str]:
    """Unpack one year's zip into ``<root>/<name>-en-test``, text in form ``text``; return the subtasks."""
    if text not in TEXT_FORMS:
        raise ValueError(f"STS text form {text!r} is not one of {TEXT_FORMS}")
    target = Path(root) / f"{name}-en-test"
    files: dict[str, dict[str, zipfile.ZipInfo]] = {}
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            parts = Path(info.filename).parts
            if len(parts) != 2 or parts[0] != folder:
                continue
            match = _NAME.match(parts[1])
            if match:
                files.setdefault(match.group(2), {})[match.group(1)] = info
        subtasks = sorted(task for task, kinds in files.items() if {"input", "gs"} <= kinds.keys())
        if not subtasks:
            raise ValueError(f"{zip_path}: no STS input/gold file pairs under {folder}/ (has the archive changed?)")
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=Path(root)))
        try:
            for task in subtasks:
                for kind in ("input", "gs"):
                    (staging / f"STS.{kind}.{task}.txt").write_bytes(archive.read(files[task][kind]))
                if text == "senteval":
                    tokenise_input_file(staging / f"STS.input.{task}.txt")
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    log.info("%s: %d subtasks (%s), %s text", target, len(subtasks), ", ".join(subtasks), text)
    return subtasks


def download_text_forms(sets: Mapping[str, Mapping[str, object]]) -> dict[str, str]:
    """Text form (``text``) of each downloaded root among the ``sts.sets``; sets sharing a root must agree."""
    forms: dict[str, str] = {}
    for name, spec in sets.items():
        if not spec.get("download"):
            continue
        root, text = str(spec["root"]), str(spec.get("text", "senteval"))
        if forms.setdefault(root, text) != text:
            raise ValueError(
                f"config error at sts.sets.{name}.text: root {root} is downloaded by another set with "
                f"text: {forms[root]}; give each text form its own root"
            )
    return forms


def fetch(url: str, destination: Path) -> None:
    """Download ``url`` to ``destination`` atomically (any urllib scheme, file:// included)."""
    with (
        atomic_path(destination) as tmp,
        urllib.request.urlopen(url, timeout=120) as response,
        open(tmp, "wb") as handle,
    ):
        shutil.copyfileobj(response, handle)


def download_sts(
    root: PathLike,
    complete_path: PathLike,
    archives: Mapping[str, Archive] = OFFICIAL_ARCHIVES,
    text: str = "senteval",
) -> None:
    """Fetch and unpack every archive into ``root`` (text in form ``text``); write ``complete_path`` last.

    The marker's lines are ``<name> <url> <text form>``, so a copy says which form it holds.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".download.") as scratch:
        for name, archive in archives.items():
            zip_path = Path(scratch) / f"{name}.zip"
            log.info("fetching %s", archive.url)
            try:
                fetch(archive.url, zip_path)
            except OSError as error:
                raise OSError(
                    f"could not download {archive.url} ({error}); check the network or fetch "
                    f"it by hand and unpack it into {root}/{name}-en-test"
                ) from None
            unpack_archive(zip_path, name, archive.folder, root, text)
    write_text_atomic(
        complete_path,
        "".join(f"{name}\t{archive.url}\t{text}\n" for name, archive in archives.items()),
    )
