"""The unconditional VAE (the same modules, an empty condition) and its beta trade-off."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import vae_beta as vae_beta_config
from cvae_jax.config import base_config
from cvae_jax.data import Dataset, without_condition
from cvae_jax.models.linear import beta_ppca_optimum
from cvae_jax.studies import vae_beta
from cvae_jax.training.runner import train_sweep

EIGENVALUES, NOISE_VAR, BETAS = (4.0, 1.0, 0.1), 0.5, (1.0, 4.0, 10.0)


def _linear_vae_config():
    c = base_config()
    c.data.num_classes = 0
    c.model.hidden = ()  # linear encoder and decoder
    c.model.latent_dim = 2
    c.model.decoder_fixed_variance = NOISE_VAR
    c.model.prior = "standard"
    c.training.num_steps, c.training.log_every = 3000, 1000
    c.training.learning_rate, c.training.batch_size = 1e-2, 256
    c.sweep.betas, c.sweep.num_seeds = BETAS, 1
    return c


def test_linear_vae_rate_and_distortion_follow_the_beta_ppca_closed_form():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2000, 3)) * np.sqrt(EIGENVALUES)).astype(np.float32)
    data = without_condition(Dataset(x, np.zeros(2000, np.int32)))
    assert data.y.shape == (2000, 0)
    setup, sweep = train_sweep(_linear_vae_config(), data)  # one sweep over beta
    eigenvalues = np.linalg.eigvalsh(np.cov(x.T, bias=True))
    for h, beta in enumerate(BETAS):
        params = sweep.member_params(0, h)
        keys = jax.random.split(jax.random.key(0), 20)
        terms = jax.vmap(lambda k, p=params: setup.model.apply(p, jnp.asarray(x), data.y, k))(keys)
        rate = float(terms["rate_groups"].sum(-1).mean())
        distortion = float(terms["distortion"].mean())
        optimum = beta_ppca_optimum(eigenvalues, 2, beta, NOISE_VAR)
        # beta = 1, 4, 10 keep 2, 1 and 0 of the directions (k = 0.5, 2, 5).
        assert optimum["active"] == {1.0: 2, 4.0: 1, 10.0: 0}[beta]
        assert rate == pytest.approx(optimum["rate"], abs=0.06)
        assert distortion == pytest.approx(optimum["distortion"], abs=0.08)


def test_vae_beta_smoke_trades_rate_for_distortion(tmp_path):
    config = vae_beta_config.get_config("smoke")
    out = vae_beta.run(config, str(tmp_path))
    assert {"metrics.json", "metrics.csv", "pathways.png", "metrics_vs_beta.png"} <= {
        p.name for p in tmp_path.iterdir()
    }
    rows = sorted(out["rows"], key=lambda r: r["beta"])
    assert [r["beta"] for r in rows] == sorted(config.sweep.betas)
    rates = [r["test_rate"] for r in rows]
    distortions = [r["test_distortion"] for r in rows]
    assert rates[0] > rates[1] > rates[2] >= 0  # beta = 0 pays nothing for rate
    assert distortions[0] < distortions[-1]
    for r in rows:
        assert 0.1 <= r["sample_confidence"] <= 1  # a mean max-probability over 10 classes
        assert 0 <= r["sample_label_entropy"] <= np.log(10) + 1e-6
        assert 1 - 1e-5 <= r["sample_score"] <= 10 + 1e-4
    assert "NaN" not in (tmp_path / "metrics.json").read_text()
    assert json.loads((tmp_path / "summary.json").read_text())["data"]["num_test"] > 0


def test_classifier_score_is_one_without_diversity_or_confidence_and_ten_at_best():
    from cvae_jax.evaluation.unconditional import classifier_score

    confident = jnp.where(jnp.eye(10, dtype=bool), 30.0, -30.0)  # each digit once, certain
    assert float(classifier_score(jnp.tile(confident, (3, 1)))) == pytest.approx(10, rel=1e-4)
    assert float(classifier_score(jnp.tile(confident[:1], (7, 1)))) == pytest.approx(1, rel=1e-4)
    assert float(classifier_score(jnp.zeros((5, 10)))) == pytest.approx(1, rel=1e-4)
