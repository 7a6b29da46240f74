"""The two-cluster study end to end at smoke size, and its beta-window analysis."""

import json
import os

import numpy as np
import pytest

from configs import toy2d as toy2d_config
from cvae_jax.runs import workdir
from cvae_jax.studies import toy2d


def test_smoke_run_writes_metrics_summary_and_figures(tmp_path):
    config = toy2d_config.get_config("smoke")
    summary = toy2d.run(config, str(tmp_path))
    rows = json.loads((tmp_path / "metrics.json").read_text())
    expected = len(config.variants) * len(config.sweep.betas) * config.sweep.num_seeds
    assert len(rows) == expected
    assert {r["variant"] for r in rows} == set(config.variants)
    csv_lines = (tmp_path / "metrics.csv").read_text().strip().splitlines()
    assert len(csv_lines) == expected + 1  # header + one line per member
    for name in (
        "recon_error",
        "mi_zxy",
        "mi_zy",
        "gen_accuracy",
        "swap_accuracy",
        "gen_accuracy_y1",
    ):
        assert all(np.isfinite(r[name]) for r in rows), name
    for kind in ("input_space", "latent_space", "label_swap"):
        for variant in config.variants:
            assert os.path.getsize(tmp_path / f"{kind}_{variant}.png") > 10_000
    assert (tmp_path / "summary_curves.png").exists()
    assert [w["variant"] for w in summary["beta_windows"]] == list(config.variants)
    # The blog's qualitative claims, already visible at smoke size for the independent cVAE:
    standard = {r["beta"]: r for r in rows if r["variant"] == "standard" and r["seed"] == 0}
    assert standard[0.0]["recon_error"] < 0.1 < standard[1.0]["recon_error"]
    assert standard[0.0]["swap_accuracy"] < 0.5 < 0.9 < standard[1.0]["swap_accuracy"]
    assert standard[1.0]["mi_zy"] < 0.2 < 0.6 < standard[0.0]["mi_zy"]
    # One checkpoint directory per variant; the finished multi-sweep study reports "done".
    names = [v.name for v in toy2d.STUDY.variants(config)]
    assert sorted(os.listdir(tmp_path / "checkpoints")) == sorted(names)
    assert workdir.prepare(str(tmp_path), config, names) == "done"


def _rows(values):
    return [
        {"variant": "v", "beta": b, "recon_error": r, "swap_accuracy": s}
        for b, (r, s) in values.items()
    ]


def test_beta_window_finds_the_betas_that_pass_both_thresholds():
    rows = _rows({0.0: (0.0, 0.1), 0.1: (0.2, 0.95), 1.0: (0.8, 0.99), 10.0: (3.0, 1.0)})
    window = toy2d.beta_window(rows, "v", max_recon_error=1.0, min_swap_accuracy=0.9)
    assert window["passing_betas"] == [0.1, 1.0]
    assert (window["beta_min"], window["beta_max"], window["contiguous"]) == (0.1, 1.0, True)
    gap = _rows({0.1: (0.2, 0.95), 1.0: (0.5, 0.5), 2.0: (0.8, 0.95)})
    assert not toy2d.beta_window(gap, "v", 1.0, 0.9)["contiguous"]
    none = toy2d.beta_window(gap, "v", 0.1, 0.9)
    assert none["passing_betas"] == [] and none["beta_min"] is None


def test_unknown_config_argument_is_refused():
    with pytest.raises(ValueError, match="Unknown config argument 'big'"):
        toy2d_config.get_config("big")


def test_trained_toy_cvae_reaches_the_linear_gaussian_beta_optimum():
    """Within a cluster the toy is linear-Gaussian, so the beta-ELBO optimum is known."""
    import jax
    import jax.numpy as jnp

    from cvae_jax.data import Dataset
    from cvae_jax.data.synthetic import toy_bayes_label, toy_log_density, two_gaussians
    from cvae_jax.evaluation.toy import evaluate_sweep
    from cvae_jax.training import runner

    config = toy2d_config.get_config()
    config.data.num_examples = 20_000  # sample variance close to the population's 2
    config.training.num_steps, config.training.log_every = 2000, 1000
    config.sweep.betas, config.sweep.num_seeds = (0.1, 0.5, 1.0), 1
    setup, sweep = runner.train_sweep(config)
    data = two_gaussians(7, 2000)
    metrics, _ = evaluate_sweep(
        setup.model, sweep.state.params, Dataset(jnp.asarray(data.x), jnp.asarray(data.y)),
        jax.random.key(0), num_classes=2, classify=toy_bayes_label,
        log_density=toy_log_density, num_generated=10,
    )  # fmt: skip
    optimum = toy2d.linear_gaussian_optimum(np.asarray(config.sweep.betas))
    np.testing.assert_allclose(metrics["recon_error"][0], optimum["recon_error"], rtol=0.12)
    np.testing.assert_allclose(metrics["rate"][0], optimum["rate"], rtol=0.12)


def test_linear_gaussian_optimum_closed_form():
    opt = toy2d.linear_gaussian_optimum(np.array([0.0, 0.01, 1.0, 2.0, 5.0]))
    np.testing.assert_allclose(opt["recon_error"], [0.0, 0.02, 2.0, 4.0, 4.0], atol=1e-9)
    np.testing.assert_allclose(opt["rate"][1:], [np.log(200), np.log(2), 0.0, 0.0])
