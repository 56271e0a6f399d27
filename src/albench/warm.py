"""Warm job starts: a local fork server that keeps PyTorch imported between workflow jobs.

Each workflow job is one AL cycle in its own process, and on the default CPU grid
``import torch`` and albench's modules cost more than a second of a job of about
nine seconds. For local runs (the ``local`` executor, no conda envs) the workflow
starts one server per ``snakemake`` invocation (``onstart``); it imports the training
modules once and waits on a Unix socket. A training command (``albench cycle``,
``train-initial``, ``reference``) started by a job first asks the server: the
server forks a child that runs the command with the job's argv, working directory,
environment, umask and stdin/stdout/stderr (passed as file descriptors), and the
job's process waits for the child's exit status and exits with it. Without a
server (SLURM jobs, conda envs, ``ALBENCH_WARM=0``, any refusal) the command runs in
its own process as before; the results are the same bytes either way (tested).

The child is a plain ``fork`` of a process that has imported torch but never run
an operator: no intra-op thread pool, no CUDA context, one thread (checked before
serving). A request is refused, and the job runs in its own process, when the job
would not be the same program: another interpreter, another albench source tree or
source digest, a SLURM allocation, or an environment variable that libraries read
at import time (thread counts, allocator and library settings) set differently.

Lifetime: the server exits when the ``snakemake`` process that started it exits (a
pipe it holds closes), on SIGTERM, or after :data:`IDLE_EXIT_S` without a job. A job
whose waiting process dies (Snakemake cancelled it) has its child killed; a child
dies with the server (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOCKET_ENV = "ALBENCH_WARM_SOCKET"  # set for the jobs of a run that has a server
SWITCH_ENV = "ALBENCH_WARM"  # "0" disables warm starts
STARTED_ENV = "ALBENCH_WARM_STARTED"  # "1" in a job's process forked by a server
IDLE_EXIT_S = 600.0
BACKLOG = 256  # jobs that may wait for the server to finish importing
KILL_GRACE_S = 10.0
COMMANDS = ("cycle", "train-initial", "reference")
# Read by a library when it is loaded, so a forked child would keep the server's values.
IMPORT_TIME_PREFIXES = (
    "OMP_",
    "GOMP_",
    "KMP_",
    "MKL_",
    "OPENBLAS_",
    "GOTO_",
    "VECLIB_",
    "NUMEXPR_",
    "TORCH",
    "PYTORCH_",
    "PYTHON",
    "LD_",
    "MALLOC_",
    "SLURM_JOB_ID",
)
# What Snakemake's shell() sets for a threads: 1 job; the server is started with the same.
JOB_THREAD_ENV = (
    "OMP_NUM_THREADS",
    "GOTO_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
PRELOAD = ("torch", "albench.config", "albench.plan", "albench.cycle")


# ----------------------------------------------------------------------------- identity


def source_digest() -> str:
    """SHA-256 over albench's Python sources (names and bytes): same digest, same code."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def identity() -> dict:
    """What must match between a job and the server for a fork to be the same program."""
    return {
        "python": sys.executable,
        "albench": str(Path(__file__).resolve().parent),
        "digest": source_digest(),
    }


def import_time_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(IMPORT_TIME_PREFIXES)}


def refusal(request: dict, server: dict, server_env: dict[str, str]) -> str | None:
    """Why this server must not run the request (None: it may)."""
    for key, value in server.items():
        if request.get("identity", {}).get(key) != value:
            return f"{key} differs ({request.get('identity', {}).get(key)!r} vs {value!r})"
    job_env = import_time_env(request.get("env", {}))
    own = import_time_env(server_env)
    if job_env != own:
        keys = sorted(k for k in set(job_env) | set(own) if job_env.get(k) != own.get(k))
        return f"import-time environment differs: {', '.join(keys)}"
    argv = request.get("argv") or []
    if len(argv) < 2 or argv[1] not in COMMANDS:
        return f"not a training command: {argv!r}"
    return None


# ----------------------------------------------------------------------------- client


def run_via_server(argv: list[str]) -> int | None:
    """Run ``argv`` (``[script, command, ...]``) in a child of the run's server.

    Returns the child's exit status, or None when there is no server or it refused
    (the caller then runs the command itself).
    """
    path = os.environ.get(SOCKET_ENV)
    if not path or os.environ.get(SWITCH_ENV) == "0" or len(argv) < 2 or argv[1] not in COMMANDS:
        return None
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(path)
    except OSError:
        return None
    request = {
        "argv": list(argv),
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "umask": _current_umask(),
        "identity": identity(),
    }
    with conn:
        try:
            payload = (json.dumps(request) + "\n").encode()
            socket.send_fds(conn, [payload], [0, 1, 2])
            reader = conn.makefile("r", encoding="utf-8")
            first = json.loads(reader.readline() or "{}")
            if "pid" not in first:
                return None  # refused: the reason is in the server's log
            line = reader.readline()
        except (OSError, ValueError):
            return None
    if not line:
        print("albench: the warm-start server stopped during this job", file=sys.stderr)
        return 1
    return int(json.loads(line)["exit"])


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ----------------------------------------------------------------------------- server


def listening_socket(socket_path: Path) -> socket.socket:
    """A Unix socket at ``socket_path`` that only this user may connect to, listening.

    Jobs that connect before the server accepts wait in its backlog, so a job that
    starts while the server is still importing torch waits for it rather than
    importing torch itself.
    """
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)
    try:
        listener.bind(str(socket_path))
    finally:
        os.umask(old_mask)
    listener.listen(BACKLOG)
    return listener


def serve(
    socket_path: Path,
    lifeline: int | None,
    idle_exit_s: float = IDLE_EXIT_S,
    listener: socket.socket | None = None,
) -> int:
    """Import the training modules, then fork one child per request until told to stop.

    ``listener`` is the socket bound at ``socket_path`` by whoever started the
    server (bound here when None). Waiting jobs are answered by closing it when the
    server cannot serve: they then run in their own process.
    """
    if listener is None:
        listener = listening_socket(socket_path)
    try:
        return _serve(listener, lifeline, idle_exit_s, socket_path)
    finally:
        listener.close()
        socket_path.unlink(missing_ok=True)


def _serve(listener: socket.socket, lifeline: int | None, idle_exit_s: float, socket_path) -> int:
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
    threads = len(os.listdir("/proc/self/task")) if Path("/proc/self/task").exists() else 1
    if threads != 1:
        print(f"albench warm: {threads} threads after import; not forking", file=sys.stderr)
        return 1
    own = identity()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    if lifeline is not None:
        selector.register(lifeline, selectors.EVENT_READ, "lifeline")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    jobs: dict[int, socket.socket] = {}  # child pid -> the waiting job's connection
    doomed: dict[int, float] = {}  # child pid -> when SIGTERM was sent
    last_busy = time.monotonic()
    print(f"albench warm: serving on {socket_path} (pid {os.getpid()})", file=sys.stderr)
    try:
        while not stopping:
            for key, _ in selector.select(timeout=0.2):
                if key.data == "accept":
                    conn, _ = listener.accept()
                    pid = _start(conn, own, listener, selector, jobs)
                    if pid is not None:
                        jobs[pid] = conn
                        selector.register(conn, selectors.EVENT_READ, pid)
                elif key.data == "lifeline":
                    stopping.append(True)
                elif key.data in jobs:  # the job's process went away: stop its child
                    selector.unregister(key.fileobj)
                    _signal(key.data, signal.SIGTERM)
                    doomed[key.data] = time.monotonic()
            _reap(jobs, doomed, selector)
            for pid, since in list(doomed.items()):
                if time.monotonic() - since > KILL_GRACE_S:
                    _signal(pid, signal.SIGKILL)
            if jobs:
                last_busy = time.monotonic()
            elif time.monotonic() - last_busy > idle_exit_s:
                break
    finally:
        for pid in jobs:
            _signal(pid, signal.SIGKILL)
    return 0


def _start(conn, own: dict, listener, selector, jobs: dict) -> int | None:
    """Read one request, fork its child; None if refused or unreadable."""
    conn.settimeout(10.0)
    fds: list[int] = []
    try:
        data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
        while not data.endswith(b"\n"):
            more = conn.recv(1 << 20)
            if not more:
                raise ValueError("truncated request")
            data += more
        request = json.loads(data)
        reason = refusal(request, own, dict(os.environ))
        if reason is None and len(fds) != 3:
            reason = f"expected 3 file descriptors, got {len(fds)}"
    except (OSError, ValueError) as exc:
        reason = f"unreadable request: {exc}"
        request = {}
    if reason is not None:
        print(f"albench warm: refused {request.get('argv')!r}: {reason}", file=sys.stderr)
        _send(conn, {"refused": reason})
        conn.close()
        for fd in fds:
            os.close(fd)
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        selector.close()
        listener.close()
        for other in jobs.values():
            other.close()
        _run_child(request, fds, server_pid=os.getppid(), conn=conn)
    for fd in fds:
        os.close(fd)
    conn.settimeout(None)
    print(f"albench warm: pid {pid} runs {' '.join(request['argv'][1:])}", file=sys.stderr)
    sys.stderr.flush()
    _send(conn, {"pid": pid})
    return pid


def _run_child(request: dict, fds: list[int], server_pid: int, conn) -> None:
    """In the forked child: become the job's process and run its command (never returns)."""
    code = 1
    try:
        conn.close()
        _die_with_parent(server_pid)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.umask(int(request["umask"]))
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.pop(SOCKET_ENV, None)
        os.environ[STARTED_ENV] = "1"
        tempfile.tempdir = None  # re-read TMPDIR from the job's environment
        sys.argv = list(request["argv"])
        from albench.cli import main

        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(int(code or 0))


def _die_with_parent(server_pid: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != server_pid:  # the server died before prctl took effect
        os._exit(1)


def _reap(jobs: dict, doomed: dict, selector) -> None:
    while jobs:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        doomed.pop(pid, None)
        conn = jobs.pop(pid, None)
        if conn is None:
            continue
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(conn)
        _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
        conn.close()


def _send(conn, message: dict) -> None:
    with contextlib.suppress(OSError):
        conn.sendall((json.dumps(message) + "\n").encode())


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


# ----------------------------------------------------------------------------- start


_LIFELINES: list[int] = []  # write ends held by the starting process until it exits


def start_server(log_path: Path, thread_env: dict[str, str] | None = None) -> Path | None:
    """Start a server for this process's jobs and set :data:`SOCKET_ENV` for them.

    The server runs this interpreter with this process's environment plus
    ``thread_env`` (what the job runner sets for its jobs). Returns the socket path, or
    None when warm starts are switched off (``ALBENCH_WARM=0``). The server is ready
    The socket is bound and listening before this returns, so every job of the run
    finds it; jobs that connect while the server is still importing wait for it.
    """
    if os.environ.get(SWITCH_ENV) == "0":
        return None
    folder = Path(tempfile.mkdtemp(prefix="albench-warm-"))
    path = folder / "socket"
    listener = listening_socket(path)
    read_end, write_end = os.pipe()
    env = {**os.environ, **(thread_env or {})}
    env.pop(SOCKET_ENV, None)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "albench.warm", str(path), "--lifeline", str(read_end)]
    command += ["--listen-fd", str(listener.fileno())]
    try:
        with open(log_path, "ab") as log:
            subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(read_end, listener.fileno()),
                start_new_session=True,
            )
    except BaseException:
        path.unlink(missing_ok=True)
        folder.rmdir()
        raise
    finally:
        listener.close()
        os.close(read_end)
    _LIFELINES.append(write_end)
    os.environ[SOCKET_ENV] = str(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m albench.warm", description=__doc__.split("\n")[0]
    )
    parser.add_argument("socket", type=Path)
    parser.add_argument("--lifeline", type=int, help="a pipe read end; exit when it closes")
    parser.add_argument("--idle-exit", type=float, default=IDLE_EXIT_S)
    parser.add_argument(
        "--listen-fd", type=int, help="a socket already bound at SOCKET and listening"
    )
    args = parser.parse_args(argv)
    listener = None
    if args.listen_fd is not None:
        listener = socket.socket(fileno=args.listen_fd)
    try:
        return serve(args.socket, args.lifeline, args.idle_exit, listener)
    finally:
        with contextlib.suppress(OSError):
            args.socket.parent.rmdir()


if __name__ == "__main__":
    sys.exit(main())
