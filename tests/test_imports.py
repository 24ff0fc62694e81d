"""The ``vgs`` and ``vgs_ops`` packages import downhill: no import cycle between their modules, nor
between their parts, and the science (``vgs``) never imports its operation (``vgs_ops``).

Why both levels: a cycle of modules breaks at import time only when the imports sit at module level,
so engines and factories that import each other inside functions run fine and still tangle the code;
a cycle between parts (``vgs.sts`` and ``vgs.tts``, ``vgs.corpora`` and ``vgs.features``) tangles
them with no cycle of modules at all. Imports inside functions and ``TYPE_CHECKING`` blocks count.
The package is read with :mod:`ast`, so nothing is imported (0.3 s for its 88 modules here).
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from import_graph import OPERATIONS, PACKAGE, package_imports


def part(module: str) -> str:
    """The part of a package a module belongs to: ``vgs.tts.backend`` -> ``vgs.tts``, ``vgs.io`` -> ``vgs.io``."""
    return ".".join(module.split(".")[:2])


def parts_graph(modules: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import graph between the package's parts (subpackages and top-level modules)."""
    graph: dict[str, set[str]] = {}
    for module, imported in modules.items():
        graph.setdefault(part(module), set()).update(part(other) for other in imported if part(other) != part(module))
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (first node repeated at the end), or ``[]`` when it runs downhill."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        return list(error.args[1])
    return []


def write_package(root: Path, files: dict[str, str]) -> Path:
    """A throw-away ``vgs`` package of ``files`` (relative path -> source) under ``root``."""
    for relative, source in files.items():
        (root / "vgs" / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / "vgs" / relative).write_text(source)
    return root / "vgs"


def test_modules_import_without_a_cycle() -> None:
    found = cycle(package_imports(PACKAGE, OPERATIONS))
    assert not found, f"modules import each other: {' -> '.join(found)}; move what they share down"


def test_parts_of_the_packages_import_without_a_cycle() -> None:
    found = cycle(parts_graph(package_imports(PACKAGE, OPERATIONS)))
    assert not found, f"parts of vgs import each other: {' -> '.join(found)}; move what they share down"


def test_the_science_never_imports_its_operation() -> None:
    """Benchmarks, costs, the local cluster and the rule graph (vgs_ops) stand above vgs, never inside it."""
    upward = {
        f"{module} -> {other}"
        for module, imported in package_imports(PACKAGE, OPERATIONS).items()
        if module.split(".")[0] == "vgs"
        for other in imported
        if other.split(".")[0] == "vgs_ops"
    }
    assert not upward, f"vgs imports vgs_ops: {sorted(upward)}"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # A factory and its engine importing each other inside a function: a cycle of modules.
        (
            {
                "__init__.py": "",
                "tts/__init__.py": "",
                "tts/backend.py": "def make():\n    from vgs.tts.espeak import Engine\n",
                "tts/espeak.py": "from vgs.tts.backend import TTSFatalError\n",
            },
            ["vgs.tts.backend", "vgs.tts.espeak"],
        ),
        # ``from package import module`` is an import of that module.
        (
            {
                "__init__.py": "",
                "a/__init__.py": "",
                "a/x.py": "from vgs.a import y\n",
                "a/y.py": "from vgs.a.x import f\n",
            },
            ["vgs.a.x", "vgs.a.y"],
        ),
    ],
)
def test_a_cycle_of_modules_is_found(tmp_path: Path, files: dict[str, str], expected: list[str]) -> None:
    assert sorted(set(cycle(package_imports(write_package(tmp_path, files))))) == expected


def test_a_cycle_of_parts_is_found_where_modules_have_none(tmp_path: Path) -> None:
    package = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "sts/__init__.py": "",
            "sts/normalise.py": "",
            "sts/build.py": "from vgs.tts.synthesis import run\n",
            "tts/__init__.py": "",
            "tts/synthesis.py": "",
            "tts/released.py": "from vgs.sts.normalise import comparison_key\n",
        },
    )
    assert not cycle(package_imports(package))
    assert sorted(set(cycle(parts_graph(package_imports(package))))) == ["vgs.sts", "vgs.tts"]
