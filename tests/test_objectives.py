"""The ELBO against the exact marginal likelihood of probabilistic PCA, and the loss variants."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvae_jax.core import objectives
from cvae_jax.core.objectives import DEFAULT_HYPER
from cvae_jax.evaluation.estimators import iwae_bound
from cvae_jax.models import linear as linear_models

D, DZ, B = 4, 2, 256


def _ppca(key, exact_posterior: bool):
    """pPCA with orthogonal columns of W (so the exact posterior is diagonal) and data x."""
    k_w, k_mu, k_x, k_init = jax.random.split(key, 4)
    W = jnp.linalg.qr(jax.random.normal(k_w, (D, DZ)))[0] * jnp.array([2.0, 1.0])
    mu, sigma2 = jax.random.normal(k_mu, (D,)), 0.5
    x = jax.random.normal(k_x, (B, D)) * 2.0 + mu
    model = linear_models.ppca_cvae(D, DZ)
    params = model.init(k_init, x, jnp.zeros((B, 1)), k_init)
    A, b, log_var = linear_models.ppca_exact_posterior(W, mu, sigma2)
    if not exact_posterior:  # a deliberately imperfect amortised encoder
        A, b, log_var = 0.7 * A, b + 0.3, log_var + 0.5
    p = params["params"]
    p["encoder"]["mean"] = {"kernel": A.T, "bias": b}
    p["encoder"]["log_var"] = log_var
    p["decoder"]["linear"] = {"kernel": W.T, "bias": mu}
    p["decoder"]["log_sigma2"] = jnp.log(sigma2)
    log_px = linear_models.ppca_log_marginal(x, W, mu, sigma2)
    return model, params, x, jnp.zeros((B, 1)), log_px


def _elbo(model, params, x, y, key, num_samples=64):
    keys = jax.random.split(key, num_samples)
    terms = jax.vmap(lambda k: model.apply(params, x, y, k))(keys)
    return -jnp.mean(terms["distortion"], 0) - terms["rate_groups"][0].sum(-1)


def test_iwae_equals_exact_log_likelihood_under_the_exact_posterior():
    model, params, x, y, log_px = _ppca(jax.random.key(0), exact_posterior=True)
    # Every importance weight equals p(x) when q is the true posterior, so even K=1 is exact.
    bound = iwae_bound(jax.random.key(1), model, params, x, y, num_samples=1)
    np.testing.assert_allclose(bound, log_px, rtol=1e-4, atol=1e-4)
    # The single-sample ELBO is noisy per example but unbiased: compare batch means.
    elbo = _elbo(model, params, x, y, jax.random.key(2))
    assert float(jnp.mean(elbo)) == pytest.approx(float(jnp.mean(log_px)), abs=0.05)


def test_elbo_below_iwae_below_exact_log_likelihood_and_iwae_tightens():
    model, params, x, y, log_px = _ppca(jax.random.key(3), exact_posterior=False)
    elbo = float(jnp.mean(_elbo(model, params, x, y, jax.random.key(4))))
    iwae = {
        k: float(jnp.mean(iwae_bound(jax.random.key(5), model, params, x, y, k)))
        for k in (1, 10, 100, 1000)
    }
    exact = float(jnp.mean(log_px))
    assert elbo < exact - 0.1  # the imperfect encoder leaves a real gap
    iwae_1 = jax.vmap(lambda k: iwae_bound(k, model, params, x, y, 1))(
        jax.random.split(jax.random.key(6), 64)
    )
    assert float(jnp.mean(iwae_1)) == pytest.approx(elbo, abs=0.05)  # K = 1 is the ELBO
    assert elbo < iwae[10] < iwae[100] < iwae[1000] <= exact + 1e-3
    assert exact - iwae[1000] < 0.2 * (exact - elbo)


def _terms(rate_groups):
    return {"distortion": jnp.zeros(rate_groups.shape[0]), "rate_groups": rate_groups}


def _hyper(**kw):
    return {k: jnp.float32(kw.get(k, v)) for k, v in DEFAULT_HYPER.items()}


def test_plain_loss_is_distortion_plus_beta_rate():
    rate = jax.random.uniform(jax.random.key(6), (8, 3))
    terms = {"distortion": jnp.arange(8.0), "rate_groups": rate}
    loss, metrics = objectives.loss_and_metrics(terms, _hyper(beta=0.3))
    assert loss == pytest.approx(3.5 + 0.3 * float(rate.sum(-1).mean()), rel=1e-6)
    assert metrics["elbo"] == pytest.approx(-(3.5 + float(rate.sum(-1).mean())), rel=1e-6)


def test_free_bits_floor_each_group_and_stop_its_gradient():
    rate = jnp.array([[0.1, 2.0, 0.2, 0.3]])
    loss, _ = objectives.loss_and_metrics(_terms(rate), _hyper(free_bits=0.5), free_bits_groups=2)
    assert loss == pytest.approx(max(0.5, 2.1) + max(0.5, 0.5), rel=1e-6)
    grad = jax.grad(lambda r: objectives.rate_with_free_bits(r, 1.0, 4))(rate)
    np.testing.assert_allclose(grad, [[0.0, 1.0, 0.0, 0.0]])  # only the dim above lambda
    with pytest.raises(
        ValueError, match="free_bits_groups=3 must divide the model's 4 rate groups"
    ):
        objectives.rate_with_free_bits(rate, 0.5, 3)


def test_capacity_term_is_gamma_times_distance_to_c():
    rate = jnp.full((4, 2), 1.5)  # rate 3 nats per example
    hyper = _hyper(beta=0.0, capacity=5.0, capacity_gamma=10.0)
    loss, _ = objectives.loss_and_metrics(_terms(rate), hyper)
    assert loss == pytest.approx(10.0 * 2.0)


def test_kl_annealing_weight_rises_linearly_over_a_traced_warmup():
    weight = jax.jit(objectives.kl_weight)  # warm-up traced: a swept value
    assert [float(weight(t, 100.0)) for t in (0, 50, 100, 500)] == [0.0, 0.5, 1.0, 1.0]
    assert float(weight(0, 0.0)) == 1.0
    hyper = _hyper(beta=2.0, kl_warmup_steps=100.0)
    loss, _ = objectives.loss_and_metrics(_terms(jnp.ones((2, 2))), hyper, step=25)
    assert loss == pytest.approx(0.25 * 2.0 * 2.0)


def test_capacity_schedule_rises_from_zero_to_c_max():
    target = jax.jit(objectives.capacity_target)
    assert [float(target(t, 5.0, 200.0)) for t in (0, 100, 200, 400)] == [0.0, 2.5, 5.0, 5.0]
    assert float(target(0, 5.0, 0.0)) == 5.0  # no ramp: C_max from the first step
    rate = jnp.full((4, 2), 1.5)  # rate 3 nats; C(100) = 2.5 nats
    hyper = _hyper(beta=0.0, capacity=5.0, capacity_gamma=10.0, capacity_steps=200.0)
    loss, _ = objectives.loss_and_metrics(_terms(rate), hyper, step=100)
    assert loss == pytest.approx(10.0 * 0.5)


def test_importance_sampling_in_blocks_is_exact_under_the_exact_posterior():
    model, params, x, y, log_px = _ppca(jax.random.key(7), exact_posterior=True)
    # 300 samples: three blocks of 128, the last cut to 44 (else the mean is off by log 384/300)
    bound = iwae_bound(jax.random.key(8), model, params, x, y, num_samples=300)
    np.testing.assert_allclose(bound, log_px, rtol=1e-4, atol=1e-4)


def test_importance_sampling_with_k_5000_reaches_the_exact_likelihood():
    model, params, x, y, log_px = _ppca(jax.random.key(3), exact_posterior=False)
    bound = iwae_bound(jax.random.key(9), model, params, x, y, num_samples=5000)
    gap = float(jnp.mean(log_px - bound))
    assert -0.01 < gap < 0.02  # a bound (up to Monte Carlo error), and a tight one at this k
