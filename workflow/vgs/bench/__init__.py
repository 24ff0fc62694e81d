"""Benchmarks behind ``make bench``.

Each module in this package that defines ``NAME: str`` and ``run(quick: bool) -> dict`` is one
benchmark. ``python -m vgs.bench`` runs them all (or ``--only NAME``) and writes
``results/benchmarks/<NAME>.json`` (plus ``<NAME>.md`` where the module also defines
``summary(record) -> str``) with the machine's description beside the numbers, because a
speed figure means nothing without the hardware it was measured on. Benchmarks report ratios
against a reference measured in the same run (e.g. our MFCCs vs python_speech_features), never
absolute thresholds asserted in tests.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from types import ModuleType

Benchmark = Callable[[bool], dict]


def discover() -> dict[str, ModuleType]:
    """All benchmark modules of this package, by their NAME."""
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            found[module.NAME] = module
    return found
