"""Smoke test of the TTS benchmark (numbers are reported, never asserted against a threshold)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vgs_ops.bench import discover


@pytest.mark.slow
def test_tts_benchmark_quick_run(shared_sts: Path) -> None:
    module = discover()["tts"]
    result = module.run(quick=True)
    assert result["source"] == str(shared_sts) and result["utterances"] == 40
    rate = result["in_process"]["utt_per_s_per_core"]
    assert rate > 0 and 0 < result["in_process"]["real_time_factor"] < 1
    full = result["full_spokensts"]
    assert full["utterances_6_voices"] == 6 * full["unique_sentences"]
    assert full["estimated_minutes_on_2_cores"] == pytest.approx(
        full["utterances_6_voices"] / (2 * rate) / 60, rel=0.01
    )


def test_tts_benchmark_without_any_sts_data_speaks_a_generated_world(tmp_path: Path, monkeypatch) -> None:
    module = discover()["tts"]
    monkeypatch.setattr(module, "SOURCES", (tmp_path / "none", tmp_path / "neither"))
    result = module.run(quick=True)
    assert result["source"].startswith("generated world STS") and result["utterances"] == 40
    assert result["in_process"]["utt_per_s_per_core"] > 0
    assert "full_spokensts" not in result  # that estimate is about the real data only
