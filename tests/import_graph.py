"""What the workflow's Python imports, read with :mod:`ast` (nothing is imported): the graph between the
modules of ``vgs`` and ``vgs_ops`` (tests/test_imports.py) and everything a rule script reaches through them
(tests/test_envs.py).

Imports inside functions and ``TYPE_CHECKING`` blocks count: a job that calls the function imports them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

WORKFLOW = Path(__file__).resolve().parents[1] / "workflow"
PACKAGE = WORKFLOW / "vgs"
OPERATIONS = WORKFLOW / "vgs_ops"


def module_name(path: Path, package: Path) -> str:
    """``vgs/tts/backend.py`` -> ``vgs.tts.backend``; a package's ``__init__.py`` is the package."""
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules(*packages: Path) -> dict[str, Path]:
    """Each module of ``packages`` by dotted name -> its file."""
    return {module_name(path, package): path for package in packages for path in sorted(package.rglob("*.py"))}


def file_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module ``path`` imports, wherever in the file, by dotted name.

    ``from vgs.corpora import flickr8k`` imports the module ``vgs.corpora.flickr8k`` (one of ``modules``);
    ``from vgs.io import atomic_path`` imports ``vgs.io``. Outside ``modules`` the imported name is kept
    (``from scipy.signal import resample_poly`` -> ``scipy.signal.resample_poly``), so that a namespace
    package's part (``from google.cloud import texttospeech``) can be told from its siblings.
    """
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            internal = top_level(node.module) in {top_level(module) for module in modules}
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                imported.add(name if name in modules or not internal else node.module)
    return imported


def package_imports(*packages: Path) -> dict[str, set[str]]:
    """Each module of ``packages`` -> the modules of those packages it imports, wherever in the file."""
    modules = package_modules(*packages)
    return {
        name: {module for module in file_imports(path, modules) if module in modules and module != name}
        for name, path in modules.items()
    }


def top_level(module: str) -> str:
    return module.split(".")[0]


def with_parents(module: str) -> list[str]:
    """``vgs.tts.backend`` -> ``vgs``, ``vgs.tts``, ``vgs.tts.backend``: importing a module runs its packages too."""
    parts = module.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts) + 1)]


def import_closure(script: Path, *packages: Path) -> dict[str, set[str]]:
    """Every module outside ``packages`` and the standard library that ``script`` reaches: its own imports
    and those of every module of ``packages`` it reaches, transitively -> the files that import it.

    Why transitively and with function-level imports: a rule's job runs whatever its entry function calls,
    so a module imported three calls down (``vgs.tts.backend`` importing ``scipy.signal``) must be in the
    job's environment as much as the script's own imports.
    """
    modules = package_modules(*packages)
    outside: dict[str, set[str]] = {}
    seen: set[str] = set()
    todo = [(script.name, script)]
    while todo:
        importer, path = todo.pop()
        for module in file_imports(path, modules):
            inside = [part for part in with_parents(module) if part in modules]
            if inside:
                todo.extend((part, modules[part]) for part in inside if part not in seen)
                seen.update(inside)
            elif top_level(module) not in sys.stdlib_module_names:
                outside.setdefault(module, set()).add(importer)
    return outside
