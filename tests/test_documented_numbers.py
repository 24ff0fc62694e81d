"""Counts and paths that the documentation states and a command can give are checked against that
command: job counts against Snakemake's dry run of the configuration they describe, test counts
against pytest's collection, and the paths of results/README.md against the paths the code writes.

Why: typed numbers drift while the workflow grows (docstrings said 375 jobs when the dry run
planned 376, docs/usage.md 529 fast tests when there were 530, results/README.md a subset path two
layouts old). Every "<N> jobs" and "<N> tests" in the documentation (README.md, docs/, the READMEs
of results/ and resources/, DESIGN.md) and in the docstrings and comments of the code and tests
must be registered in CLAIMS, either with the command that gives it or as a dated measurement of
the past (which no command can give again), so a new count cannot go unchecked. Timings are not
covered: they are measurements, dated where they are stated.
"""

from __future__ import annotations

import ast
import io
import os
import re
import subprocess
import sys
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from checkout import REPO, fresh_checkout
from make_stand_ins import run_make, stand_in_repository
from plan import Plan, dry_run
from vgs import layout

# A count: digits (with thousands commas) before "jobs" or "tests"/"passed", one word allowed between
# ("<N> training jobs").
COUNT = re.compile(r"(?<![\w.,])(?P<n>\d[\d,]*) (?:\w+ )?(?P<what>jobs|tests|passed)\b")


@dataclass(frozen=True)
class Found:
    """One count as written: where, the line it is on, the number and what it counts."""

    path: str
    line: int
    text: str
    number: int
    what: str
    span: tuple[int, int]  # of the number in ``text``

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """(line, text) of what a reader reads in ``path``: every line of a Markdown page; the comments
    and docstrings of Python code (not its string literals: a test's expected output is no claim);
    the comment lines of rule files and the Makefile."""
    text = path.read_text(encoding="utf-8")
    if not COUNT.search(text):  # most files: nothing to read closely
        return []
    if path.suffix == ".md":
        return list(enumerate(text.splitlines(), start=1))
    if path.suffix == ".py":
        lines = []
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                lines.append((token.start[0], token.string))
        for node in ast.walk(ast.parse(text)):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
                value = body[0].value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    source = ast.get_source_segment(text, value) or ""
                    lines += [(value.lineno + i, line) for i, line in enumerate(source.splitlines())]
        return sorted(lines)
    return [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.lstrip().startswith("#")]


def documented_files(root: Path = REPO) -> list[Path]:
    """The documentation pages, and the code and tests whose docstrings and comments are read."""
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    pages += [root / "results" / "README.md", root / "resources" / "README.md", root / "workflow" / "DESIGN.md"]
    code = sorted((root / "workflow").rglob("*.py")) + sorted((root / "workflow" / "rules").glob("*.smk"))
    code += sorted((root / "tests").rglob("*.py")) + [root / "Snakefile", root / "Makefile"]
    return pages + code


def documented_counts(root: Path = REPO) -> list[Found]:
    found = []
    for path in documented_files(root):
        for line, text in prose_lines(path):
            for match in COUNT.finditer(text):
                what = "jobs" if match["what"] == "jobs" else "tests"
                number = int(match["n"].replace(",", ""))
                found.append(Found(path.relative_to(root).as_posix(), line, text, number, what, match.span("n")))
    return found


# --- What the commands give ---------------------------------------------------------------------


@dataclass(frozen=True)
class Given:
    """The numbers the commands give: each configuration's dry run, the tests pytest collects."""

    plans: dict[str, Plan]
    tests: dict[str, int]

    def jobs(self, name: str) -> int:
        return len(self.plans[name].jobs)


#: Dry runs in a fresh checkout: the embedded world (`make run`), the paper, the rehearsal
#: (docs/full-scale.md) and the study's target from a fresh clone (`make study`).
DRY_RUNS = {
    "world": "snakemake -n --configfile config.yaml",
    "paper": "snakemake -n --configfile workflow/config/paper.yaml",
    "rehearsal": "snakemake -n --configfile workflow/config/paper.yaml workflow/config/rehearsal.yaml",
    "study": "snakemake -n study --configfile config.yaml workflow/config/study.yaml",
}
#: pytest's selections: the whole suite (`make test`) and the fast tier (`make test-fast`).
COLLECTIONS = {"all": [], "fast": ["-m", "not slow and not slurm"]}
#: Opt-in checks are collected only where their data is named (tests/conftest.py); counts leave them out.
OPT_IN_VARIABLES = ("STS_OFFICIAL_ROOT", "VGS_IMAGENET_WEIGHTS")


def collected(selection: list[str]) -> int:
    """How many tests pytest collects with ``selection`` (opt-in checks aside)."""
    env = {key: value for key, value in os.environ.items() if key not in OPT_IN_VARIABLES}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *selection],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    match = re.search(r"^(\d+)(?:/\d+)? tests? collected", result.stdout, flags=re.M)
    assert result.returncode == 0 and match, result.stdout[-3000:] + result.stderr[-3000:]
    return int(match.group(1))


def only_in(plan: Plan, other: Plan, rule: str | None = None) -> int:
    """Jobs of ``plan`` (of ``rule``, if given) that ``other`` does not plan: what is left to run
    after ``other`` ran."""
    done = {(name, tuple(sorted(wildcards.items()))) for name, wildcards, _ in other.jobs}
    return sum(
        1
        for name, wildcards, _ in plan.jobs
        if (name, tuple(sorted(wildcards.items()))) not in done and rule in (None, name)
    )


@dataclass(frozen=True)
class Claim:
    """A registered count: on ``path``, a line matching ``context``; ``given`` computes it from the
    commands (None: a dated measurement of the past, ``reason`` says which)."""

    path: str
    context: str
    given: Callable[[Given], int] | None
    reason: str = ""


def jobs_of_the_5k_set(plan: Plan) -> int:
    """Jobs of the 5k retrieval test set: its corpus's jobs (``<c>.test5k`` in a wildcard) and its evaluations."""
    return sum(
        1 for name, wildcards, _ in plan.jobs if "test5k" in name or any("test5k" in v for v in wildcards.values())
    )


def history(path: str, context: str, reason: str) -> Claim:
    return Claim(path, context, None, reason)


#: Counts that no dry run here gives, asserted by the test that runs them.
ENV_RUN_COUNTS = "tests/test_envs_run.py asserts how many jobs it ran"

CLAIMS = [
    Claim("README.md", r"ran all [\d,]+ jobs", lambda g: g.jobs("world")),
    Claim("docs/world.md", r"ran all \d+ jobs", lambda g: g.jobs("world")),
    Claim("README.md", r"`make test` runs all [\d,]+ tests", lambda g: g.tests["all"]),
    Claim("README.md", r"everyday [\d,]+ tests", lambda g: g.tests["fast"]),
    Claim("docs/usage.md", r"`make test` runs all [\d,]+ tests", lambda g: g.tests["all"]),
    Claim("docs/usage.md", r"runs the [\d,]+ tests not marked", lambda g: g.tests["fast"]),
    Claim("docs/full-scale.md", r"plans the paper's [\d,]+ jobs", lambda g: g.jobs("paper")),
    Claim("docs/full-scale.md", r"\*\*total\*\* \([\d,]+ jobs\)", lambda g: g.jobs("paper")),
    Claim("docs/full-scale.md", r"Figure 2 \([\d,]+ jobs;", lambda g: g.jobs("rehearsal")),
    Claim("docs/full-scale.md", r"5k test set adds [\d,]+ jobs", lambda g: jobs_of_the_5k_set(g.plans["paper"])),
    Claim(
        "docs/full-scale.md",
        r"without it the plan is [\d,]+ jobs",
        lambda g: g.jobs("paper") - jobs_of_the_5k_set(g.plans["paper"]),
    ),
    history("docs/world.md", r"earlier: [\d,]+ jobs in 855 s", "the world run of 2026-12-01, measured once"),
    Claim(
        "docs/full-scale.md",
        r"`make study`, [\d,]+ training jobs",
        lambda g: only_in(g.plans["study"], g.plans["world"], "train"),
    ),
    Claim("docs/study.md", r"study`; [\d,]+ jobs", lambda g: only_in(g.plans["study"], g.plans["world"])),
    Claim("docs/study.md", r"the [\d,]+ training jobs", lambda g: only_in(g.plans["study"], g.plans["world"], "train")),
    Claim("docs/study.md", r"\([\d,]+ jobs in all\)", lambda g: g.jobs("study")),
    Claim("workflow/vgs_ops/costs.py", r"before [\d,]+ jobs", lambda g: g.jobs("paper")),
    history("workflow/vgs_ops/costs.py", r"its [\d,]+ jobs other than", "the world run of 2026-12-01, measured once"),
    Claim("workflow/vgs_ops/projection.py", r"the dry run plans [\d,]+ jobs", lambda g: g.jobs("paper")),
    Claim("tests/test_projection.py", r"The world configuration \([\d,]+ jobs\)", lambda g: g.jobs("world")),
    Claim("docs/cluster.md", r"runs all [\d,]+ jobs of a tiny world", None, ENV_RUN_COUNTS),
    Claim("tests/test_envs_run.py", r"MiniLM topline: [\d,]+ jobs", None, ENV_RUN_COUNTS),
    history("tests/test_documented_numbers.py", r"said [\d,]+ jobs", "the drift this test was written for"),
    history("tests/test_documented_numbers.py", r"[\d,]+ fast tests", "the drift this test was written for"),
]


def claim_of(found: Found) -> list[Claim]:
    """The registrations of ``found``: on its page, with a context that holds its number."""
    start, end = found.span
    return [
        claim
        for claim in CLAIMS
        if claim.path == found.path
        and any(m.start() <= start and end <= m.end() for m in re.finditer(claim.context, found.text))
    ]


def test_every_documented_count_is_registered() -> None:
    """Each count has one registration, and each registration still finds its count."""
    counts = documented_counts()
    assert len(counts) >= 10, counts  # the pages were read
    unregistered = [f"{f.where}: {f.text.strip()}" for f in counts if len(claim_of(f)) != 1]
    assert not unregistered, "register each in CLAIMS (tests/test_documented_numbers.py):\n" + "\n".join(unregistered)
    stale = [claim for claim in CLAIMS if not [f for f in counts if claim in claim_of(f)]]
    assert not stale, f"registered counts no page states any more: {stale}"


def test_an_unregistered_count_in_a_new_page_or_docstring_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "workflow" / "rules").mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    for name in ("README.md", "results/README.md", "resources/README.md", "workflow/DESIGN.md", "Snakefile"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("# nothing counted\n")
    (tmp_path / "Makefile").write_text("# 12 jobs in a comment\nall:\n\techo 13 jobs\n")
    (tmp_path / "docs" / "new.md").write_text("The run plans 1,234 jobs; make test-fast ran 17 tests.\n")
    (tmp_path / "workflow" / "plan.py").write_text(
        '"""Plans 99 jobs."""\n\n\ndef f():\n    """Ran 5 training jobs."""  # 3 passed\n    return "7 jobs"\n'
    )
    found = {(f.path, f.line, f.number, f.what) for f in documented_counts(tmp_path)}
    assert found == {
        ("docs/new.md", 1, 1234, "jobs"),
        ("docs/new.md", 1, 17, "tests"),
        ("workflow/plan.py", 1, 99, "jobs"),
        ("workflow/plan.py", 5, 5, "jobs"),
        ("workflow/plan.py", 5, 3, "tests"),
        ("Makefile", 1, 12, "jobs"),
    }


@pytest.fixture(scope="module")
def given(tmp_path_factory: pytest.TempPathFactory) -> Given:
    checkout = fresh_checkout(tmp_path_factory.mktemp("numbers-checkout"))
    plans = {name: dry_run(command, checkout) for name, command in DRY_RUNS.items()}
    return Given(plans, {name: collected(selection) for name, selection in COLLECTIONS.items()})


@pytest.mark.slow
def test_documented_counts_are_what_the_commands_give(given: Given) -> None:
    """Each registered count equals its command's (dry runs in a fresh checkout; pytest's collection)."""
    wrong = []
    for found in documented_counts():
        [claim] = claim_of(found)
        if claim.given is not None and claim.given(given) != found.number:
            wrong.append(f"{found.where}: says {found.number:,} {found.what}, the command gives {claim.given(given):,}")
    assert not wrong, "\n".join(wrong)


# --- Paths of results/README.md -------------------------------------------------------------------


def written_paths(tmp_path: Path) -> list[str]:
    """Examples of the paths the code writes under results/: every vgs.layout template (each field
    filled with ``x``), a TTS cache file, a benchmark record and the report."""
    from vgs.tts.synthesis import cache_wav_path

    class Engine:
        name, version = "espeak", "1.51"

    templates = [value for value in vars(layout).values() if isinstance(value, str) and value.startswith("results/")]
    paths = [re.sub(r"\{\w+\}", "x", template) for template in templates]
    paths.append(cache_wav_path(layout.TTS_CACHE, Engine(), "en-us+m1", "a sentence"))
    report = run_make(stand_in_repository(tmp_path), "report")
    [arguments] = report.of("snakemake")
    paths.append(arguments[arguments.index("--report") + 1])
    paths.append(f"{bench_output_directory(tmp_path)}/train.json")
    return paths


def bench_output_directory(tmp_path: Path) -> str:
    """Where ``make bench`` (``python -m vgs_ops.bench``, no ``--out``) writes its records."""
    import vgs_ops.bench.__main__ as bench_main

    with pytest.MonkeyPatch.context() as patch:
        fake = type(sys)("fake")
        fake.run = lambda quick: {}
        patch.setattr(bench_main, "discover", lambda names=None: {"fake": fake})
        patch.setattr(bench_main, "machine", lambda: {})
        patch.chdir(tmp_path)
        bench_main.main([])
        [record] = tmp_path.rglob("fake.json")
    return record.parent.relative_to(tmp_path).as_posix()


def readme_paths(page: Path) -> list[str]:
    """The first column of the page's table: paths relative to results/ with <placeholders>."""
    return re.findall(r"^\| `([^`]+)`", page.read_text(encoding="utf-8"), flags=re.M)


def pattern_of(documented: str) -> re.Pattern[str]:
    """A documented path as a pattern: ``<name>`` is one path component or part of one, ``…`` any
    rest; a folder (ending in ``/``) matches the start of a path."""
    parts = re.split(r"(<[^>]+>|…)", f"results/{documented}")
    regex = "".join("[^/]+" if p.startswith("<") else ".*" if p == "…" else re.escape(p) for p in parts)
    return re.compile(regex if documented.endswith(("/", "…")) else f"{regex}$")


def test_results_readme_paths_are_where_the_code_writes(tmp_path: Path) -> None:
    """Every path results/README.md lists is a path the code writes (vgs.layout, the TTS cache,
    `make bench`, `make report`), with its placeholders where the code has fields."""
    paths = written_paths(tmp_path)
    documented = readme_paths(REPO / "results" / "README.md")
    assert len(documented) >= 10
    unknown = [path for path in documented if not any(pattern_of(path).match(written) for written in paths)]
    assert not unknown, f"results/README.md lists paths the code does not write: {unknown}"


def test_a_stale_path_is_caught() -> None:
    """results/README.md's subset row as it was: k without the total's folder."""
    paths = [re.sub(r"\{\w+\}", "x", layout.SUBSET_MANIFEST)]
    assert not pattern_of("subsets/<corpus>/k<k>/manifest.tsv").match(paths[0])
    assert pattern_of("subsets/<corpus>/n<total>/k<k>/manifest.tsv").match(paths[0])
    assert pattern_of("features/mfcc/…").match("results/features/mfcc/x/shardx.h5")
