"""Checkpoint and resume: a killed and resumed sweep ends bitwise equal to an uninterrupted one.

The sweep of tests/sweep_driver.py (80 steps, chunks of 10, a checkpoint every 20, the newest
2 kept, one member per seed diverging at step 0) runs in subprocesses that kill themselves
with SIGKILL at chosen points (checkpoint hooks, see tests/sweep_driver.py). The study tests
below check the same of the metrics a launcher writes, evaluation columns included.
"""

import json
import os
import signal
import subprocess
import sys

import jax
import ml_collections
import numpy as np
import pytest

from cvae_jax import config as config_lib
from cvae_jax import identity
from cvae_jax.errors import CheckpointMismatchError, WorkdirConflictError, WorkdirError
from cvae_jax.runs import workdir
from cvae_jax.training import checkpoint, runner
from cvae_jax.training.step import TrainState
from tests.sweep_driver import small_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _drive(run_dir, out, kill=None, reference=False):
    cmd = [sys.executable, "tests/sweep_driver.py", str(run_dir), str(out)]
    cmd += (["--reference"] if reference else []) + ([f"--kill={kill}"] if kill else [])
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stderr


def _steps(run_dir):
    return sorted(os.listdir(os.path.join(run_dir, "checkpoints")))


def test_killed_during_and_between_checkpoints_then_resumed_equals_uninterrupted(tmp_path):
    run_dir, out = tmp_path / "run", tmp_path / "out.npz"
    # 1. Killed while writing checkpoint 40: only 20 is complete, 40 is a temporary dir.
    rc, log = _drive(run_dir, out, kill="in_save:40")
    assert rc == -signal.SIGKILL, log
    assert _steps(run_dir)[0] == "20" and _steps(run_dir)[1].startswith("40.orbax-checkpoint-tmp")
    # 2. Resumes from 20 (not the half-written 40), then is killed after step 70, between
    #    the checkpoints of 60 and 80.
    rc, log = _drive(run_dir, out, kill="after_chunk:70")
    assert rc == -signal.SIGKILL, log
    assert "ignoring and deleting the incomplete checkpoint" in log
    assert "restored the sweep at step 20" in log
    assert "diverged at step 0 before this restart" in log  # the frozen member is reported
    assert _steps(run_dir) == ["40", "60"]  # the newest 2 kept
    # 3. Resumes from 60 and finishes; the same process also trains without interruption.
    rc, log = _drive(run_dir, out, reference=True)
    assert rc == 0, log
    assert "restored the sweep at step 60" in log
    assert _steps(run_dir) == ["60", "80"]
    arrays = np.load(out)
    resumed = [k for k in arrays.files if not k.startswith("ref/")]
    assert len(resumed) > 10 and set(arrays.files) == set(resumed) | {f"ref/{k}" for k in resumed}
    for key in resumed:  # bitwise, NaN/inf of the diverged members included
        np.testing.assert_array_equal(arrays[key], arrays[f"ref/{key}"], err_msg=key)
    # The driver shards the sweep over two CPU devices; the layout is stored with the run.
    meta = json.loads((run_dir / "checkpoints" / "80" / "meta" / "metadata").read_text())
    assert meta["layout"]["num_devices"] == 2 and meta["layout"]["platform"] == "cpu"
    assert "was written on devices" not in log
    np.testing.assert_array_equal(arrays["history/step"], np.arange(10, 81, 10))


# The toy2d study as its launcher runs it (`launch.run_study`) on the launchers' default
# layout of a 2-core machine (2 XLA CPU devices, the members sharded over them), two variants
# of 2 seeds x 4 betas, 2 chunks of 20 steps: uninterrupted; interrupted (Ctrl-C) in the
# second variant's sweep after its checkpoint at step 20, then resumed (the first variant,
# finished, is restored; the second trains on); the finished run run again (the done path:
# both restored, nothing trained). Its figures are skipped: the metrics are compared.
STUDY_SCRIPT = r"""
import json, logging as std_logging, os, sys
from pathlib import Path

import jax
from absl import logging
from cvae_jax.runs import devices

devices.use_cpu_devices(2)
root = Path(sys.argv[1])
# A program is compiled once for all the runs (a hit is the same executable; a program that
# differs, e.g. for inputs placed otherwise, is a miss and is compiled).
jax.config.update("jax_compilation_cache_dir", str(root / "xla_cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)

from configs.toy2d import get_config
from cvae_jax.runs import launch
from cvae_jax.studies import toy2d
from cvae_jax.runs import workdir
from cvae_jax.training import checkpoint, runner

toy2d.toy2d_plots.toy2d_figures = lambda *args, **kwargs: None
config = get_config("smoke")
config.variants = ("standard", "learned_conditional")
config.training.update(num_steps=40, log_every=20)
train_sweep = runner.train_sweep
log = []


class Keep(std_logging.Handler):
    def emit(self, record):
        log.append(record.getMessage())


logging.set_verbosity(logging.INFO)
logging.get_absl_logger().addHandler(Keep())


def ctrl_c_at_20(config, data=None, checkpoint_dir=None, hooks=None, **callbacks):
    def hook(step):
        if os.path.basename(checkpoint_dir) == "learned_conditional" and step == 20:
            raise KeyboardInterrupt
    return train_sweep(config, data, checkpoint_dir, checkpoint.Hooks(after_chunk=hook), **callbacks)


def run(name):
    del log[:]
    launch.run_study(toy2d.STUDY, config, str(root / name))
    return {"json": json.loads((root / name / "metrics.json").read_text()),
            "csv": (root / name / "metrics.csv").read_text(), "log": list(log)}


out = {"uninterrupted": run("uninterrupted"), "devices": len(jax.devices())}
runner.train_sweep = ctrl_c_at_20
try:
    run("interrupted")
except KeyboardInterrupt:
    out["metrics_before_resume"] = (root / "interrupted" / "metrics.json").exists()
runner.train_sweep = train_sweep
out["resumed"] = run("interrupted")
out["rerun"] = run("uninterrupted")
print("RESULT" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def study_runs(tmp_path_factory):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    root = tmp_path_factory.mktemp("study")
    proc = subprocess.run(
        [sys.executable, "-c", STUDY_SCRIPT, str(root)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT") :])
    assert out["devices"] == 2
    assert any("new run" in line for line in out["uninterrupted"]["log"])
    return out


def _assert_same_metrics(got, want):
    """Every row and column of metrics.json, and metrics.csv, as written."""
    assert len(got["json"]) == len(want["json"]) == 16  # 2 variants x 2 seeds x 4 betas
    for row, want_row in zip(got["json"], want["json"], strict=True):
        assert row.keys() == want_row.keys()
        differ = {k: (row[k], want_row[k]) for k in row if row[k] != want_row[k]}
        assert not differ, f"seed {row['seed']} beta {row['beta']} {row['variant']}: {differ}"
    assert got["csv"] == want["csv"]


def test_interrupted_and_resumed_study_writes_the_metrics_of_an_uninterrupted_one(study_runs):
    resumed = study_runs["resumed"]
    assert study_runs.get("metrics_before_resume") is False, "the run was not interrupted"
    assert any("resume run" in line for line in resumed["log"])
    assert any("restored the finished sweep at step 40" in line for line in resumed["log"])
    assert any("restored the sweep at step 20" in line for line in resumed["log"])
    _assert_same_metrics(resumed, study_runs["uninterrupted"])


def test_rerun_of_a_finished_study_rewrites_the_metrics_it_wrote(study_runs):
    rerun = study_runs["rerun"]
    assert any("done run" in line for line in rerun["log"])
    assert not any(line.startswith("step 20/40") for line in rerun["log"])  # nothing trained
    _assert_same_metrics(rerun, study_runs["uninterrupted"])


def _corrupt_arrays(step_dir):
    """Truncates every array file of the checkpoint's state to half its length."""
    state_dir = os.path.join(step_dir, "state")
    for parent, _, files in os.walk(state_dir):
        for name in files:
            if name not in ("_METADATA", "commit_success.txt"):
                path = os.path.join(parent, name)
                os.truncate(path, os.path.getsize(path) // 2)


def test_corrupt_newest_checkpoints_fall_back_to_an_older_one(tmp_path, caplog):
    config = small_config()
    config.training.checkpoints_to_keep = 3
    directory = str(tmp_path / "checkpoints")
    _, first = runner.train_sweep(config, checkpoint_dir=directory)
    assert _steps(tmp_path) == ["40", "60", "80"]
    _corrupt_arrays(tmp_path / "checkpoints" / "80")  # unreadable
    meta = tmp_path / "checkpoints" / "60" / "meta" / "metadata"
    meta.write_text(meta.read_text().replace('"digest": "', '"digest": "0'))  # wrong digest
    with caplog.at_level("INFO"):
        _, again = runner.train_sweep(config, checkpoint_dir=directory)
    warnings = [r.getMessage() for r in caplog.records if "is corrupt or unreadable" in r.message]
    assert [w.split("checkpoints/")[1][:2] for w in warnings] == ["80", "60"], warnings
    assert "restored the sweep at step 40" in caplog.text
    assert len(os.listdir(tmp_path / "checkpoints_corrupt")) == 2  # kept for inspection
    for a, b in zip(jax.tree.leaves(first.state), jax.tree.leaves(again.state), strict=True):
        np.testing.assert_array_equal(a, b)
    for name in first.history:
        np.testing.assert_array_equal(first.history[name], again.history[name], err_msg=name)


def _fake_state(value):
    return TrainState({"w": np.full((2, 3), value, np.float32)}, (), np.full((2,), 20), np.zeros(2))


def test_layout_is_stored_and_a_resume_on_another_layout_is_logged(tmp_path, caplog):
    directory = str(tmp_path / "checkpoints")
    one, two = {"platform": "cpu", "num_devices": 1}, {"platform": "cpu", "num_devices": 2}
    saver = checkpoint.SweepCheckpointer(directory, 20, 2, 40, "config-a", layout=one)
    saver.on_chunk(_fake_state(1.0), {"loss": np.zeros(2, np.float32)})
    saver.close()
    meta = json.loads((tmp_path / "checkpoints" / "20" / "meta" / "metadata").read_text())
    assert meta["layout"] == one and meta["train_seconds"] > 0
    with caplog.at_level("INFO"):
        checkpoint.SweepCheckpointer(directory, 20, 2, 40, "config-a", layout=one).restore_latest(
            _fake_state(0.0)
        )
        assert "was written on devices" not in caplog.text
        saver = checkpoint.SweepCheckpointer(directory, 20, 2, 40, "config-a", layout=two)
        restored = saver.restore_latest(_fake_state(0.0))
    # The run's training time goes on from the first process's.
    assert saver.restored_seconds == meta["train_seconds"] <= saver.train_seconds()
    np.testing.assert_array_equal(restored.params["w"], 1.0)  # it resumes, and says so
    assert "was written on devices {'platform': 'cpu', 'num_devices': 1}" in caplog.text


def test_all_checkpoints_corrupt_starts_afresh_and_other_config_is_refused(tmp_path):
    directory = str(tmp_path / "checkpoints")
    saver = checkpoint.SweepCheckpointer(directory, 20, 2, 40, "config-a")
    saver.on_chunk(_fake_state(1.0), {"loss": np.zeros(2, np.float32)})
    saver.close()
    other = checkpoint.SweepCheckpointer(directory, 20, 2, 40, "config-b")
    with pytest.raises(CheckpointMismatchError, match="different config"):
        other.restore_latest(_fake_state(0.0))
    # A checkpoint fingerprinted the older way (evaluation keys included) still restores.
    same = checkpoint.SweepCheckpointer(
        directory, 20, 2, 40, "config-c", also_accepted=("config-a",)
    )
    restored = same.restore_latest(_fake_state(0.0))
    np.testing.assert_array_equal(restored.params["w"], 1.0)
    assert same.history()["loss"].shape == (1, 2)
    _corrupt_arrays(os.path.join(directory, "20"))
    fresh = checkpoint.SweepCheckpointer(directory, 20, 2, 40, "config-a")
    assert fresh.restore_latest(_fake_state(0.0)) is None
    assert checkpoint.latest_step(directory) is None


def test_fingerprint_ignores_checkpointing_layout_evaluation_and_variants_only():
    config = small_config()
    base = identity.fingerprint(config)
    config.training.checkpoint_every, config.training.checkpoints_to_keep = 40, 5
    config.sweep.num_devices = 4  # layout only: a run may resume on another machine
    assert identity.fingerprint(config) == base
    config.evaluation = ml_collections.ConfigDict({"iwae_samples": 5})  # read after training
    config.variants = ("standard",)  # picks the sweeps; each has its own checkpoints
    # Checkpoints written before 2026-11-27 hashed those keys too; they are still accepted.
    assert identity.fingerprint(config) == base
    assert identity.older_fingerprints(config)[-1] not in (
        base,
        identity.older_fingerprints(small_config())[-1],
    )
    config.training.learning_rate = 0.5  # hidden by the grid's learning-rate axis
    assert identity.fingerprint(config) == base
    config.sweep.grid.learning_rate = (0.5,)
    assert identity.fingerprint(config) != base


def test_a_key_added_to_the_library_at_its_default_resumes_a_run_begun_without_it(
    tmp_path, monkeypatch
):
    """A run in progress survives a library upgrade that adds a key: config.json and the
    checkpoints, written without the key, read as holding its default; another value is a
    different run."""
    config = small_config()
    assert workdir.prepare(str(tmp_path), config, ["standard"]) == "new"
    before, directory = (
        identity.fingerprint(config),
        workdir.checkpoint_dir(str(tmp_path), "standard"),
    )
    saver = checkpoint.SweepCheckpointer(directory, 20, 2, 40, before)
    saver.on_chunk(_fake_state(1.0), {"loss": np.zeros(2, np.float32)})
    saver.close()

    library = config_lib.base_config

    def upgraded():  # the library after the upgrade: one more key, its default
        grown = library()
        grown.objective.added_later = 0.0
        return grown

    monkeypatch.setattr(config_lib, "base_config", upgraded)
    config.objective.added_later = 0.0  # a config built from the upgraded library holds it
    assert identity.fingerprint(config) == before
    assert workdir.prepare(str(tmp_path), config, ["standard"]) == "resume"
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["objective"]["added_later"] == 0.0  # config.json now records it
    resumed = checkpoint.SweepCheckpointer(
        directory, 20, 2, 40, identity.fingerprint(config)
    ).restore_latest(_fake_state(0.0))
    np.testing.assert_array_equal(resumed.params["w"], 1.0)
    config.objective.added_later = 0.5  # not the default: another run
    assert identity.fingerprint(config) != before
    with pytest.raises(WorkdirConflictError, match=r"objective.added_later: 0.0 -> 0.5"):
        workdir.prepare(str(tmp_path), config, ["standard"])


def test_full_disk_is_one_workdir_error_and_keeps_the_written_checkpoints(tmp_path, monkeypatch):
    directory = str(tmp_path / "checkpoints")
    saver = checkpoint.SweepCheckpointer(directory, 20, 2, 40, "config-a")
    saver.on_chunk(_fake_state(1.0), {"loss": np.zeros(2, np.float32)})

    def full_disk(*args, **kwargs):  # what orbax raised on a full disk (tensorstore's text)
        raise ValueError("RESOURCE_EXHAUSTED: Error writing local file .../state/.zarray")

    monkeypatch.setattr(saver.manager, "save", full_disk)
    state = _fake_state(2.0)._replace(step=np.full((2,), 40))
    with pytest.raises(WorkdirError, match=r"checkpoint of step 40 .* the disk is full .*rerun"):
        saver.on_chunk(state, {"loss": np.zeros(2, np.float32)})
    saver.close()
    restored = checkpoint.SweepCheckpointer(directory, 20, 2, 40, "config-a")
    np.testing.assert_array_equal(restored.restore_latest(_fake_state(0.0)).params["w"], 1.0)
