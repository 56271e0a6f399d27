"""The warm-start server (albench.warm): refusals, a forked job's I/O and exit status,
a cancelled job's child, and the fallback when a job's environment differs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from albench import warm

THREADS = {name: "1" for name in warm.JOB_THREAD_ENV}


def _request(**changes) -> dict:
    request = {
        "argv": ["albench_cli.py", "cycle", "--config", "c.yaml"],
        "env": {"HOME": "/root", **THREADS},
        "identity": warm.identity(),
    }
    return request | changes


def test_a_request_from_the_same_program_is_accepted():
    assert warm.refusal(_request(), warm.identity(), {"HOME": "/x", **THREADS}) is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"identity": {**warm.identity(), "python": "/other/python"}}, "python differs"),
        ({"identity": {**warm.identity(), "digest": "0" * 64}}, "digest differs"),
        ({"env": {"OMP_NUM_THREADS": "4"}}, "import-time environment differs: GOTO_NUM"),
        ({"env": {**THREADS, "SLURM_JOB_ID": "17"}}, "differs: SLURM_JOB_ID"),
        ({"argv": ["albench_cli.py", "report", "--config", "c.yaml"]}, "not a training"),
        ({"argv": ["albench_cli.py"]}, "not a training"),
    ],
)
def test_a_job_that_would_not_be_the_same_program_is_refused(changes, reason):
    assert reason in warm.refusal(_request(**changes), warm.identity(), dict(THREADS))


def test_the_source_digest_follows_the_code(tmp_path, monkeypatch):
    fake = tmp_path / "albench"
    fake.mkdir()
    (fake / "warm.py").write_text("x = 1\n")
    monkeypatch.setattr(warm, "__file__", str(fake / "warm.py"))
    first = warm.source_digest()
    (fake / "warm.py").write_text("x = 2\n")
    assert warm.source_digest() != first


class Server:
    """``python -m albench.warm`` on a socket in ``folder``, stopped by closing its lifeline."""

    def __init__(self, folder: Path) -> None:
        self.socket, self.log = folder / "socket", folder / "server.log"
        read_end, self.lifeline = os.pipe()
        env = {**os.environ, **THREADS}
        env.pop(warm.SOCKET_ENV, None)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "albench.warm",
                    str(self.socket),
                    "--lifeline",
                    str(read_end),
                ],
                env=env,
                stdout=log,
                stderr=log,
                pass_fds=(read_end,),
            )
        os.close(read_end)
        deadline = time.monotonic() + 120
        while not self.socket.exists():
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the server did not start within 120 s"
            time.sleep(0.05)

    def child_pids(self) -> list[int]:
        return [int(pid) for pid in re.findall(r"pid (\d+) runs", self.log.read_text())]

    def stop(self) -> None:
        os.close(self.lifeline)
        self.proc.wait(timeout=30)


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path)
    yield running
    running.stop()
    assert not running.socket.exists()  # the server removes its socket


def _client(server: Server | Path, cwd: Path, config: str, **env_changes) -> subprocess.Popen:
    """A workflow job's command line: albench cycle, as the rules run it."""
    socket_path = server if isinstance(server, Path) else server.socket
    env = {**os.environ, **THREADS, warm.SOCKET_ENV: str(socket_path), **env_changes}
    args = ["cycle", "--config", config, "--dataset", "digits", "--ir", "1", "--sampler"]
    args += ["random", "--seed", "0", "--cycle", "0", "--pool", "p", "--labeled", "l", "--out", "o"]
    return subprocess.Popen(
        [sys.executable, "-m", "albench", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_job_runs_forked_with_its_own_cwd_output_and_exit_status(server, tmp_path):
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    client = _client(server, job_dir, "relative-missing.yaml")
    _out, err = client.communicate(timeout=120)
    assert client.returncode == 2, err  # the child's status, passed on
    assert "albench: error:" in err and "relative-missing.yaml" in err  # the job's stderr
    assert len(server.child_pids()) == 1  # it ran in a fork, not in the client


def test_a_job_that_starts_with_the_run_waits_for_the_server_to_finish_importing(
    tmp_path, monkeypatch
):
    """start_server binds the socket before it returns (the workflow's onstart), so the
    run's first job, started while the server still imports torch, is forked too."""
    monkeypatch.delenv(warm.SOCKET_ENV, raising=False)
    log = tmp_path / "warm" / "server.log"
    path = warm.start_server(log, THREADS)
    try:
        assert path.is_socket() and os.environ[warm.SOCKET_ENV] == str(path)
        assert "serving" not in log.read_text()  # still importing
        client = _client(path, tmp_path, "missing.yaml")
        _out, err = client.communicate(timeout=120)
        assert client.returncode == 2 and "missing.yaml" in err
        assert re.findall(r"pid (\d+) runs cycle", log.read_text())  # forked, not alone
    finally:
        os.close(warm._LIFELINES.pop())
    deadline = time.monotonic() + 30
    while path.exists():  # the server saw its lifeline close and removed its socket
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def test_a_job_with_another_thread_count_runs_in_its_own_process(server, tmp_path):
    client = _client(server, tmp_path, "missing.yaml", OMP_NUM_THREADS="2")
    _, err = client.communicate(timeout=120)
    assert client.returncode == 2 and "albench: error:" in err  # ran anyway, by itself
    assert server.child_pids() == []
    assert "refused" in server.log.read_text() and "OMP_NUM_THREADS" in server.log.read_text()


def test_no_server_means_the_command_runs_itself(tmp_path, monkeypatch):
    monkeypatch.setenv(warm.SOCKET_ENV, str(tmp_path / "no-such-socket"))
    assert warm.run_via_server(["albench", "cycle", "--config", "c"]) is None
    monkeypatch.setenv(warm.SWITCH_ENV, "0")
    assert warm.run_via_server(["albench", "cycle"]) is None


def test_a_cancelled_job_takes_its_forked_child_with_it(server, tmp_path):
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)  # opening it blocks: the child waits in load_config
    client = _client(server, tmp_path, str(fifo))
    deadline = time.monotonic() + 60
    while not server.child_pids():
        assert time.monotonic() < deadline and client.poll() is None
        time.sleep(0.05)
    (child,) = server.child_pids()
    os.kill(client.pid, signal.SIGKILL)  # Snakemake cancelling the job
    client.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _alive(child):
        assert time.monotonic() < deadline, f"child {child} outlived its job"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"
