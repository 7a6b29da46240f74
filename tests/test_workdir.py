"""workdir.prepare: new runs claim the workdir, the same config resumes, another is refused;
a workdir that is a file or cannot be created is refused with a clear message."""

import json
import os
import subprocess
import sys
from functools import partial

import ml_collections
import numpy as np
import pytest

from cvae_jax import identity
from cvae_jax.errors import ConfigError, WorkdirConflictError, WorkdirError
from cvae_jax.models import PRIORS
from cvae_jax.runs import results, workdir
from cvae_jax.training import checkpoint
from cvae_jax.training.step import TrainState
from tests.sweep_driver import small_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


VARIANTS = ["standard", "learned_conditional"]


def _fake_checkpoint(run_dir, step, variant="standard"):
    os.makedirs(os.path.join(workdir.checkpoint_dir(str(run_dir), variant), str(step)))


def test_new_resume_done(tmp_path):
    config = small_config()
    prepare = lambda: workdir.prepare(str(tmp_path), config, VARIANTS)  # noqa: E731
    assert prepare() == "new"
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["training"]["num_steps"] == 80
    # The grid actually trained, read back: the beta axis holds sweep.betas' values.
    assert saved["sweep"]["grid"]["beta"] == list(config.sweep.betas) == saved["sweep"]["betas"]
    assert prepare() == "resume"  # no checkpoint yet
    _fake_checkpoint(tmp_path, 40)
    assert prepare() == "resume"
    _fake_checkpoint(tmp_path, 80)
    assert prepare() == "resume"  # one of the two variants is finished
    _fake_checkpoint(tmp_path, 80, "learned_conditional")
    assert prepare() == "done"  # every variant's sweep is finished
    config.training.checkpoint_every = 40  # does not change results: still the same run
    assert prepare() == "done"
    config.evaluation = ml_collections.ConfigDict({"iwae_samples": 5})  # read after training
    assert prepare() == "done"  # the trained checkpoints are evaluated again, not retrained
    assert json.loads((tmp_path / "config.json").read_text())["evaluation"]["iwae_samples"] == 5
    config.variants = (*VARIANTS, "vamp")  # a row added: trained ones kept, the new one trains
    assert workdir.prepare(str(tmp_path), config, config.variants) == "resume"


def test_other_config_is_refused_unless_overwrite(tmp_path):
    config = small_config()
    workdir.prepare(str(tmp_path), config, VARIANTS)
    _fake_checkpoint(tmp_path, 80)
    # training.learning_rate is hidden by the grid's learning-rate axis: not a difference.
    config.training.learning_rate, config.sweep.num_seeds, config.training.batch_size = 0.5, 3, 8
    with pytest.raises(WorkdirConflictError) as refused:
        workdir.prepare(str(tmp_path), config, VARIANTS)
    message = str(refused.value)
    assert "sweep.num_seeds: 2 -> 3" in message and "training.batch_size: 16 -> 8" in message
    assert "learning_rate" not in message
    assert "--overwrite" in message
    assert os.path.isdir(os.path.join(workdir.checkpoint_dir(str(tmp_path), "standard"), "80"))
    _fake_checkpoint(tmp_path, 80, "learned_conditional")
    results_file = tmp_path / "metrics.json"
    results_file.write_text("{}")
    assert workdir.prepare(str(tmp_path), config, VARIANTS, overwrite=True) == "new"
    for variant in VARIANTS:  # every variant's checkpoints are gone
        assert not os.path.exists(workdir.checkpoint_dir(str(tmp_path), variant))
    assert results_file.exists()  # only checkpoints are deleted
    assert json.loads((tmp_path / "config.json").read_text())["sweep"]["num_seeds"] == 3


def _prior_variants(config, priors):
    """{prior: the config with that prior}: what a study passes to `prepare`."""
    variants = {name: config.copy_and_resolve_references() for name in priors}
    for name, c in variants.items():
        c.model.prior = name
    return variants


def _trained(run_dir, name, config):
    """A complete checkpoint of variant `name`, written by `config` (its fingerprint)."""
    saver = checkpoint.SweepCheckpointer(
        workdir.checkpoint_dir(str(run_dir), name), 20, 2, 80, identity.fingerprint(config)
    )
    state = TrainState({"w": np.ones((2, 3), np.float32)}, (), np.full((2,), 20), np.zeros(2))
    saver.on_chunk(state, {"loss": np.zeros(2, np.float32)})
    saver.close()


def test_a_key_only_another_family_reads_keeps_the_variants_it_leaves_as_they_were(tmp_path):
    """The VampPrior's pseudo-inputs changed: the standard prior's sweep resumes, the
    VampPrior's is named as changed, and --overwrite retrains only that one."""
    config = small_config()
    assert "model.pseudo_inputs" in identity.unread_keys(config)  # the standard prior
    before = _prior_variants(config, ("standard", "vamp"))
    workdir.prepare(str(tmp_path), config, before)
    _trained(tmp_path, "standard", before["standard"])
    config.model.pseudo_inputs = "tomczak"
    after = _prior_variants(config, ("standard", "vamp"))
    assert identity.fingerprint(after["standard"]) == identity.fingerprint(before["standard"])
    assert identity.fingerprint(after["vamp"]) != identity.fingerprint(before["vamp"])
    # Only the standard prior trained: nothing it reads changed, so the run resumes.
    assert workdir.prepare(str(tmp_path), config, after) == "resume"
    assert json.loads((tmp_path / "config.json").read_text())["model"]["pseudo_inputs"] == (
        "tomczak"
    )
    _trained(tmp_path, "vamp", after["vamp"])
    config.model.pseudo_inputs = "grey"
    again = _prior_variants(config, ("standard", "vamp"))
    with pytest.raises(WorkdirConflictError) as refused:
        workdir.prepare(str(tmp_path), config, again)
    message = str(refused.value)
    assert "model.pseudo_inputs: 'tomczak' -> 'grey'" in message
    assert message.count("the trained variant vamp.") == 1 and "standard" not in message
    # A trained variant this run does not select cannot be checked: it counts as changed.
    with pytest.raises(WorkdirConflictError, match=r"vamp \(not in this run's variants\)"):
        workdir.prepare(str(tmp_path), config, {"standard": again["standard"]})
    assert workdir.prepare(str(tmp_path), config, again, overwrite=True) == "resume"
    assert checkpoint.latest_step(workdir.checkpoint_dir(str(tmp_path), "vamp")) is None
    assert checkpoint.latest_step(workdir.checkpoint_dir(str(tmp_path), "standard")) == 20


def test_a_family_registered_outside_the_library_counts_every_key():
    """A user's prior (`--import`) may read any library key, so none is left out of its
    fingerprint; a library prior leaves out the keys only other families read."""
    if "reads_anything" not in PRIORS.names():
        PRIORS.register("reads_anything")(lambda model_config, num_classes: None)
    config = small_config()
    config.model.prior = "reads_anything"
    assert identity.unread_keys(config) == frozenset()
    base = identity.fingerprint(config)
    config.model.pseudo_inputs = "tomczak"
    assert identity.fingerprint(config) != base
    config.model.prior = "vamp"
    assert "model.pseudo_inputs" not in identity.unread_keys(config)
    assert {"model.flow_steps", "model.prior_means"} <= identity.unread_keys(config)


def test_a_run_that_never_trained_does_not_block_its_workdir(tmp_path):
    """A first start stopped by a data check left config.json and no checkpoint: the
    corrected command starts afresh without --overwrite."""
    config = small_config()
    workdir.prepare(str(tmp_path), config, VARIANTS)  # ... then the data check failed
    config.training.batch_size = 8  # the corrected command
    assert workdir.prepare(str(tmp_path), config, VARIANTS) == "new"
    assert json.loads((tmp_path / "config.json").read_text())["training"]["batch_size"] == 8


def test_invalid_config_fails_before_the_workdir_is_touched(tmp_path):
    config = small_config()
    config.model.latent_dim = 0
    with pytest.raises(ConfigError, match="model.latent_dim=0"):
        workdir.prepare(str(tmp_path / "run"), config, VARIANTS)
    assert not (tmp_path / "run").exists()


def test_workdir_that_is_a_file_or_cannot_be_created_is_refused(tmp_path):
    config = small_config()
    a_file = tmp_path / "results.txt"
    a_file.write_text("keep me")
    with pytest.raises(WorkdirError, match=r"results.txt is a file; pass a directory"):
        workdir.prepare(str(a_file), config, VARIANTS)
    assert a_file.read_text() == "keep me"
    with pytest.raises(WorkdirError, match=r"cannot be created \(Not a directory\)"):
        workdir.prepare(str(a_file / "run"), config, VARIANTS)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{not json")
    with pytest.raises(WorkdirError, match=r"config.json is unreadable"):
        workdir.prepare(str(tmp_path / "run"), config, VARIANTS)


def test_launcher_finishes_then_reports_done_then_refuses_another_config(tmp_path):
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "experiments.gaussian_mean", "--config=configs/gaussian_mean.py"]
    cmd += [f"--workdir={run_dir}", "--config.data.num_examples=2000"]
    cmd += ["--config.training.num_steps=200", "--config.training.log_every=100"]
    launch = partial(subprocess.run, cwd=ROOT, capture_output=True, text=True, timeout=300)
    first = launch(cmd)
    assert first.returncode == 0, first.stderr
    cores = len(os.sched_getaffinity(0))  # the launchers' default: one XLA CPU device per core
    assert f"devices: {cores} x cpu devices, 1 process(es)" in first.stderr
    results = json.loads((run_dir / "summary.json").read_text())
    assert results["diverged"] == [] and "step 200/200" in first.stderr
    again = launch(cmd)
    assert again.returncode == 0, again.stderr
    assert "already holds the finished run (step 200)" in again.stderr
    assert "nothing left to train" in again.stderr and "step 200/200" not in again.stderr
    rewritten = json.loads((run_dir / "summary.json").read_text())
    assert rewritten["parameters"] == results["parameters"]  # from the final checkpoint
    # The training time of the first process, read back from the checkpoint, not ~0 s.
    assert rewritten["train_seconds"] >= 0.9 * results["train_seconds"]
    other = launch(cmd + ["--config.mu0=2.0"])
    assert other.returncode != 0
    assert "holds a run with a different config (data.mu0: 1.0 -> 2.0; mu0: 1.0 -> 2.0)" in (
        other.stderr
    )


def test_interrupted_write_keeps_the_previous_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    results.write_json(str(path), {"loss": 1.0})

    def interrupted(fd):
        raise KeyboardInterrupt  # as if Ctrl-C arrived halfway through the write

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        results.write_json(str(path), {"loss": 2.0, "more": list(range(1000))})
    assert json.loads(path.read_text()) == {"loss": 1.0}
    assert os.listdir(tmp_path) == ["metrics.json"]  # no temporary file left behind


def test_a_workdir_in_use_by_another_run_is_refused_and_left_as_it_was(tmp_path):
    """Two runs writing one workdir would corrupt each other's checkpoints: the second is
    refused with one line naming the first, and nothing of the first's is touched; once the
    first has ended (here: killed), the workdir is free."""
    config = small_config()
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys; from cvae_jax.runs import workdir; from tests.sweep_driver import "
            "small_config; workdir.prepare(sys.argv[1], small_config(), ['standard']); "
            "print('ready', flush=True); sys.stdin.read()"
        ), str(tmp_path)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        before = (tmp_path / "config.json").read_text()
        config.sweep.num_seeds = 3  # another config, with --overwrite: would delete its run
        with pytest.raises(WorkdirError, match=rf"is in use by another run \(pid {holder.pid} on"):
            workdir.prepare(str(tmp_path), config, ["standard"], overwrite=True)
        assert (tmp_path / "config.json").read_text() == before
    finally:
        holder.kill()
        holder.wait()
    assert workdir.prepare(str(tmp_path), config, ["standard"], overwrite=True) == "new"
    assert workdir.prepare(str(tmp_path), config, ["standard"]) == "resume"  # held by us now
