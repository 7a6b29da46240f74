"""The MNIST likelihood benchmark's pieces: its estimator's memory, its config, its study."""

import csv
import errno
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import mnist_likelihood as ml_config
from cvae_jax import config as config_lib
from cvae_jax.data import Dataset, without_condition
from cvae_jax.errors import ConfigError, WorkdirError
from cvae_jax.evaluation.estimators import iwae_bound
from cvae_jax.models import build_model
from cvae_jax.runs import launch, milestones
from cvae_jax.studies import mnist_likelihood
from cvae_jax.training.step import TrainState


def test_importance_sampling_memory_does_not_grow_with_the_latents_of_all_k_samples():
    config = config_lib.base_config()
    config.model.latent_dim, config.model.hidden = 32, (64,)
    data = Dataset(jnp.zeros((16, 20)), jnp.zeros((16,), jnp.int32))
    model = build_model(config, data)
    params = model.init(jax.random.key(0), data.x, data.y, jax.random.key(1))
    k = 20_000
    bound = jax.jit(lambda p: iwae_bound(jax.random.key(2), model, p, data.x, data.y, k))
    temp = bound.lower(params).compile().memory_analysis().temp_size_in_bytes
    all_latents = k * 16 * 32 * 4  # z [K, B, Dz] in float32, were they drawn at once
    assert temp < all_latents / 4  # one block of latents and the K x B log weights


def test_config_arguments_and_unknown_rows_are_one_line_errors():
    assert ml_config.get_config("epochs=7").training.num_steps == 7 * 2500  # batch 20
    with pytest.raises(ConfigError, match="Unknown config argument 'fast'"):
        ml_config.get_config("fast")
    config = ml_config.get_config("smoke")
    config.variants = ("vae_1", "vae_9")
    with pytest.raises(ConfigError, match=r"unknown \['vae_9'\]; choose from vae_1"):
        mnist_likelihood.STUDY.validate(config)
    # 100 of the published 3,280 epochs of warm-up, scaled to the budget
    assert ml_config.get_config("epochs=328").vamp_warmup_steps == 10 * 2500
    config = ml_config.get_config("smoke")
    config.vamp_warmup_steps = -1
    with pytest.raises(ConfigError, match=r"vamp_warmup_steps=-1 must be an integer >= 0: 0"):
        mnist_likelihood.STUDY.validate(config)
    config = ml_config.get_config("smoke")
    config.data.validation_examples = config.training.eval_every = 0
    with pytest.raises(ConfigError, match=r"curve_epochs=\(0.5, 1.0\) measures -log p\(x\) of the"):
        mnist_likelihood.STUDY.validate(config)
    # the milestones: the ends of Burda et al.'s passes, scaled to the budget
    assert ml_config.get_config("epochs=150").evaluation.curve_epochs == (1, 2, 6, 17, 50, 150)


def test_milestones_are_measured_once_and_kept_across_a_restart(tmp_path, monkeypatch):
    path, calls = str(tmp_path / "validation_nll" / "vae_1.json"), []

    def estimate(params):
        calls.append(float(params))
        return np.full((1, 1), float(params))

    def state(step):  # the parameters stand for the step they were reached at
        return TrainState(np.float32(step), None, np.full((1, 1), step), np.full((1, 1), -1))

    first = milestones.MilestoneEstimates(path, [25, 50, 100], estimate)
    for step in (20, 40, 60):  # chunks of 20: 25 is measured at 40, 50 at 60
        first(state(step))
    assert calls == [40.0, 60.0]
    # killed after step 60, resumed from a checkpoint at step 40: the chunk to 60 is trained
    # again (the same parameters) and not measured twice; 100 is still to come
    second = milestones.MilestoneEstimates(path, [25, 50, 100], estimate)
    for step in (60, 80, 100):
        second(state(step))
    assert calls == [40.0, 60.0, 100.0]
    assert {s: v.item() for s, v in milestones.measured(path).items()} == {
        40: 40.0,
        60: 60.0,
        100: 100.0,
    }
    # a full disk: one line, and the points written before stay whole
    third = milestones.MilestoneEstimates(path, [120], estimate)
    monkeypatch.setattr(os, "replace", _full_disk)
    with pytest.raises(WorkdirError, match=r"could not write .*vae_1.json \(No space left"):
        third(state(120))
    assert [p["step"] for p in json.load(open(path))["points"]] == [40, 60, 100]


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_the_two_layer_rows_have_burda_et_als_architecture():
    # 784-200-200-[z1 100]-100-100-[z2 50] up, and the mirror down (Burda et al. 2016, app. C)
    config = ml_config.get_config("epochs=1")
    config.variants = ("iwae5_2",)
    v = mnist_likelihood.likelihood_variants(config)[0]
    data = without_condition(Dataset(jnp.zeros((2, 784)), jnp.zeros((2,), jnp.int32)))
    params = build_model(v.config, data).init(jax.random.key(0), data.x, data.y, jax.random.key(1))
    widths = {
        name: [layer["kernel"].shape for layer in net["MLP_0"].values()] + [net["mean"]["kernel"].shape]
        for name, net in (*params["params"]["encoder"].items(), *params["params"]["prior"].items())
    }  # fmt: skip
    assert widths == {
        "q_1": [(784, 200), (200, 200), (200, 100)],  # q(z1 | x)
        "q_2": [(100, 100), (100, 100), (100, 50)],  # q(z2 | z1)
        "p_1": [(50, 100), (100, 100), (100, 100)],  # p(z1 | z2)
    }
    decoder = params["params"]["decoder"]["decoder"]
    assert [layer["kernel"].shape for layer in decoder["MLP_0"].values()] == [
        (100, 200),
        (200, 200),
    ]


def test_smoke_study_writes_rows_beside_the_published_table_and_curves(tmp_path):
    workdir = str(tmp_path / "run")
    out = launch.run_study(mnist_likelihood.STUDY, ml_config.get_config("smoke"), workdir)
    rows = {r["variant"]: r for r in out["rows"]}
    assert set(rows) == {"iwae5_1", "cvae_vamp"}
    assert rows["iwae5_1"]["published_nll"] == 85.54 and not rows["iwae5_1"]["conditioned"]
    assert rows["iwae5_1"]["iwae_samples"] == 5 and rows["iwae5_1"]["layers"] == 1
    assert rows["cvae_vamp"]["conditioned"] and rows["cvae_vamp"]["prior"] == "vamp"
    # Tomczak & Welling's KL warm-up (`vamp_warmup_steps`): the VampPrior rows only
    assert rows["cvae_vamp"]["kl_warmup_steps"] == 2
    assert rows["iwae5_1"]["kl_warmup_steps"] == 0
    for r in rows.values():  # -log p(x) of binary images (a bound on it): positive, finite
        assert 0 < r["test_nll"] < float("inf")
        assert 0 <= r["best_step"] <= 60 and r["epochs_trained"] > 0
    with open(os.path.join(workdir, "curves.csv")) as f:
        curve = [r for r in csv.DictReader(f) if r["variant"] == "iwae5_1"]
    assert [float(r["epoch"]) for r in curve] == sorted(float(r["epoch"]) for r in curve)
    assert len(curve) == 3  # one validation per chunk of 20 steps
    # epochs are passes over the training images, whatever the log interval
    assert float(curve[-1]["epoch"]) == pytest.approx(rows["iwae5_1"]["epochs_trained"])
    # -log p(x) of the validation images at the milestones (epochs 0.5 and 1: the ends of
    # the first two chunks), below the validation -IWAE_5 bound: a tighter bound, k = 10
    measured = [r for r in curve if r["validation_nll"]]
    steps_per_epoch = rows["iwae5_1"]["train_examples"] / 32
    assert [round(float(r["epoch"]) * steps_per_epoch) for r in measured] == [20, 40]
    for r in measured:
        assert 0 < float(r["validation_nll"]) < float(r["validation_nll_bound"])
    saved = json.loads((tmp_path / "run" / "validation_nll" / "iwae5_1.json").read_text())
    assert [p["step"] for p in saved["points"]] == [20, 40]
    assert "| iwae5_1 (-log p(x)) |" in out["table_markdown"]
