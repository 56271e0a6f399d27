"""Atomic writes: a crash mid-write leaves nothing that looks finished."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from albench.io import atomic_dir, atomic_open, dumps_json, read_json, write_json, write_npy


def test_exception_mid_write_leaves_no_file(tmp_path):
    target = tmp_path / "metrics.json"
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write(b'{"accuracy": ')
        raise RuntimeError("crash")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_exception_keeps_the_previous_version(tmp_path):
    target = tmp_path / "labeled.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write(b"garbage")
        raise RuntimeError("crash")
    assert read_json(target) == {"v": 1}


def test_killed_process_leaves_no_complete_looking_file(tmp_path):
    target = tmp_path / "big.npy"
    script = textwrap.dedent(f"""
        import os, signal
        from albench.io import atomic_open
        with atomic_open({str(target)!r}) as handle:
            handle.write(b"x" * 1_000_000)
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], check=False)
    assert proc.returncode == -signal.SIGKILL
    assert not target.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".big.npy.tmp-") for name in leftovers)


def test_npy_and_json_round_trip_and_are_byte_stable(tmp_path):
    write_npy(tmp_path / "a.npy", np.arange(5, dtype=np.int64))
    assert np.load(tmp_path / "a.npy", allow_pickle=False).tolist() == [0, 1, 2, 3, 4]
    assert dumps_json({"b": 1, "a": np.float32(0.5)}) == '{\n  "a": 0.5,\n  "b": 1\n}\n'
    with pytest.raises(ValueError):
        dumps_json({"x": float("nan")})


def test_atomic_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "cache"
    with atomic_dir(target) as work:
        (work / "f").write_text("one")
    with pytest.raises(RuntimeError), atomic_dir(target) as work:
        (work / "f").write_text("two")
        raise RuntimeError("crash")
    assert (target / "f").read_text() == "one"
    with atomic_dir(target) as work:
        (work / "f").write_text("three")
    assert (target / "f").read_text() == "three"
    assert sorted(os.listdir(tmp_path)) == ["cache"]
