"""Small I/O helpers shared by every stage.

Why: a killed run must never leave a half-written file that a rerun would accept, so every
writer in the package goes through :func:`atomic_path`, which writes to a temporary sibling and
renames it into place only when the block finishes without error.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd

PathLike = str | os.PathLike[str]

# The process umask, read once (os.umask can only be read by setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    The temporary file lives in the same directory so the final ``os.replace`` is atomic on
    POSIX file systems. On any exception the temporary file is removed and ``path`` is untouched.
    ``suffix`` defaults to the final suffix of ``path`` so libraries that sniff the extension
    (soundfile, h5py, matplotlib) keep working.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.",
        suffix=(target.suffix if suffix is None else suffix) + ".part",
        dir=target.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs get the usual permissions
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


PARTIAL_GLOB = ".*.part"  # the temporary files of :func:`atomic_path`


def remove_partial_files(root: PathLike) -> list[Path]:
    """Delete the temporary files that writers killed mid-write (SIGKILL, power loss) left under ``root``.

    Why: a kill gives :func:`atomic_path` no chance to clean up, and nothing would ever read or
    remove its half-written temporary file. Call this only while no writer is active under
    ``root`` (at the start of a run, or on a directory that one job owns).
    """
    removed = sorted(Path(root).rglob(PARTIAL_GLOB)) if Path(root).is_dir() else []
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


SHOWN_IN_ERRORS = 10  # lines of an error's list of files; the rest is counted


def indented_list(lines: list[str]) -> str:
    """The first :data:`SHOWN_IN_ERRORS` lines, indented, and how many more there are."""
    more = f"\n  ... and {len(lines) - SHOWN_IN_ERRORS} more" if len(lines) > SHOWN_IN_ERRORS else ""
    return "  " + "\n  ".join(lines[:SHOWN_IN_ERRORS]) + more


def require_files(paths: Iterable[PathLike], what: str, source: str) -> None:
    """Raise :class:`FileNotFoundError` naming the first missing paths and their count.

    ``what`` says which kind of file is missing (e.g. "Flickr8k wavs"); ``source`` tells the user
    where the files come from and where to put them. Why here: corpus loaders and feature extraction
    (which reads a corpus's images) check their inputs alike, and features must not import the
    corpora package above them.
    """
    missing = [str(path) for path in dict.fromkeys(map(str, paths)) if not os.path.isfile(path)]
    if missing:
        raise FileNotFoundError(f"{len(missing)} {what} missing:\n{indented_list(missing)}\n{source}")


def write_text_atomic(path: PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_tsv(path: PathLike, frame: pd.DataFrame) -> None:
    """Write a data frame as a tab-separated file with a header, atomically.

    TSV is the exchange format between rules: readable by people, by pandas and by R, and free
    of the quoting surprises that commas in captions cause in CSV.
    """
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")


def read_tsv(path: PathLike, required: Sequence[str] = ()) -> pd.DataFrame:
    """Read a TSV written by :func:`write_tsv`; check that ``required`` columns are present.

    All columns are read as strings except where pandas can infer numbers; empty strings stay
    empty strings (not NaN) so text columns round-trip exactly.
    """
    frame = pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[], dtype=str)
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; has {list(frame.columns)}")
    return frame


def write_rows_tsv(path: PathLike, rows: Iterable[Mapping[str, object]], columns: Sequence[str]) -> None:
    """Write an iterable of dicts as TSV with a fixed column order (atomically)."""
    write_tsv(path, pd.DataFrame(list(rows), columns=list(columns)))
