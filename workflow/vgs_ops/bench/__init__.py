"""Benchmarks behind ``make bench``.

Each module in this package that defines ``NAME: str`` and ``run(quick: bool) -> dict`` is one
benchmark. ``python -m vgs_ops.bench`` runs them all (or ``--only NAME``) and writes
``results/benchmarks/<NAME>.json`` (plus ``<NAME>.md`` where the module also defines
``summary(record) -> str``) with the machine's description beside the numbers, because a
speed figure means nothing without the hardware it was measured on. Benchmarks report ratios
against a reference measured in the same run (e.g. our MFCCs vs python_speech_features), never
absolute thresholds asserted in tests. A module with ``ON_REQUEST = True`` (the scale benchmark:
33 GB of disk) runs only when named with ``--only``, or in ``--quick`` mode with all the others.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from types import ModuleType

Benchmark = Callable[[bool], dict]


def discover(names: list[str] | None = None) -> dict[str, ModuleType]:
    """Benchmark modules of this package by their NAME: all of them, or only ``names``.

    A module's file name is its NAME, so ``names`` imports just those modules: a GPU machine
    running ``--only gpu`` needs none of the other benchmarks' packages (TTS engines, MFCC
    references) installed.
    """
    wanted = (
        names
        if names is not None
        else [info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    )
    found: dict[str, ModuleType] = {}
    for name in wanted:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise  # the benchmark exists but a package it needs is missing: say which
            continue
        if hasattr(module, "NAME") and hasattr(module, "run"):
            if module.NAME != name:
                raise RuntimeError(f"benchmark module {module.__name__} must be named after its NAME {module.NAME!r}")
            found[module.NAME] = module
    return found
