"""The generic grid launcher on a user's own .npz, and the rate-distortion study, end to end."""

import csv
import json
import os

import numpy as np
import pytest

from configs import families as families_config
from configs import rate_distortion as rd_config
from configs import sweep as sweep_config
from cvae_jax import config as config_lib
from cvae_jax.errors import ConfigError
from cvae_jax.runs import launch
from cvae_jax.studies import families, rate_distortion, sweep


@pytest.fixture
def own_npz(tmp_path):
    """Three classes of 4x4 'images' in [0, 1], labels 0..2: data a user might bring."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=240)
    centres = rng.uniform(0.2, 0.8, size=(3, 4, 4))
    x = np.clip(centres[y] + 0.1 * rng.normal(size=(240, 4, 4)), 0, 1).astype(np.float32)
    path = tmp_path / "own.npz"
    np.savez(path, x=x, y=y)
    return str(path)


def test_sweep_launcher_on_own_npz_writes_a_row_per_seed_and_grid_point(own_npz, tmp_path, caplog):
    config = sweep_config.get_config("smoke")
    config.data.name, config.data.path = "npz", own_npz
    config.model.likelihood = "gaussian"
    config.sweep.grid.learning_rate = (1e-3, 3e-3)  # a third axis: 2 x 2 x 2 points
    workdir = str(tmp_path / "run")
    with caplog.at_level("WARNING"):
        out = launch.run_study(sweep.STUDY, config, workdir)
    assert "evaluation.mi_examples=64 but the test set has 48 examples" in caplog.text
    assert out["data"]["num_classes"] == 3  # data.num_classes=0: counted from the labels
    assert out["data"]["num_test"] == 48  # data.test_fraction=0.2 of 240
    with open(os.path.join(workdir, "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    points = {(r["seed"], r["beta"], r["capacity"], r["learning_rate"]) for r in rows}
    assert len(rows) == len(points) == 2 * 2 * 2 * 2  # seeds x beta x capacity x lr
    assert set(config_lib.GRID_AXES) <= set(rows[0])
    for metric in ("test_iwae", "mi_zxy", "mi_zy", "kl_conditional", "active_units"):
        assert all(np.isfinite(float(r[metric])) for r in rows), metric
    for r in rows:  # the empirical mutual information is at most log N (N examples)
        assert float(r["mi_zxy"]) <= np.log(min(config.evaluation.mi_examples, 48)) + 1e-4
        assert int(r["mi_examples"]) == min(config.evaluation.mi_examples, 48)  # as used
        assert int(r["swap_examples"]) == min(config.evaluation.swap_examples, 48)
    with open(os.path.join(workdir, "summary.json")) as f:
        assert json.load(f)["grid"]["learning_rate"] == [1e-3, 3e-3]
    for figure in ("diagnostics_vs_beta.png", "distortion_vs_rate.png", "iwae_vs_rate.png"):
        assert os.path.getsize(os.path.join(workdir, figure)) > 1000


def test_each_family_sweeps_its_own_knob():
    config = rd_config.get_config("")
    variants = {v.name: config_lib.grid(v.config) for v in rate_distortion.variants(config)}
    f = config.families
    assert variants["beta_vae"]["beta"] == tuple(f.beta)
    assert variants["capacity"]["capacity"] == tuple(f.capacity)
    assert variants["capacity"]["beta"] == (0.0,)  # gamma |rate - C| replaces beta * rate
    assert variants["free_bits_dim"]["free_bits"] == tuple(f.free_bits)
    size = f.free_bits_group_size  # lambda per group = lambda per dimension x group size
    assert variants["free_bits_group"]["free_bits"] == tuple(size * lam for lam in f.free_bits)
    assert variants["kl_annealing"]["kl_warmup_steps"] == tuple(f.kl_warmup_steps)
    for name, grid in variants.items():
        others = [a for a, values in grid.items() if len(values) > 1]
        assert others == [rate_distortion.AXIS[name]], name  # one axis per family


def test_rate_distortion_study_smoke(tmp_path):
    config = rd_config.get_config("smoke")
    config.variants = ("free_bits_group",)  # one family keeps CI short; all share run()
    workdir = str(tmp_path / "rd")
    out = launch.run_study(rate_distortion.STUDY, config, workdir)
    assert [r["free_bits"] for r in out["rows"]] == [0.0, 1.0]  # 2 dims per group x 0.5
    assert [r["family"] for r in out["matched_rates"]] == ["free_bits_group"]
    for name in ("distortion_vs_rate.png", "active_units_vs_rate.png", "iwae_vs_rate.png"):
        assert os.path.getsize(os.path.join(workdir, name)) > 1000
    with open(os.path.join(workdir, "matched_rates.csv")) as f:
        assert [r["family"] for r in csv.DictReader(f)] == ["free_bits_group"]


def test_matched_rates_interpolate_each_curve_and_stay_inside_it():
    rows = [
        {"variant": "beta_vae", "beta": b, "seed": s, "test_rate": rate + s,
         "test_distortion": 20.0 - rate, "active_units": 16, "test_iwae": -rate}
        for b, rate in ((4.0, 2.0), (1.0, 6.0)) for s in (0, 1)
    ]  # fmt: skip
    table = rate_distortion.at_matched_rates(rows, (4.5, 10.0))
    assert table[0]["test_distortion"] == pytest.approx(16.0)  # mean rates 2.5, 6.5
    assert table[0]["test_iwae"] == pytest.approx(-4.0)
    assert table[1]["test_distortion"] is None  # beyond the family's highest rate


def test_families_study_smoke_writes_the_table_samples_and_pseudo_inputs(tmp_path):
    config = families_config.get_config("smoke")
    config.variants = ("vamp",)  # one family keeps CI short; tests/test_families.py trains all
    workdir = str(tmp_path / "families")
    out = launch.run_study(families.STUDY, config, workdir)
    assert [(r["family"], r["beta"]) for r in out["table"]] == [("vamp", 1.0)]
    assert all(np.isfinite(r["test_iwae"]) and r["test_iwae"] <= 0 for r in out["rows"])
    assert {(r["prior"], r["posterior"], r["layers"], r["iwae_samples"]) for r in out["rows"]} == {
        ("vamp", "gaussian", 1, 1)
    }  # the family's settings are columns
    for name in ("samples.png", "vamp_pseudo_inputs.png", "distortion_vs_rate.png"):
        assert os.path.getsize(os.path.join(workdir, name)) > 1000
    with open(os.path.join(workdir, "families.csv")) as f:
        assert [r["family"] for r in csv.DictReader(f)] == ["vamp"]


def test_families_variants_name_their_settings_and_bad_names_are_refused():
    config = families_config.get_config("")
    by_name = {v.name: v.config for v in families.variants(config)}
    assert set(by_name) == set(families_config.ALL_FAMILIES)
    hvae = by_name["mog+hvae"].model
    assert (hvae.kind, hvae.prior, tuple(hvae.latent_dims)) == ("hierarchical", "mog", (8, 4))
    assert by_name["flow+iaf"].model.posterior == "iaf"
    assert by_name["standard+iwae"].objective.iwae_samples == config.families.iwae_samples
    assert by_name["vq"].model.kind == "vq" and by_name["vq"].model.codebook_update == "ema"
    for v in families.variants(config):
        config_lib.validate(v.config)  # every listed combination is defined
    config.variants = ("mog+ladder",)
    with pytest.raises(ConfigError, match=r"'mog\+ladder' is not <prior>\[\+iaf\]"):
        families.check(config)


def test_figures_keep_a_floor_on_the_colour_span_and_one_curve_per_second_axis_value():
    from cvae_jax.studies import grid_plots

    nearly_constant = np.array([[0.993, 1.0], [0.998, 0.995]])
    assert grid_plots.colour_range(nearly_constant, "swap_accuracy") == (0.0, 1.0)
    low, high = grid_plots.colour_range(np.array([[10.001, 10.002]]), "test_rate")
    assert high - low == pytest.approx(0.2 * 10.002 / 10, rel=1e-6)  # 2% of the magnitude
    assert grid_plots.colour_range(np.array([[1.0, 5.0]]), "test_rate") == (1.0, 5.0)
    rows = [
        {"variant": "grid", "beta": b, "capacity": c, "seed": 0, "test_rate": b + c}
        for b in (0.5, 2.0) for c in (0.0, 2.0)
    ]  # fmt: skip
    curves = grid_plots._rate_curves(rows, "variant")
    assert list(curves) == ["grid: capacity=0", "grid: capacity=2"]
    assert all(axis == "beta" and len(points) == 2 for axis, points in curves.values())


def test_public_evaluate_gives_the_launchers_rows_for_the_same_trained_sweep(own_npz, tmp_path):
    import cvae_jax

    config = sweep_config.get_config("smoke")
    config.data.name, config.data.path = "npz", own_npz
    config.sweep.betas, config.sweep.num_seeds = (1.0,), 1
    workdir = str(tmp_path / "run")
    launch.run_study(sweep.STUDY, config, workdir)
    with open(os.path.join(workdir, "metrics.json")) as f:
        written = json.load(f)
    checkpoints = os.path.join(workdir, "checkpoints", "grid")  # the launcher's trained sweep
    resolved, _ = sweep.labelled_splits(config)
    setup, result = cvae_jax.train_sweep(resolved, checkpoint_dir=checkpoints)
    rows = cvae_jax.evaluate(config, setup, result)
    assert [set(r) for r in rows] == [set(r) for r in written]
    for got, want in zip(rows, written, strict=True):
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-7) or got[key] == value, key
