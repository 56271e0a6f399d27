"""Local single-node SLURM cluster for tests: an availability check and a start/stop context manager.

The cluster is started and stopped by ``.ci/slurm/start.sh`` / ``.ci/slurm/stop.sh`` (munged,
slurmctld and slurmd as root, ``/etc/slurm/slurm.conf`` swapped in and restored afterwards, all
state and logs under one state directory). This module wraps those scripts for pytest.

Typical session fixture (the cluster takes ~2 s to start, so share it across tests)::

    @pytest.fixture(scope="session")
    def slurm_cluster(tmp_path_factory):
        ok, reason = slurm_available()
        if not ok:
            pytest.skip(reason)
        with local_slurm_cluster(tmp_path_factory.mktemp("slurm")) as cluster:
            yield cluster

Only one cluster can run per machine (fixed ports, ``/etc/slurm/slurm.conf``), so do not start
one per test in parallel workers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SLURM_CI_DIR = REPO_ROOT / ".ci" / "slurm"
START_SCRIPT = SLURM_CI_DIR / "start.sh"
STOP_SCRIPT = SLURM_CI_DIR / "stop.sh"
INSTALL_HINT = "install them with `.ci/slurm/install.sh` (as root: apt-get install slurm-wlm munge)"
REQUIRED_PROGRAMS = (
    "munged",
    "munge",
    "slurmctld",
    "slurmd",
    "sbatch",
    "srun",
    "squeue",
    "sinfo",
    "scontrol",
)
# squeue states of a job that has not finished yet (everything else is terminal).
ACTIVE_JOB_STATES = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "RUNNING",
        "COMPLETING",
        "SUSPENDED",
        "REQUEUED",
        "REQUEUE_HOLD",
        "REQUEUE_FED",
        "RESIZING",
        "SIGNALING",
        "STAGE_OUT",
        "STOPPED",
        "RESV_DEL_HOLD",
    }
)
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
_SLURM_ENV_PREFIXES = ("SLURM_", "SBATCH_", "SRUN_", "SALLOC_")


class SlurmHarnessError(RuntimeError):
    """The local cluster could not be started or stopped; the message holds the daemons' logs."""


def slurm_available() -> tuple[bool, str]:
    """Whether a local SLURM cluster can be started here, and why not.

    Returns:
        ``(True, "")`` when running as root on Linux with every needed program installed and the
        harness scripts present; otherwise ``(False, reason)`` with a reason fit for
        ``pytest.skip`` that says how to fix it.
    """
    if not Path("/proc/self/stat").exists():
        return False, "the local SLURM cluster needs Linux (/proc)"
    if os.geteuid() != 0:
        return (
            False,
            f"the local SLURM cluster must run as root (slurmctld/slurmd), uid is {os.geteuid()}",
        )
    missing = [name for name in REQUIRED_PROGRAMS if shutil.which(name, path=_SEARCH_PATH) is None]
    if missing:
        return False, f"SLURM/munge programs not found: {', '.join(missing)}; {INSTALL_HINT}"
    if not Path("/etc/munge/munge.key").is_file():
        return False, f"/etc/munge/munge.key is missing; {INSTALL_HINT}"
    scripts = [
        path
        for path in (START_SCRIPT, STOP_SCRIPT, SLURM_CI_DIR / "slurm.conf.in")
        if not path.is_file()
    ]
    if scripts:
        return False, f"harness files missing: {', '.join(str(path) for path in scripts)}"
    return True, ""


def slurm_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for SLURM client commands talking to the local cluster.

    Drops every ``SLURM_*``, ``SBATCH_*``, ``SRUN_*`` and ``SALLOC_*`` variable (so clients read
    ``/etc/slurm/slurm.conf`` and never think they run inside another job) and appends
    ``/usr/sbin`` and ``/sbin`` to ``PATH``.

    Args:
        base: Environment to start from; ``os.environ`` when None.

    Returns:
        A new dict.
    """
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if not key.startswith(_SLURM_ENV_PREFIXES)
    }
    env["PATH"] = os.pathsep.join([env.get("PATH", ""), "/usr/sbin", "/sbin"])
    return env


def read_pids(state_dir: Path) -> dict[str, int]:
    """The daemons start.sh started, from ``state_dir/pids`` ("NAME PID" lines).

    Args:
        state_dir: The state directory given to start.sh.

    Returns:
        Mapping daemon name (``munged``, ``slurmctld``, ``slurmd``) to pid; ``munged`` is absent
        when start.sh reused a munged that was already running. Empty if there is no pids file.
    """
    path = Path(state_dir) / "pids"
    if not path.is_file():
        return {}
    pids: dict[str, int] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            pids[parts[0]] = int(parts[1])
    return pids


def _is_running(pid: int, name: str | None) -> bool:
    """Whether ``pid`` is a live, non-zombie process named ``name`` (or Debian's ``name-wlm``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    state = stat[stat.rindex(")") + 2 :].split(" ", 1)[0]
    if state in ("Z", "X"):
        return False
    return name is None or comm in (name[:15], f"{name}-wlm"[:15])


def assert_no_daemons_left(pids: Mapping[str, int] | Iterable[int], timeout: float = 0.0) -> None:
    """Assert that none of the given daemons still runs.

    A pid counts as gone when no process has it, when its process is a zombie, or (for a name
    to pid mapping) when it now belongs to a program of another name (pid reuse).

    Args:
        pids: Name to pid mapping (as from :func:`read_pids`) or bare pids.
        timeout: Seconds to keep re-checking before failing.

    Raises:
        AssertionError: Naming every daemon still alive after ``timeout``.
    """
    named = list(pids.items()) if isinstance(pids, Mapping) else [(None, pid) for pid in pids]
    deadline = time.monotonic() + timeout
    while True:
        alive = [(name, pid) for name, pid in named if _is_running(pid, name)]
        if not alive or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    if alive:
        listed = ", ".join(f"{name or 'pid'} {pid}" for name, pid in alive)
        raise AssertionError(f"daemons still running after the cluster was stopped: {listed}")


@dataclass(frozen=True)
class SlurmCluster:
    """A running local cluster: where its state lives and how to talk to it.

    Attributes:
        state_dir: start.sh's state directory (logs ``slurmctld.log``, ``slurmd.log``,
            ``munged.log``, the rendered ``slurm.conf``, ``pids``).
        env: Environment for SLURM clients and for Snakemake runs submitting to the cluster.
        pids: Daemons started for this cluster, name to pid.
    """

    state_dir: Path
    env: dict[str, str] = field(repr=False)
    pids: dict[str, int]

    def run(
        self, *args: str, cwd: Path | None = None, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a command (e.g. ``squeue``) with the cluster environment.

        Args:
            *args: Program and arguments.
            cwd: Working directory.
            timeout: Seconds before the command is killed.

        Returns:
            The completed process (text stdout/stderr captured).

        Raises:
            SlurmHarnessError: The command exited non-zero (message holds its output).
        """
        proc = subprocess.run(
            list(args), cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0:
            raise SlurmHarnessError(
                f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
            )
        return proc

    def sbatch(self, *args: str, cwd: Path) -> int:
        """Submit a batch job with ``sbatch --parsable ARGS`` and return its job id.

        Args:
            *args: sbatch arguments, e.g. ``"--wrap", "hostname"``.
            cwd: Submission (and default working) directory.

        Returns:
            The job id.
        """
        out = self.run("sbatch", "--parsable", *args, cwd=cwd).stdout.strip()
        return int(out.split(";", 1)[0])

    def job_state(self, job_id: int) -> str | None:
        """The job's squeue state (finished jobs stay listed for MinJobAge=300 s), None if unknown."""
        proc = subprocess.run(
            ["squeue", "--noheader", "--states=all", f"--jobs={job_id}", "--format=%T"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        state = proc.stdout.strip()
        return state or None

    def wait_for_job(self, job_id: int, timeout: float = 30.0, poll: float = 0.25) -> str:
        """Wait until the job has left the active states and return its final squeue state.

        Args:
            job_id: Job to wait for.
            timeout: Seconds before giving up.
            poll: Seconds between squeue calls.

        Returns:
            The terminal state, e.g. ``"COMPLETED"`` or ``"FAILED"``.

        Raises:
            TimeoutError: The job was still active (or unknown) after ``timeout``; the message
                holds its last state and the daemons' logs.
        """
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.job_state(job_id)
            if state is not None and state not in ACTIVE_JOB_STATES:
                return state
            time.sleep(poll)
        raise TimeoutError(f"job {job_id} still {state!r} after {timeout} s\n{self.logs()}")

    def logs(self, lines: int = 40) -> str:
        """The last ``lines`` lines of each daemon log, for failure messages."""
        return _tail_logs(self.state_dir, lines)


def _tail_logs(state_dir: Path, lines: int) -> str:
    parts = []
    for name in ("munged.log", "slurmctld.log", "slurmd.log"):
        path = Path(state_dir) / name
        if path.is_file():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"===== {path} =====\n" + "\n".join(tail))
    return "\n".join(parts)


def _run_script(script: Path, state_dir: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script), str(state_dir)],
        env=slurm_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def stop_cluster(state_dir: Path, timeout: float = 90.0) -> None:
    """Run stop.sh on ``state_dir`` (safe to call twice, or after a failed start).

    Args:
        state_dir: The state directory given to start.sh.
        timeout: Seconds before stop.sh itself is killed.

    Raises:
        SlurmHarnessError: stop.sh failed (a daemon survived SIGKILL) or timed out.
    """
    try:
        proc = _run_script(STOP_SCRIPT, state_dir, timeout)
    except subprocess.TimeoutExpired as exc:
        raise SlurmHarnessError(f"stop.sh {state_dir} timed out after {timeout} s") from exc
    if proc.returncode != 0:
        raise SlurmHarnessError(f"stop.sh {state_dir} exited {proc.returncode}:\n{proc.stderr}")


@contextmanager
def local_slurm_cluster(base_dir: Path, *, start_timeout: float = 120.0) -> Iterator[SlurmCluster]:
    """Start a local single-node SLURM cluster; stop it on exit, whatever happens.

    The state directory is ``base_dir / "slurm-state"``. stop.sh runs in ``finally``, also when
    start.sh fails or times out and on KeyboardInterrupt, and stops exactly the daemons that
    start.sh recorded and restores ``/etc/slurm/slurm.conf``.

    Args:
        base_dir: Directory for the cluster's state (e.g. pytest's ``tmp_path`` or
            ``tmp_path_factory.mktemp("slurm")``).
        start_timeout: Seconds before start.sh is killed.

    Yields:
        The running cluster.

    Raises:
        SlurmHarnessError: start.sh failed (message holds its output and the daemons' logs).
    """
    state_dir = Path(base_dir).resolve() / "slurm-state"
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        try:
            proc = _run_script(START_SCRIPT, state_dir, start_timeout)
        except subprocess.TimeoutExpired as exc:
            raise SlurmHarnessError(
                f"start.sh {state_dir} timed out after {start_timeout} s\n{_tail_logs(state_dir, 60)}"
            ) from exc
        if proc.returncode != 0:
            raise SlurmHarnessError(
                f"start.sh {state_dir} exited {proc.returncode}:\n{proc.stderr}"
            )
        yield SlurmCluster(state_dir=state_dir, env=slurm_env(), pids=read_pids(state_dir))
    except BaseException as exc:  # also KeyboardInterrupt and GeneratorExit: always stop
        try:
            stop_cluster(state_dir)
        except SlurmHarnessError as stop_exc:  # keep the original error in front
            exc.add_note(f"stopping the cluster failed too: {stop_exc}")
        raise
    else:
        stop_cluster(state_dir)
