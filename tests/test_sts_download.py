"""Unpacking the official STS archives into SentEval layout, against archives the test builds."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from vgs.sts.download import OFFICIAL_ARCHIVES, Archive, download_sts, unpack_archive
from vgs.sts.senteval import load_sts


def make_zip(path: Path, folder: str, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(f"{folder}/{name}", text)
        archive.writestr(f"{folder}/00-readme.txt", "readme")
    return path


def test_unpacks_2016_prefix_and_skips_unpaired_files(tmp_path: Path) -> None:
    zip_path = make_zip(
        tmp_path / "16.zip",
        "sts2016-english-with-gs-v1.0",
        {
            "STS2016.input.headlines.txt": "A b.\tC d.\tsrc1\tsrc2\nE.\tF.\n",
            "STS2016.gs.headlines.txt": "4\n\n",
            "STS2016.input.secret.txt": "x\ty\n",  # no gold: not unpacked
        },
    )
    root = tmp_path / "root"
    root.mkdir()
    assert unpack_archive(zip_path, "STS16", "sts2016-english-with-gs-v1.0", root, "official") == ["headlines"]
    assert sorted(p.name for p in (root / "STS16-en-test").iterdir()) == [
        "STS.gs.headlines.txt",
        "STS.input.headlines.txt",
    ]
    pairs = load_sts(root)
    assert pairs[["year", "subtask", "sent_a", "gold"]].values.tolist() == [["2016", "headlines", "A b.", 4.0]]


def test_download_writes_complete_marker_only_after_every_archive(tmp_path: Path) -> None:
    zip12 = make_zip(tmp_path / "12.zip", "test-gold", {"STS.input.MSRpar.txt": "a\tb\n", "STS.gs.MSRpar.txt": "1\n"})
    root = tmp_path / "sts"
    broken = {
        "STS12": Archive(zip12.as_uri(), "test-gold"),
        "STS13": Archive((tmp_path / "absent.zip").as_uri(), "x"),
    }
    with pytest.raises(OSError, match="could not download .*absent.zip"):
        download_sts(root, root / ".complete", broken)
    assert not (root / ".complete").exists()
    download_sts(root, root / ".complete", {"STS12": broken["STS12"]})
    assert (root / ".complete").read_text().startswith("STS12\t")
    assert len(load_sts(root)) == 1
    assert not [p for p in root.iterdir() if p.name.startswith(".") and p.name != ".complete"]


def test_wrong_archive_layout_is_reported(tmp_path: Path) -> None:
    zip_path = make_zip(tmp_path / "z.zip", "other", {"STS.input.a.txt": "a\tb\n", "STS.gs.a.txt": "1\n"})
    with pytest.raises(ValueError, match="no STS input/gold file pairs under test-gold/"):
        unpack_archive(zip_path, "STS12", "test-gold", tmp_path)


def test_official_archives_cover_2012_to_2016() -> None:
    assert sorted(OFFICIAL_ARCHIVES) == ["STS12", "STS13", "STS14", "STS15", "STS16"]
    assert all(archive.url.endswith(f"STS20{name[3:]}-en-test.zip") for name, archive in OFFICIAL_ARCHIVES.items())
