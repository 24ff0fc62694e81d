"""vgs.rulekit.rule_context: a rule script's error reaches the user once, from its log.

Why: Snakemake prints a failed job's log (``show-failed-logs`` in both shipped profiles); a script
that also let Python print the traceback on stderr showed every load error twice (issue 32).
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from vgs.rulekit import rule_context


def job(tmp_path: Path) -> SimpleNamespace:
    """What rule_context reads of Snakemake's ``snakemake`` object."""
    return SimpleNamespace(log=[str(tmp_path / "logs" / "job.log")], threads=1, rule="some_rule")


def test_an_error_is_logged_once_and_ends_the_script_with_status_1(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    missing = ["dataset_flickr8k.json", "wav2capt.txt"]
    with pytest.raises(SystemExit) as ended, rule_context(job(tmp_path)):
        raise FileNotFoundError(f"{len(missing)} Flickr8k metadata files missing: {', '.join(missing)}")
    assert ended.value.code == 1 and ended.value.__suppress_context__  # Python prints no second traceback
    log = (tmp_path / "logs" / "job.log").read_text()
    assert log.count("2 Flickr8k metadata files missing") == 1 and "Traceback" in log and "rule failed" in log
    printed = capfd.readouterr()
    assert "metadata files missing" not in printed.out + printed.err
    logging.getLogger().handlers.clear()  # rule_context configured the root logger for a script


def test_an_interruption_is_passed_on_unchanged(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), rule_context(job(tmp_path)):
        raise KeyboardInterrupt
    assert "rule interrupted" in (tmp_path / "logs" / "job.log").read_text()
    logging.getLogger().handlers.clear()
