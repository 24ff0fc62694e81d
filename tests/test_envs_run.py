"""The environments of envs/*.yaml, built from their files, run the world's jobs: every job of a tiny world
(one corpus, one subset model, one voice, a random tiny speech model and the MiniLM topline) runs in the
environment its rule names, with nothing else to import from but Snakemake.

How, without conda (which cannot be installed here): each file's pip part is built by pip into a virtual
environment on the Python the file asks for (tests/environments.py). Snakemake runs a ``script:`` job as
``<python> <wrapper>``, the wrapper being the script behind a preamble that unpickles the job's
``snakemake`` object; without ``--sdm conda`` ``<python>`` is the ``sys.executable`` of the Snakemake
process, with it the ``python`` of the activated environment. Here Snakemake's ``sys.executable`` is a
small launcher that starts the wrapper with the python of the environment the job's rule names: the same
command on the same wrapper that ``--sdm conda`` runs, in an environment built from the same file.

What the preamble adds, under conda too: it appends the Snakemake process's own ``sys.path`` (here the
.venv, which holds every package of requirements.txt) to the job's, so that the job can unpickle
``snakemake``. A package missing from the environment would be taken from there without a word (the
first run of this test found pandas and torch picking up pyarrow, dill and cloudpickle so, and pandas'
``to_markdown`` the ``tabulate`` that only Snakemake had brought). So every job runs with an import guard
(a ``sitecustomize`` on its ``PYTHONPATH``) that keeps those appended paths aside and looks there, after
the environment, only for what the preamble itself imports (Snakemake's script, io and logging modules
and the few packages they load): any other module is not installed as far as the job can tell. The
guard also records each job's rule, its interpreter and what it looked for in vain there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from environments import ENV_FILES, build_environment, environment_cache, rule_environments
from plan import load_rules
from test_workflow_e2e import tiny_config

pytestmark = pytest.mark.slow

# Rules of the workflow that the tiny world does not run, and why; their environments' imports are
# checked by tests/test_envs.py and their environments run the world's other jobs here.
NOT_RUN = {
    "sts_download": "fetches the official STS archives from the network",
    "paper_comparison": "only beside real corpora and a real STS set (tests/test_rehearsal.py runs it)",
    "table_ablation": "the ablation overlay's nine training runs (workflow/config/ablation.yaml)",
    "study_tables": "the study overlay's models (tests/test_workflow_e2e.py runs it in the main environment)",
    "study_figure": "the study overlay's models (tests/test_workflow_e2e.py runs it in the main environment)",
    "eval_retrieval_test5k": "only SpokenCOCO's format has a 5k test set, the world's corpora none "
    "(tests/test_rehearsal.py runs it in the main environment; tests/test_envs.py checks its imports)",
}

# Every job's python imports this first. The paths Snakemake's preamble appends to sys.path (other than the
# workflow's own) are kept aside: only what the preamble imports is looked up there, after the environment.
# At exit the job records its rule, its interpreter and the modules it looked for that only those paths hold.
GUARD = """\
import atexit, importlib.machinery, json, os, sys

WORKFLOW = os.environ["VGS_WORKFLOW"]
PREAMBLE = set(json.loads(os.environ["VGS_PREAMBLE_MODULES"]))
APPENDED = []
REFUSED = []


class EnvironmentPath(list):
    def extend(self, entries):
        entries = list(entries)
        super().extend(entry for entry in entries if entry.startswith(WORKFLOW))
        APPENDED.extend(entry for entry in entries if not entry.startswith(WORKFLOW))


class PreambleOnly:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if path is not None or importlib.machinery.PathFinder.find_spec(name, sys.path) is not None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, APPENDED)
        if name in PREAMBLE:
            return spec
        if spec is not None:
            REFUSED.append(name)
        return None


sys.path = EnvironmentPath(sys.path)
sys.meta_path.append(PreambleOnly)


def _record():
    job = getattr(sys.modules.get("__main__"), "snakemake", None)
    record = {"rule": getattr(job, "rule", None), "prefix": sys.prefix, "refused": sorted(set(REFUSED))}
    with open(os.path.join(os.environ["VGS_JOB_RECORDS"], f"{os.getpid()}.json"), "w") as out:
        json.dump(record, out)


atexit.register(_record)
"""

# Snakemake's sys.executable for this run: the python of the job's environment, chosen by the wrapper's
# name (``.snakemake/scripts/tmp<random>.<script>``), with the guard as PYTHONPATH (Snakemake's conda
# activation clears PYTHONPATH too, unless --conda-not-block-search-path-envvars).
LAUNCHER = """\
#!{host}
import os, sys
PYTHONS = {pythons!r}
python = PYTHONS[os.path.basename(sys.argv[1]).split(".", 1)[1]]
os.execve(python, [python, *sys.argv[1:]], {{**os.environ, **{variables!r}}})
"""


def env_world_config() -> dict:
    """The tiny world of tests/test_workflow_e2e.py cut to what runs every rule of the world once or a few
    times (one corpus, one subset model, one voice, one epoch: here the jobs must run, not learn), with the
    speech-models overlay and the MiniLM topline: 48 jobs."""
    config = tiny_config()
    world = config["world"]
    world["corpora"] = {"coco": {**world["corpora"]["coco"], "images": {"train": 8, "dev": 4, "test": 4}}}
    world["corpora"]["coco"]["captions_per_image"] = 2
    world["sts"]["pairs_per_subtask"] = 4
    config["corpora"] = {"world-coco": {**config["corpora"]["world-coco"], "dev_images": 4, "test_images": 4}}
    config["models"] = {"coco": {"corpus": "world-coco"}}
    config["subsets"].update(total=8, k=[2])
    config.pop("study")
    config["tts"].update(voices={"m1": config["tts"]["voices"]["m1"]}, shards=1)
    config["sts"]["natural"]["speakers"] = config["sts"]["natural"]["speakers"][:1]
    config["train"]["epochs"] = 1
    config.update(yaml.safe_load((REPO / "workflow" / "config" / "speech_models.yaml").read_text()))
    config["evaluate"]["toplines"] = ["bow", "tfidf", "minilm"]
    return config


def preamble_modules() -> list[str]:
    """The top-level modules outside the standard library that a job's preamble imports to unpickle its
    ``snakemake`` object (Snakemake's script, io and logging modules), as installed where Snakemake runs."""
    modules = "snakemake.script, snakemake.io, snakemake.iocontainers, snakemake.logging"
    code = (
        f"import json, sys; before = set(sys.modules); import {modules}; "
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before} - set(sys.stdlib_module_names))))"
    )
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def write_launcher(directory: Path, pythons: dict[str, str]) -> Path:
    """The launcher Snakemake runs jobs with (``pythons``: script name -> python), its guard beside it."""
    guard, records = directory / "guard", directory / "records"
    guard.mkdir()
    records.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    variables = {
        "PYTHONPATH": str(guard),
        "VGS_JOB_RECORDS": str(records),
        "VGS_WORKFLOW": str(REPO / "workflow"),
        "VGS_PREAMBLE_MODULES": json.dumps(preamble_modules()),
    }
    launcher = directory / "python-of-the-rules-environment"
    launcher.write_text(LAUNCHER.format(host=sys.executable, pythons=pythons, variables=variables))
    launcher.chmod(0o755)
    return launcher


@pytest.fixture(scope="module")
def environments() -> dict[Path, Path]:
    """Each environment file -> the python of its built environment."""
    pythons = {}
    for env_file in ENV_FILES:
        python, seconds = build_environment(env_file, environment_cache())
        built = f"built in {seconds:.0f} s" if seconds else "built before"
        print(f"{env_file.name}: {built} at {python.parent.parent}")
        pythons[env_file] = python
    return pythons


def test_every_job_of_the_world_runs_in_the_environment_its_rule_names(environments, tmp_path):
    rules = rule_environments(load_rules(("config.yaml",)))
    scripts: dict[str, Path] = {}
    for rule, (script, env_file) in rules.items():
        assert scripts.setdefault(script.name, env_file) == env_file, f"{script.name} runs in two environments"
    launcher = write_launcher(tmp_path, {script: str(environments[env]) for script, env in scripts.items()})
    world = tmp_path / "world"
    world.mkdir()
    (world / "config.yaml").write_text(yaml.safe_dump(env_world_config(), sort_keys=False))
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", "import sys; sys.executable = sys.argv.pop(1); from snakemake.cli import main; main()",
         str(launcher), "--snakefile", str(REPO / "Snakefile"), "--directory", str(world), "--cores", "2"],
        capture_output=True, text=True, timeout=2400,
    )  # fmt: skip
    print(f"the world's jobs ran in {time.monotonic() - start:.0f} s")
    records = [json.loads(path.read_text()) for path in sorted((tmp_path / "records").glob("*.json"))]
    refused = sorted({f"{record['rule']}: {name}" for record in records for name in record["refused"]})
    assert result.returncode == 0, f"looked for outside the job's environment: {refused}\n{result.stderr[-5000:]}"

    assert len(records) == 48, f"{len(records)} jobs ran; docs/cluster.md and env_world_config say 48"
    ran = {record["rule"] for record in records}
    assert ran == set(rules) - set(NOT_RUN), f"not run: {sorted(set(rules) - set(NOT_RUN) - ran)}"
    for record in records:
        prefix = environments[rules[record["rule"]][1]].parent.parent
        assert Path(record["prefix"]) == prefix, f"rule {record['rule']} ran in {record['prefix']}, not {prefix}"
    print(f"looked for outside the job's environment, and done without: {refused}")
