"""Importance-sampled -log p(x|c) against a closed form, and both image experiments end to end."""

import json
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import digits as digits_config
from configs import quadrants as quadrants_config
from cvae_jax import models
from cvae_jax.core.latents import DiagonalGaussian
from cvae_jax.evaluation import estimators as structured
from cvae_jax.models.classifier import Baseline
from cvae_jax.studies import digits, quadrants

A, B, S, SIGMA = 0.7, -0.4, 0.8, 0.5  # p(z|c) = N(A c, S^2), p(x|z,c) = N(z + B c, SIGMA^2)


class _Prior(nn.Module):
    def __call__(self, c):
        return DiagonalGaussian(A * c, jnp.full_like(c, 2 * math.log(S)))


class _Decoder(nn.Module):
    def __call__(self, z, c):
        return {"mean": z + B * c, "log_var": jnp.full_like(z, 2 * math.log(SIGMA))}


class _ExactPosterior(nn.Module):
    def __call__(self, x, c):
        precision = 1 / S**2 + 1 / SIGMA**2
        mean = (A * c / S**2 + (x - B * c) / SIGMA**2) / precision
        return DiagonalGaussian(mean, jnp.full_like(x, -math.log(precision)))


def _linear_gaussian():
    model = models.CVAE(_ExactPosterior(), _Decoder(), _Prior(), num_classes=0)
    c = jnp.linspace(-2, 2, 6)[:, None]
    x = jnp.array([[0.3], [-1.0], [2.0], [0.0], [1.5], [-0.2]])
    params = model.init(jax.random.key(0), x, c, jax.random.key(1))
    var = S**2 + SIGMA**2  # p(x|c) = N((A + B) c, S^2 + SIGMA^2)
    exact = 0.5 * (np.log(2 * np.pi * var) + np.square(x - (A + B) * c) / var)[:, 0]
    return model, params, x, c, exact


def test_prior_sampling_nll_converges_to_the_closed_form():
    model, params, x, c, exact = _linear_gaussian()
    estimate = structured.prior_sampling_nll(jax.random.key(2), model, params, x, c, 20_000)
    np.testing.assert_allclose(estimate, exact, atol=0.03)
    few = structured.prior_sampling_nll(jax.random.key(2), model, params, x, c, 2)
    assert np.mean(few) > np.mean(exact)  # Jensen: the estimate is biased upward for small K


def test_one_sample_nll_is_the_one_sample_formula():
    model, params, x, c, _ = _linear_gaussian()
    key = jax.random.key(3)
    estimate = structured.prior_sampling_nll(key, model, params, x, c, 1)
    z = A * c + S * jax.random.normal(key, (1, *c.shape))[0]
    by_hand = 0.5 * (np.log(2 * np.pi * SIGMA**2) + np.square(x - z - B * c) / SIGMA**2)[:, 0]
    np.testing.assert_allclose(estimate, by_hand, rtol=1e-5)


def test_recognition_iwae_is_exact_with_the_exact_posterior():
    model, params, x, c, exact = _linear_gaussian()
    for k in (1, 7):  # every importance weight equals p(x|c) when q is the true posterior
        estimate = structured.recognition_nll(jax.random.key(k), model, params, x, c, k)
        np.testing.assert_allclose(estimate, exact, rtol=1e-4)


def test_digits_smoke_writes_metrics_and_figures(tmp_path):
    config = digits_config.get_config("smoke")
    config.variants = ("standard", "learned_conditional")  # one of each family, to keep CI short
    out = digits.run(config, str(tmp_path))
    names = {p.name for p in tmp_path.iterdir()}
    for prior in config.variants:
        assert {
            f"samples_{prior}.png",
            f"swaps_{prior}.png",
            f"reconstructions_{prior}.png",
        } <= names
    assert {"metrics.json", "metrics.csv", "config.json", "metrics_vs_beta.png"} <= names
    rows = json.loads((tmp_path / "metrics.json").read_text())
    assert len(rows) == len(config.variants) * len(config.sweep.betas) == len(out["rows"])
    assert [r["variant"] for r in rows] == [p for p in config.variants for _ in config.sweep.betas]
    for row in rows:
        assert row["test_iwae"] >= row["test_elbo"] - 0.05  # IWAE tightens the ELBO
        assert 0 <= row["conditional_accuracy"] <= 1 and 0 <= row["swap_accuracy"] <= 1
        assert -64 * math.log(2) * 3 < row["test_elbo"] < 0  # binary 8x8: log p(x|y) < 0
    assert 0.1 < out["classifier"]["test_accuracy"] <= 1
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0]
    assert "test_iwae" in header and "swap_accuracy" in header


def test_quadrants_smoke_writes_table_and_figures(tmp_path):
    config = quadrants_config.get_config("pyro,smoke")  # greyscale targets, Pyro's sizes
    config.sweep.grid.hybrid_alpha = (1.0, 0.5)  # Sohn et al.'s hybrid, on and off
    out = quadrants.run(config, str(tmp_path))
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "metrics.json",
        "metrics.csv",
        "config.json",
        "completions.png",
        "nll_table.md",
    } <= names
    rows = out["rows"]
    assert {(r["observed_quadrants"], r["model"]) for r in rows} == {
        (q, m) for q in config.variants for m in ("baseline", "cvae")
    }
    cvae = [r for r in rows if r["model"] == "cvae"]
    assert sorted(r["hybrid_alpha"] for r in cvae) == [0.5, 0.5, 1.0, 1.0]
    # Both networks select on the last 100 training images: every evaluated step is a
    # candidate, and the baseline (patience 1) either stops after its best or runs to 50.
    assert all(r["best_step"] in (20, 40) for r in cvae)
    for r in (r for r in rows if r["model"] == "baseline"):
        assert r["best_step"] in (25, 50) and r["num_steps"] in (r["best_step"] + 25, 50)
    # The -ELBO with 2 samples is a looser bound than the q-IWAE bound with 8.
    assert all(r["nll_elbo"] > r["nll_recognition_iwae"] for r in cvae)
    nll = {(r["observed_quadrants"], r["model"]): r["nll"] for r in rows}
    assert all(v > 0 for v in nll.values())  # a cross-entropy >= the targets' entropy >= 0
    # More observed pixels leave fewer (and easier) pixels to predict.
    assert nll[(3, "baseline")] < nll[(1, "baseline")] and nll[(3, "cvae")] < nll[(1, "cvae")]
    table = (tmp_path / "nll_table.md").read_text()
    assert "| 1 | 1 |" in table and "| 3 | 0.5 |" in table
    # Strict JSON: the baseline has no beta, written as null (never a NaN literal).
    text = (tmp_path / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    written = json.loads(text)
    assert [r["beta"] for r in written if r["model"] == "baseline"] == [None, None]


@pytest.mark.parametrize("feed", [True, False])
def test_condition_includes_the_baseline_prediction_only_if_fed(feed):
    module = Baseline(5, (4,))
    params = module.init(jax.random.key(0), jnp.zeros((1, 3)))
    cond = quadrants.condition(np.ones((2, 3), np.float32), (module, params), feed)
    assert cond.shape == (2, 8 if feed else 3)
