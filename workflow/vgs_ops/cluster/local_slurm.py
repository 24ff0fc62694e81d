"""A real single-node SLURM cluster on localhost, started and torn down by a test (or a user).

Why a real one: the ``slurm`` profile is only trustworthy if jobs really go through ``sbatch``,
are scheduled by ``slurmctld``, run under ``slurmd`` and are reported by ``sacct`` — exactly the
path a user's cluster takes. Mocks of ``sbatch`` would test our assumptions, not the plugin.

Why MariaDB: ``sacct`` (which the executor plugin uses to learn whether a job finished) answers
only when job accounting goes through ``slurmdbd``, and ``slurmdbd`` stores records only in
MySQL/MariaDB. Without it ``sacct`` prints "Slurm accounting storage is disabled". A private
``mariadbd`` on a free port starts in about a second, so the cluster is complete.

Everything lives under one directory (configs, munge key and socket, database, state, spool,
logs), every daemon listens on a free port on 127.0.0.1 and runs in the foreground as a child of
this process, so nothing touches the machine's own ``/etc/slurm`` or ``/run/munge`` and
:meth:`LocalSlurmCluster.stop` removes every trace. Daemons run as root (``slurmd`` must, to
start jobs as their user); :func:`unavailable_reason` says why a cluster cannot start here.

Command line, for trying the profile by hand::

    python -m vgs_ops.cluster.local_slurm deps              # apt-get install what is missing (root)
    python -m vgs_ops.cluster.local_slurm start /tmp/slurm  # prints `export SLURM_CONF=...`; Ctrl-C stops
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Debian/Ubuntu packages that provide every binary below.
APT_PACKAGES = ("slurm-wlm", "slurmdbd", "munge", "mariadb-server")
INSTALL_COMMAND = "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y " + " ".join(APT_PACKAGES)
DAEMONS = ("munged", "mariadb-install-db", "mariadbd", "slurmdbd", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "sacct", "sacctmgr", "sinfo", "scancel", "scontrol")
# Extra directories where Debian puts daemons (not always on a user's PATH).
_SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")
DB_USER = "slurm"
CLUSTER_NAME = "vgslocal"


class ClusterError(RuntimeError):
    """The local cluster could not start; the message names the daemon and its log."""


def find_binary(name: str) -> str | None:
    """Path of ``name`` on PATH or in the sbin directories, or None."""
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SBIN_DIRS))


def unavailable_reason() -> str | None:
    """Why a local cluster cannot start on this machine, or None if it can."""
    missing = missing_binaries()
    if missing:
        return (
            f"SLURM test cluster needs {', '.join(missing)}; install with: {INSTALL_COMMAND} "
            "(or run `make slurm-deps` as root)"
        )
    if os.geteuid() != 0:
        return "SLURM test cluster must run as root (slurmd starts jobs as their user)"
    return None


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that are free on 127.0.0.1 right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def total_memory_mb() -> int:
    """MemTotal of this machine in MB, as ``slurmd`` will detect it."""
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise ClusterError("/proc/meminfo has no MemTotal line; cannot size the SLURM node")


@dataclass(frozen=True)
class JobRecord:
    """One job as ``sacct`` reports it (the allocation line, not its steps)."""

    job_id: str
    name: str
    state: str
    exit_code: str
    partition: str
    comment: str
    alloc_tres: str

    @property
    def rule(self) -> str | None:
        """The Snakemake rule, which the SLURM plugin writes into the job's comment."""
        match = re.fullmatch(r"rule_(.+?)(?:_wildcards_.*)?", self.comment)
        return match.group(1) if match else None


SACCT_FIELDS = "JobIDRaw,JobName%100,State,ExitCode,Partition,Comment%300,AllocTRES%200"


@dataclass
class _Daemon:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


class LocalSlurmCluster:
    """munged + mariadbd + slurmdbd + slurmctld + slurmd under ``root``; a context manager.

    ``partitions`` are created over the one node; the first is the default. ``time_limits``
    gives some of them a MaxTime in minutes (like a cluster's short partitions), the others have
    none. ``gpus`` > 0
    declares that many GPUs as generic resources (GRES) backed by /dev/null, so that ``--gpus``
    requests are scheduled, bound (CUDA_VISIBLE_DEVICES) and accounted on a machine without GPUs.
    """

    def __init__(
        self,
        root: Path,
        *,
        cpus: int | None = None,
        memory_margin_mb: int = 1024,
        partitions: Sequence[str] = ("cpu", "gpu"),
        time_limits: Mapping[str, int] | None = None,
        gpus: int = 0,
        start_timeout_s: float = 60.0,
    ) -> None:
        self.root = Path(root).resolve()
        self.cpus = cpus or os.cpu_count() or 1
        self.memory_mb = max(256, total_memory_mb() - memory_margin_mb)
        self.partitions = tuple(partitions)
        self.time_limits = dict(time_limits or {})
        unknown = sorted(set(self.time_limits) - set(self.partitions))
        if unknown:
            raise ClusterError(f"time_limits names partitions {unknown} that are not in {self.partitions}")
        self.gpus = gpus
        self.start_timeout_s = start_timeout_s
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.root / "etc" / "slurm.conf"
        self.logs = self.root / "log"
        self._daemons: list[_Daemon] = []
        self._db_password = secrets.token_hex(12)
        (self._db_port, self._dbd_port, self._ctld_port, self._slurmd_port) = free_ports(4)

    # --- public API --------------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """The environment for sbatch/snakemake: ``SLURM_CONF`` and the ``srun`` shim on PATH."""
        path = f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": path}

    def start(self) -> LocalSlurmCluster:
        """Write the configs, start every daemon and wait until the node is idle."""
        reason = unavailable_reason()
        if reason:
            raise ClusterError(reason)
        try:
            self._write_configs()
            self._start_munge()
            self._start_database()
            self._start_slurm()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Cancel remaining jobs and stop the daemons, newest first; never raises."""
        if any(d.name == "slurmctld" and d.process.poll() is None for d in self._daemons):
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(
                    ["scancel", "--full", "--user", str(os.geteuid())],
                    env=self.env,
                    capture_output=True,
                    timeout=20,
                )
        for daemon in reversed(self._daemons):
            _terminate(daemon.process)
        self._daemons.clear()

    def __enter__(self) -> LocalSlurmCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def command(self, *args: str, timeout: float = 60.0) -> str:
        """Run a SLURM client command against this cluster and return its stdout."""
        result = subprocess.run(
            list(args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise ClusterError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result.stdout

    def sacct(self) -> list[JobRecord]:
        """Every job this cluster has accounted for, oldest first."""
        out = self.command(
            "sacct",
            "--allusers",
            "--allocations",
            "--parsable2",
            "--noheader",
            "--starttime",
            "2000-01-01",
            "--format",
            SACCT_FIELDS,
        )
        rows = csv.reader(io.StringIO(out), delimiter="|")
        return [JobRecord(*row[:7]) for row in rows if len(row) >= 7]

    def node_state(self) -> str:
        """``sinfo``'s state of the single node (``idle``, ``mixed``, ``down*``, ...)."""
        return self.command("sinfo", "--noheader", "--Node", "--format", "%T").split()[0]

    def log_tails(self, lines: int = 20) -> str:
        """The last lines of every daemon log: what to read when a job or daemon misbehaves."""
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path}\n" + "\n".join(tail))
        return "\n".join(parts)

    # --- configuration -----------------------------------------------------------------------

    def _write_configs(self) -> None:
        for sub in ("etc", "log", "state", "spool", "db", "munge-key", "munge-run"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # munged refuses keys and sockets in directories others may write to.
        (self.root / "munge-key").chmod(0o700)
        (self.root / "munge-run").chmod(0o755)
        key = self.root / "munge-key" / "munge.key"
        key.write_bytes(secrets.token_bytes(1024))
        key.chmod(0o400)
        self.conf.write_text(self._slurm_conf(), encoding="ascii")
        dbd_conf = self.conf.with_name("slurmdbd.conf")  # slurmdbd looks beside SLURM_CONF
        dbd_conf.write_text(self._slurmdbd_conf(), encoding="ascii")
        dbd_conf.chmod(0o600)  # holds the database password; slurmdbd insists
        self._write_srun_shim()
        if self.gpus:
            self.conf.with_name("gres.conf").write_text(
                f"AutoDetect=off\nNodeName={self.node} Name=gpu File=/dev/null Count={self.gpus}\n",
                encoding="ascii",
            )

    def _write_srun_shim(self) -> None:
        """Put an ``srun`` on PATH that restores ``SLURM_CONF`` before running the real one.

        Inside a job the plugin's jobstep executor starts the rule with ``srun`` after removing
        every ``SLURM_*`` variable but the job's identity (snakemake-executor-plugin-slurm-jobstep
        0.6.1), ``SLURM_CONF`` included; a cluster whose config is not at the compiled-in
        /etc/slurm/slurm.conf is then unreachable from its own jobs. A real cluster keeps its
        config there (or serves it "configless"); this one must not touch /etc.
        """
        real = find_binary("srun")
        shim = self.root / "bin" / "srun"
        shim.parent.mkdir(parents=True, exist_ok=True)
        shim.write_text(
            f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec "{real}" "$@"\n',
            encoding="ascii",
        )
        shim.chmod(0o755)

    @property
    def _munge_socket(self) -> Path:
        return self.root / "munge-run" / "munge.socket"

    def _slurm_conf(self) -> str:
        gres = f" Gres=gpu:{self.gpus}" if self.gpus else ""
        partitions = "\n".join(
            f"PartitionName={name} Nodes={self.node} Default={'YES' if i == 0 else 'NO'} "
            f"MaxTime={self.time_limits.get(name, 'INFINITE')} State=UP"
            for i, name in enumerate(self.partitions)
        )
        return f"""\
# Written by vgs_ops.cluster.local_slurm for a throw-away single-node test cluster.
ClusterName={CLUSTER_NAME}
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={self._ctld_port}
SlurmdPort={self._slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self._munge_socket}
CredType=cred/munge
StateSaveLocation={self.root / "state"}
SlurmdSpoolDir={self.root / "spool"}
SlurmctldPidFile={self.root / "state" / "slurmctld.pid"}
SlurmdPidFile={self.root / "spool" / "slurmd.pid"}
SlurmctldLogFile={self.logs / "slurmctld.log"}
SlurmdLogFile={self.logs / "slurmd.log"}
# No cgroups: containers (CI) rarely delegate them; processes are tracked through /proc.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort={self._dbd_port}
# With slurmdbd this names the munge socket used to reach it.
AccountingStoragePass={self._munge_socket}
AccountingStoreFlags=job_comment
{"GresTypes=gpu" if self.gpus else ""}
{"AccountingStorageTRES=gres/gpu" if self.gpus else ""}
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
MpiDefault=none
ReturnToService=2
MinJobAge=300
# Seconds between SIGTERM and SIGKILL at a time limit (SLURM's default is 30): enough for a test
# job to save a checkpoint, and a short wait before the node takes the next job.
KillWait=10
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb}{gres} State=UNKNOWN
{partitions}
"""

    def _slurmdbd_conf(self) -> str:
        return f"""\
AuthType=auth/munge
AuthInfo=socket={self._munge_socket}
DbdHost={self.node}
DbdAddr=127.0.0.1
DbdPort={self._dbd_port}
SlurmUser=root
LogFile={self.logs / "slurmdbd.log"}
PidFile={self.root / "state" / "slurmdbd.pid"}
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={self._db_port}
StorageUser={DB_USER}
StoragePass={self._db_password}
StorageLoc=slurm_acct_db
"""

    # --- daemons -----------------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str], log: Path) -> _Daemon:
        binary = find_binary(args[0])
        handle = open(self.logs / f"{name}.out", "ab")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(
            [binary or args[0], *args[1:]],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        handle.close()
        daemon = _Daemon(name, process, log)
        self._daemons.append(daemon)
        return daemon

    def _wait(self, daemon: _Daemon, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if daemon.process.poll() is not None:
                raise ClusterError(
                    f"{daemon.name} exited with code {daemon.process.returncode} before {what}; "
                    f"see {daemon.log}\n{self.log_tails()}"
                )
            with contextlib.suppress(ClusterError, OSError, subprocess.SubprocessError):
                if ready():
                    return
            time.sleep(0.3)
        raise ClusterError(
            f"{daemon.name} did not reach '{what}' within {self.start_timeout_s:.0f} s; "
            f"see {daemon.log}\n{self.log_tails()}"
        )

    def _start_munge(self) -> None:
        log = self.logs / "munged.log"
        daemon = self._spawn(
            "munged",
            [
                "munged",
                "--foreground",
                "--force",
                f"--socket={self._munge_socket}",
                f"--key-file={self.root / 'munge-key' / 'munge.key'}",
                f"--pid-file={self.root / 'munge-run' / 'munged.pid'}",
                f"--seed-file={self.root / 'munge-key' / 'munged.seed'}",
                f"--log-file={log}",
            ],
            log,
        )
        self._wait(daemon, self._munge_socket.exists, "its socket exists")

    def _start_database(self) -> None:
        datadir = self.root / "db"
        log = self.logs / "mariadb.log"
        install = subprocess.run(
            [
                find_binary("mariadb-install-db") or "mariadb-install-db",
                "--no-defaults",
                f"--datadir={datadir}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if install.returncode != 0:
            raise ClusterError(f"mariadb-install-db failed in {datadir}:\n{install.stderr}")
        init_sql = self.root / "etc" / "init.sql"
        init_sql.write_text(
            f"CREATE USER IF NOT EXISTS '{DB_USER}'@'127.0.0.1' "
            f"IDENTIFIED BY '{self._db_password}';\n"
            f"GRANT ALL ON slurm_acct_db.* TO '{DB_USER}'@'127.0.0.1';\n",
            encoding="ascii",
        )
        init_sql.chmod(0o600)
        daemon = self._spawn(
            "mariadbd",
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={datadir}",
                "--user=root",
                f"--port={self._db_port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.root / 'db' / 'mysqld.sock'}",
                f"--pid-file={self.root / 'db' / 'mysqld.pid'}",
                f"--init-file={init_sql}",
                f"--log-error={log}",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=64M",
                # slurmdbd warns about a short lock wait; it matters for big sites only.
                "--innodb-lock-wait-timeout=900",
            ],
            log,
        )
        self._wait(daemon, lambda: "ready for connections" in _read(log), "ready for connections")

    def _start_slurm(self) -> None:
        dbd = self._spawn("slurmdbd", ["slurmdbd", "-D"], self.logs / "slurmdbd.log")
        self._wait(dbd, lambda: _port_open(self._dbd_port), f"listening on {self._dbd_port}")
        ctld = self._spawn(
            "slurmctld",
            ["slurmctld", "-D", "-f", str(self.conf)],
            self.logs / "slurmctld.log",
        )
        # The controller registers the cluster in the database; sacct needs that record.
        self._wait(ctld, self._cluster_registered, "cluster registered in slurmdbd")
        slurmd = self._spawn(
            "slurmd",
            ["slurmd", "-D", "-N", self.node, "-f", str(self.conf)],
            self.logs / "slurmd.log",
        )
        self._wait(slurmd, lambda: self.node_state() == "idle", f"node {self.node} idle")

    def _cluster_registered(self) -> bool:
        out = self.command("sacctmgr", "--noheader", "--parsable2", "show", "cluster", "format=cluster", timeout=10)
        return CLUSTER_NAME in out.split()


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _terminate(process: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def missing_binaries() -> list[str]:
    """Daemons and client commands of the local cluster that are not installed."""
    return [name for name in (*DAEMONS, *CLIENTS) if find_binary(name) is None]


def install_dependencies() -> int:
    """Install the cluster's Debian packages when missing and possible; else say how.

    Why not fail: the SLURM tests skip (with the same command) where nothing can be installed,
    so ``make test`` still runs everything else on a user's laptop.
    """
    missing = missing_binaries()
    if not missing:
        return 0
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(
            f"SLURM tests will be skipped: missing {', '.join(missing)}. To run them: {INSTALL_COMMAND}",
            file=sys.stderr,
        )
        return 0
    print(f"Installing {' '.join(APT_PACKAGES)} for the SLURM tests (missing {', '.join(missing)})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *APT_PACKAGES], env=env, check=True)
    return 0


def serve(root: Path, cpus: int | None, gpus: int) -> int:
    """Run a cluster under ``root`` until Ctrl-C or SIGTERM."""
    reason = unavailable_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    # Ctrl-C and `kill <pid>` both end the pause below, so the daemons are always stopped.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with LocalSlurmCluster(root, cpus=cpus, gpus=gpus) as cluster:
        print(f"export SLURM_CONF={cluster.conf} PATH={cluster.root / 'bin'}:$PATH", flush=True)
        print(f"# logs in {cluster.logs}; Ctrl-C or `kill {os.getpid()}` stops it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("deps", help="install the Debian packages if missing (as root)")
    start = commands.add_parser("start", help="run a cluster until Ctrl-C")
    start.add_argument("root", type=Path, help="directory for configs, state and logs")
    start.add_argument("--cpus", type=int, default=None, help="CPUs of the node (all)")
    start.add_argument("--gpus", type=int, default=0, help="GPUs declared as GRES (0)")
    args = parser.parse_args(argv)
    if args.command == "deps":
        return install_dependencies()
    return serve(args.root, args.cpus, args.gpus)


if __name__ == "__main__":
    sys.exit(main())
