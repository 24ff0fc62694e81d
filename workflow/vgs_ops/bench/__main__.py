"""Run the benchmarks: ``python -m vgs_ops.bench --out results/benchmarks [--only NAME] [--quick]``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

from vgs import layout
from vgs.io import write_text_atomic
from vgs_ops.bench import discover


def machine() -> dict[str, object]:
    """Describe the hardware and software the numbers were measured on."""
    import torch

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(layout.BENCHMARKS))
    parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for smoke tests")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    benchmarks = discover(args.only)
    # ON_REQUEST benchmarks (disk- or hour-sized) run only when named, except in quick mode.
    names = args.only or sorted(
        name for name, module in benchmarks.items() if args.quick or not getattr(module, "ON_REQUEST", False)
    )
    unknown = [name for name in names if name not in benchmarks]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {sorted(discover())}")
    for name in names:
        start = time.perf_counter()
        logging.info("benchmark %s ...", name)
        result = benchmarks[name].run(args.quick)
        record = {
            "benchmark": name,
            "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "quick": args.quick,
            "seconds": round(time.perf_counter() - start, 2),
            "machine": machine(),
            "results": result,
        }
        path = args.out / f"{name}.json"
        write_text_atomic(path, json.dumps(record, indent=2, sort_keys=True) + "\n")
        logging.info("wrote %s", path)
        if hasattr(benchmarks[name], "summary"):  # optional human-readable digest beside the JSON
            write_text_atomic(path.with_suffix(".md"), benchmarks[name].summary(record))
            logging.info("wrote %s", path.with_suffix(".md"))
        print(json.dumps({name: result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
