"""``gpu.md``: a short Markdown digest of ``gpu.json``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# --- summary -----------------------------------------------------------------------------------------


def cell(value: object) -> str:
    if isinstance(value, dict) and "not_measured" in value:
        return "—"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def summary(record: Mapping[str, Any]) -> str:
    """A short Markdown digest of ``gpu.json`` (tables of throughput, correctness, GPU hours)."""
    r = record["results"]
    lines = [
        f"# GPU check ({r['mode']} mode, {r['device']}, model {r['model_size']}, torch {r['torch']})",
        "",
        f"{r['mode_reason']}; {record['seconds']} s in all. — = not measured (reason in gpu.json).",
        "",
        f"## Training throughput (batches of {r['batch_size']})",
        "",
        "| arm | batching | captions/s | TFLOP/s | peak GiB | LSTM dtype |",
        "|---|---|---|---|---|---|",
    ]
    for name, arm in r["throughput"].items():
        if "not_measured" in arm or not any(b in arm for b in ("bucketed", "random")):
            marker = f"FAILED: {arm['failed']}" if "failed" in arm else "—"
            lines.append(f"| {name} | {marker} | — | — | — | — |")
            continue
        for batching in ("bucketed", "random"):
            if batching in arm:
                row = arm[batching]
                lines.append(
                    f"| {name} | {batching} | {cell(row['captions_per_s'])} | {cell(row['achieved_tflops'])} "
                    f"| {cell(row['peak_memory_gib'])} | {arm.get('lstm_dtype', '')} |"
                )
    pipeline = r["data_pipeline"]
    lines += [
        "",
        f"Data pipeline alone: {cell(pipeline.get('captions_per_s', pipeline))} captions/s "
        f"(bottleneck: {r['bottleneck'].get('verdict', '—')}; pipeline / fastest arm "
        f"{cell(r['bottleneck'].get('pipeline_over_fastest_training', '—'))}).",
        "",
    ]
    largest = r["largest_batch"]
    for arm in ("fp32", "bf16"):
        if arm in largest:
            lines.append(
                f"Largest batch of {largest[arm]['frames']}-frame captions, {arm}: "
                f"{largest[arm].get('largest_verified', 'none verified')} verified "
                f"(predicted {largest[arm]['predicted']}, {largest[arm]['gib_per_caption']} GiB per caption, "
                f"{largest['gpu_memory_gib']} GiB card)."
            )
    lines += ["", "## Correctness", ""]
    for name, check in r["correctness"].items():
        lines.append(f"- {name}: {check.get('not_measured') or summarise_check(check)}")
    lines += probe_lines(r.get("probes", {}))
    hours = r["gpu_hours"]
    lines += [
        "",
        "## GPU hours, paper's eight models",
        "",
        f"- {hours['estimate']['kind']}: {hours['estimate']['gpu_hours_total']} GPU-h",
    ]
    measured = hours["measured"]
    if "not_measured" in measured:
        lines.append(f"- measured: {measured['not_measured']}")
    else:
        lines += [
            f"- measured, {name} ({row['mode']}, {row['achieved_tflops']} TFLOP/s): {row['gpu_hours_total']} GPU-h"
            for name, row in measured.items()
        ]
    lines += ["", "## Time per part", ""] + [
        f"- {name}: {part.get('seconds', 0)} s of {part['budget_s']} s ({part['status']})"
        for name, part in r["budget"]["parts"].items()
    ]
    return "\n".join(lines) + "\n"


def summarise_check(check: Mapping[str, Any]) -> str:
    """``ok``/``FAILED``/``reported`` per sub-check, with its headline number."""
    if "failed" in check:
        return check["failed"]
    if "ok" in check:
        return f"{'ok' if check['ok'] else 'FAILED'} (max |diff| {cell(check['max_abs_difference'])})"
    parts = []
    for name, sub in check.items():
        if isinstance(sub, dict):
            if "not_measured" in sub:
                parts.append(f"{name} —")
            elif "ok" in sub:
                number = next(
                    (
                        sub[k]
                        for k in ("max_abs_difference", "relative_difference", "max_relative_difference")
                        if k in sub
                    ),
                    "",
                )
                parts.append(f"{name} {'ok' if sub['ok'] else 'FAILED'} ({cell(number)})")
            elif "max_abs_difference" in sub:
                parts.append(f"{name} reported ({cell(sub['max_abs_difference'])})")
            elif "final_loss" in sub:
                parts.append(f"{name} reference (loss {cell(sub['final_loss'])})")
    return "; ".join(parts) if parts else "incomplete"


def probe_lines(found: Mapping[str, Any]) -> list[str]:
    """The probes of a faster step: each one's check against today's step and, on a GPU, both rates."""
    if not found:
        return []
    lines = [
        "",
        "## Probes of a faster training step (today's step vs the probe's, same batches)",
        "",
        "| probe | check against today | today captions/s | probe captions/s | speed-up |",
        "|---|---|---|---|---|",
    ]
    arms = {f"half_lstm {name}": found["half_lstm"].get(name, found["half_lstm"]) for name in ("bf16", "fp16")}
    for name, probe in {**{k: v for k, v in found.items() if k not in ("half_lstm", "sharing")}, **arms}.items():
        lines.append(f"| {name} | {probe_check(probe)} | {probe_rates(probe.get('timing', probe))} |")
    shared = found["sharing"]
    runs = shared.get("runs", {})
    rates = runs.get("not_measured") or "; ".join(
        f"{n} process(es) {row['aggregate_captions_per_s']} captions/s together, {row['over_one_process']}x one"
        for n, row in runs.items()
        if "aggregate_captions_per_s" in row
    )
    lines += ["", f"Sharing one GPU: check {probe_check(shared)}; {rates or '—'}."]
    return lines


def probe_check(probe: Mapping[str, Any]) -> str:
    """``ok``/``FAILED`` with the largest differences, or the measured distance; then why the part
    stopped, if it did (or only that, when it stopped before its check)."""
    check = probe.get("check", {})
    status = next((str(probe[key]) for key in ("failed", "not_measured", "incomplete") if key in probe), "")
    if "first_loss_relative_difference" in check:
        text = f"{'ok' if check['ok'] else 'FAILED'} (first loss {cell(check['first_loss_relative_difference'])})"
    elif "max_relative_difference" in check:
        embeddings, losses = check["embeddings_max_abs_difference"], check["max_relative_difference"]
        numbers = f"embeddings {cell(embeddings)}, losses {cell(losses)}"
        text = f"{'ok' if check['ok'] else 'FAILED'} ({numbers})" if "ok" in check else f"distance: {numbers}"
    else:
        return status or "—"
    return f"{text}; {status}" if status else text


def probe_rates(timing: Mapping[str, Any]) -> str:
    """Today's and the probe's captions/s and their ratio, or dashes where not measured."""
    if "today" not in timing:
        return "— | — | —"
    return (
        f"{cell(timing['today']['captions_per_s'])} | {cell(timing['probe']['captions_per_s'])} | {timing['speedup']}"
    )
