"""This workflow imported by another one as a Snakemake module, run from that workflow's own directory with
its own configuration: the ``Snakefile`` docs/usage.md shows, a shrunk world, one target and its report.

Why: a user's project that reuses the workflow (``module ...: snakefile: ...; use rule * from ...``)
runs it from elsewhere; whatever resolves against the working directory instead of the module
(scripts, schemas, report captions, the module's own ``config.yaml``) or runs only in a main
workflow (``onstart``, which Snakemake skips in modules) shows up here and in no standalone run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from docutils.core import publish_parts

from conftest import REPO
from readme import DOCS, fenced_block
from test_workflow_e2e import tiny_config

pytestmark = pytest.mark.slow

#: Where docs/usage.md's module Snakefile says the clone of this repository is.
PLACEHOLDER = "/path/to/vgs-sts"


def write_module_project(project: Path, config: dict, workflow_root: Path = REPO) -> Path:
    """``project`` with docs/usage.md's module ``Snakefile`` (pointing at ``workflow_root``) and ``config``."""
    snakefile = fenced_block(DOCS / "usage.md", "python", "use rule * from vgs")
    assert PLACEHOLDER in snakefile, f"docs/usage.md's module Snakefile no longer names {PLACEHOLDER}"
    project.mkdir(parents=True, exist_ok=True)
    (project / "Snakefile").write_text(snakefile.replace(PLACEHOLDER, str(workflow_root)))
    (project / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return project


def shrunk_world() -> dict:
    """The tiny world cut to its Flickr8k-like corpus and one model trained for one epoch (Table 2 in ten
    jobs, under a minute of CPU time here)."""
    config = tiny_config()
    world = config["world"]
    world["corpora"] = {"flickr": {**world["corpora"]["flickr"], "images": {"train": 8, "dev": 4, "test": 4}}}
    config["corpora"] = {"world-flickr": config["corpora"]["world-flickr"]}
    config["models"] = {"flickr": {"corpus": "world-flickr"}}
    for section in ("subsets", "study"):
        config.pop(section)
    config["train"]["epochs"] = 1
    return config


def snakemake(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Snakemake as the user runs it in their project: its own Snakefile, found in the working directory."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=project, capture_output=True, text=True,
        timeout=1800,
    )  # fmt: skip


def test_another_workflow_runs_a_target_of_this_one_as_a_module(tmp_path):
    project = write_module_project(tmp_path / "my-project", shrunk_world())
    leftover = project / "results" / "tables" / ".table2_retrieval.md.part"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("a writer killed mid-write left this")

    result = snakemake(project, "results/tables/table2_retrieval.md")
    assert result.returncode == 0, result.stderr[-5000:]
    table2 = pd.read_csv(project / "results" / "tables" / "table2_retrieval.csv")
    assert set(table2["system"]) == {"flickr"} and set(table2["test_images"]) == {4}  # the project's config
    assert (project / "resources" / "world" / "corpora" / "flickr" / "dataset_flickr8k.json").is_file()
    assert not leftover.exists(), "the documented onstart did not remove a writer's leftover"

    report = snakemake(project, "--report", "report.html", "results/tables/table2_retrieval.md")
    assert report.returncode == 0, report.stderr[-5000:]
    caption_line = (REPO / "workflow" / "report" / "table2.rst").read_text().split("\n")[1].strip()
    caption = publish_parts(caption_line, writer_name="html")["body"].removeprefix("<p>").removesuffix("</p>\n")
    assert caption in (project / "report.html").read_text(), "Table 2's caption is not in the report"
