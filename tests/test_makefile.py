"""What the Makefile's targets and CI's entry point do, seen by running them with stand-ins for every
program they call (tests/make_stand_ins.py): which programs run, in which order, with which
arguments as those programs read them, and that nothing installs on the host unless asked.

Why not compare recipe text: a copy of a recipe line agrees with whatever it was copied from, a
changed recipe and its copy change together, and a recipe can print the right line while its
prerequisites do something else (`make test` installed SLURM and MariaDB with apt-get).
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from _pytest.mark.expression import Expression
from snakemake.cli import get_argument_parser

from make_stand_ins import run_make, stand_in_repository


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return stand_in_repository(tmp_path)


def pytest_selects(args: tuple[str, ...], markers: set[str]) -> bool:
    """Whether pytest called with ``args`` runs a test carrying ``markers``, by pytest's own reading
    of its ``-m`` expression (no ``-m``: every test)."""
    if "-m" not in args:
        return True
    expression = Expression.compile(args[args.index("-m") + 1])
    return expression.evaluate(lambda name, **kwargs: name in markers)


def snakemake_arguments(args: tuple[str, ...]):
    """Snakemake's own reading of a command line (its argument parser)."""
    return get_argument_parser().parse_args(list(args))


def test_make_test_lints_everything_then_runs_every_test_and_installs_nothing(repo: Path) -> None:
    run = run_make(repo, "test", "PYTEST_ARGS=-x")
    assert run.returncode == 0, run.output
    [pytest_args] = [args for module, args in run.python_modules() if module == "pytest"]
    # Every test: slow ones, SLURM ones and the rest; PYTEST_ARGS reaches pytest.
    assert all(pytest_selects(pytest_args, markers) for markers in ({"slow"}, {"slurm"}, {"slow", "slurm"}, set()))
    assert "-x" in pytest_args
    # Lint before the tests: Snakemake's lint of the workflow, snakefmt and ruff (lint and format)
    # checking, never rewriting, the Snakefile, the rules, the package and the tests.
    tests_start = run.index("python", "-m", "pytest")
    [lint] = [call for call in run.calls[:tests_start] if call[0] == "snakemake"]
    assert snakemake_arguments(lint[1:]).lint is not None
    [snakefmt] = [call[1:] for call in run.calls[:tests_start] if call[0] == "snakefmt"]
    assert "--check" in snakefmt and {"Snakefile", "workflow/rules"} <= set(snakefmt)
    ruff = [call[1:] for call in run.calls[:tests_start] if call[0] == "ruff"]
    assert {args[0] for args in ruff} == {"check", "format"}
    assert all({"workflow", "tests"} <= set(args) for args in ruff)
    assert all("--check" in args for args in ruff if args[0] == "format")
    assert not run.installs(), run.calls


def test_make_test_runs_no_test_when_lint_fails(repo: Path) -> None:
    for linter in ("snakemake", "snakefmt", "ruff"):
        run = run_make(repo, "test", fail=(linter,))
        assert run.returncode != 0
        assert not [module for module, _ in run.python_modules() if module == "pytest"], (linter, run.calls)


def test_make_test_fast_leaves_out_slow_and_slurm_tests(repo: Path) -> None:
    run = run_make(repo, "test-fast", "PYTEST_ARGS=-q")
    assert run.returncode == 0, run.output
    [args] = [args for module, args in run.python_modules() if module == "pytest"]
    assert pytest_selects(args, set()) and pytest_selects(args, {"parametrize"})
    assert not any(pytest_selects(args, markers) for markers in ({"slow"}, {"slurm"}, {"slow", "slurm"}))
    assert "-q" in args and not run.installs()


@pytest.mark.parametrize(
    ("make_args", "configfiles", "gpus"),
    [
        (("CONFIG=workflow/config/paper.yaml",), ["workflow/config/paper.yaml"], "8"),
        (
            ("CONFIG=config.yaml workflow/config/study.yaml", "GPUS=4"),
            ["config.yaml", "workflow/config/study.yaml"],
            "4",
        ),
    ],
)
def test_make_plan_projects_the_configuration_it_is_given(
    repo: Path, make_args: tuple[str, ...], configfiles: list[str], gpus: str
) -> None:
    """`make plan CONFIG=... [GPUS=...]`: the projection (vgs_ops.projection) of exactly those files,
    layered, with the wall-clock on GPUS GPUs (8 unless given)."""
    run = run_make(repo, "plan", *make_args)
    assert run.returncode == 0, run.output
    [(module, args)] = run.python_modules()
    assert module == "vgs_ops.projection"
    assert list(args[: args.index("--gpus")]) == configfiles and args[args.index("--gpus") + 1] == gpus


def test_make_slurm_deps_installs_what_the_slurm_tests_need(repo: Path) -> None:
    run = run_make(repo, "slurm-deps")
    assert run.returncode == 0, run.output
    assert run.python_modules() == [("vgs_ops.cluster.local_slurm", ("deps",))]


def test_make_report_builds_the_report_of_the_configured_run(repo: Path) -> None:
    run = run_make(repo, "report", "CONFIG=my.yaml")
    assert run.returncode == 0, run.output
    [args] = run.of("snakemake")
    parsed = snakemake_arguments(args)
    assert parsed.report == Path("results/report.html") and parsed.configfile == [Path("my.yaml")]
    assert parsed.workflow_profile == "workflow/profiles/default"


@pytest.mark.parametrize(
    ("make_args", "benchmarks"),
    [
        (("bench",), {"light": False, "gpu": False}),
        (("bench", "BENCH_ARGS=--quick"), {"light": True, "heavy": True, "gpu": True}),
        (("gpu-check",), {"gpu": False}),
        (("gpu-check", "BENCH_ARGS=--quick"), {"gpu": True}),
    ],
)
def test_make_bench_and_gpu_check_run_their_benchmarks(
    repo: Path, monkeypatch: pytest.MonkeyPatch, make_args: tuple[str, ...], benchmarks: dict[str, bool]
) -> None:
    """Which benchmarks the target's command runs, quick or not, and where their records go, as
    vgs_ops.bench itself reads the command (its benchmarks replaced by recording fakes): `make
    bench` leaves out the on-request ones unless quick, `make gpu-check` runs only `gpu`."""
    import vgs_ops.bench.__main__ as bench_main

    run = run_make(repo, *make_args)
    assert run.returncode == 0, run.output
    [(module, args)] = run.python_modules()
    assert module == "vgs_ops.bench"
    ran: dict[str, bool] = {}

    def fake(name: str, on_request: bool) -> types.ModuleType:
        def record(quick: bool) -> dict[str, bool]:
            ran[name] = quick
            return {"quick": quick}

        benchmark = types.ModuleType(name)
        benchmark.NAME, benchmark.ON_REQUEST, benchmark.run = name, on_request, record
        return benchmark

    # An everyday benchmark, one run only on request (as `scale`) and the GPU check.
    fakes = {"light": fake("light", False), "heavy": fake("heavy", True), "gpu": fake("gpu", False)}
    monkeypatch.setattr(bench_main, "discover", lambda names=None: {n: fakes[n] for n in names} if names else fakes)
    monkeypatch.setattr(bench_main, "machine", lambda: {})
    monkeypatch.chdir(repo)
    bench_main.main(list(args))
    assert ran == benchmarks
    assert sorted(p.name for p in (repo / "results" / "benchmarks").glob("*.json")) == sorted(
        f"{name}.json" for name in benchmarks
    )


@pytest.mark.parametrize("target", ["test", "test-fast", "bench", "gpu-check", "report", "plan", "lint", "run"])
def test_make_dry_run_with_a_stale_environment_runs_nothing(tmp_path: Path, target: str) -> None:
    """`make -n` (which the documentation tests use) walks `setup` too: with a stale environment
    (no stamp) it must only print the reinstall, never run it nor anything else, or a test would
    rebuild a shared .venv."""
    root = stand_in_repository(tmp_path, stale=True)
    run = run_make(root, "-n", target)
    assert run.returncode == 0, run.output
    assert "pip install" in run.output  # it would reinstall ...
    assert run.calls == ()  # ... but ran nothing
    assert not (root / ".venv" / ".installed").exists()


def test_ci_installs_the_slurm_test_dependencies_then_runs_the_readme_test_command(repo: Path) -> None:
    """CI runs `make test` as the README says, after `make slurm-deps` (so the SLURM tests run
    there, while `make test` alone installs nothing)."""
    run = run_make(repo, program=".ci/run")
    assert run.returncode == 0, run.output
    assert run.of("make") == [("slurm-deps",), ("test",)]
    assert run_make(repo, program=".ci/run", fail=("make",)).of("make") == [("slurm-deps",)]
