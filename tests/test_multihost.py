"""Two processes joined by jax.distributed (one CPU device each, gloo collectives) train one
sweep over a 'sweep' mesh spanning both: the same numbers as one process with two devices,
and the checkpoint both processes wrote resumes."""

import json
import os
import socket
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _two_processes(workdir, out):
    port, script = _free_port(), "tests/multihost_driver.py"
    procs = [
        subprocess.Popen(
            [sys.executable, script, str(i), str(port), str(workdir), str(out)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for i in (0, 1)
    ]
    logs = [p.communicate(timeout=240)[0] for p in procs]
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log[-3000:]
    return logs


def test_two_processes_equal_one_process_and_their_checkpoint_resumes(tmp_path):
    single = tmp_path / "single.npz"
    cmd = [sys.executable, "tests/sweep_driver.py", str(tmp_path / "single"), str(single)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    multi = tmp_path / "multi.npz"
    logs = _two_processes(tmp_path / "multi", multi)
    assert all("step 80/80 | 8 members" in log for log in logs)  # both see every member
    assert sorted(os.listdir(tmp_path / "multi" / "checkpoints")) == ["60", "80"]
    meta = json.loads((tmp_path / "multi" / "checkpoints" / "80" / "meta" / "metadata").read_text())
    assert meta["layout"]["process_count"] == 2 and meta["layout"]["num_devices"] == 2
    want, got = np.load(single), np.load(multi)
    assert set(want.files) == set(got.files) and len(want.files) > 10
    for key in want.files:  # one device per process or two in one process: the same program
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    resumed = tmp_path / "resumed.npz"
    logs = _two_processes(tmp_path / "multi", resumed)
    assert all("restored the finished sweep at step 80" in log for log in logs)
    again = np.load(resumed)
    for key in want.files:
        np.testing.assert_array_equal(again[key], want[key], err_msg=key)
