"""Closed-form checks of sampling, KL and log-likelihoods."""

import distrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvae_jax.core import distributions as dist


def _gaussians(key, shape=(5, 3)):
    k = jax.random.split(key, 4)
    return (
        jax.random.normal(k[0], shape),
        jax.random.normal(k[1], shape) * 0.5,
        jax.random.normal(k[2], shape),
        jax.random.normal(k[3], shape) * 0.5,
    )


def test_kl_matches_distrax():
    mq, lq, mp, lp = _gaussians(jax.random.key(0))
    q = distrax.MultivariateNormalDiag(mq, jnp.exp(0.5 * lq))
    p = distrax.MultivariateNormalDiag(mp, jnp.exp(0.5 * lp))
    np.testing.assert_allclose(
        jax.jit(dist.gaussian_kl)(mq, lq, mp, lp), q.kl_divergence(p), rtol=1e-5, atol=1e-5
    )


def test_kl_matches_monte_carlo():
    mq, lq, mp, lp = (a[0] for a in _gaussians(jax.random.key(1)))
    z = dist.reparameterize(jax.random.key(2), jnp.broadcast_to(mq, (200_000, 3)), lq)
    log_ratio = dist.gaussian_log_prob(z, mq, lq) - dist.gaussian_log_prob(z, mp, lp)
    standard_error = np.std(log_ratio) / np.sqrt(log_ratio.size)
    assert abs(np.mean(log_ratio) - dist.gaussian_kl(mq, lq, mp, lp)) < 4 * standard_error


def test_kl_of_a_distribution_with_itself_is_zero():
    mq, lq, _, _ = _gaussians(jax.random.key(3))
    np.testing.assert_allclose(dist.gaussian_kl(mq, lq, mq, lq), 0.0, atol=1e-6)


def test_standard_normal_kl_is_the_default_prior():
    mq, lq, _, _ = _gaussians(jax.random.key(4))
    zeros = jnp.zeros_like(mq)
    np.testing.assert_allclose(dist.gaussian_kl(mq, lq), dist.gaussian_kl(mq, lq, zeros, zeros))
    expected = 0.5 * jnp.sum(jnp.exp(lq) + mq**2 - 1 - lq, -1)  # the textbook formula
    np.testing.assert_allclose(dist.gaussian_kl(mq, lq), expected, rtol=1e-6)


def test_kl_is_per_example_not_summed_over_batch():
    mq, lq, mp, lp = _gaussians(jax.random.key(5), shape=(7, 4))
    assert dist.gaussian_kl(mq, lq, mp, lp).shape == (7,)
    assert dist.gaussian_kl_per_dim(mq, lq, mp, lp).shape == (7, 4)


def test_reparameterize_gradients():
    key = jax.random.key(6)
    mean, log_var = jnp.array([0.3, -1.0]), jnp.array([0.2, -0.5])
    eps = jax.random.normal(key, mean.shape)
    d_mean = jax.grad(lambda m: dist.reparameterize(key, m, log_var).sum())(mean)
    d_log_var = jax.grad(lambda lv: dist.reparameterize(key, mean, lv).sum())(log_var)
    np.testing.assert_allclose(d_mean, 1.0)
    np.testing.assert_allclose(d_log_var, 0.5 * jnp.exp(0.5 * log_var) * eps, rtol=1e-6)


def test_reparameterized_expectation_gradient_matches_closed_form():
    # d/dlog_var E[z^2] = d/dlog_var (m^2 + exp(log_var)) = exp(log_var).
    mean, log_var = jnp.full((100_000,), 0.5), jnp.full((100_000,), 0.3)

    def sum_of_squares(lv):  # element i's gradient is a one-sample estimate for that i
        return jnp.sum(dist.reparameterize(jax.random.key(7), mean, lv) ** 2)

    grad = jax.grad(sum_of_squares)(log_var)
    assert abs(float(jnp.mean(grad)) - np.exp(0.3)) < 0.02


def test_log_probs_match_distrax():
    x, mean, log_var, _ = _gaussians(jax.random.key(8))
    normal = distrax.Normal(mean, jnp.exp(0.5 * log_var))
    np.testing.assert_allclose(
        dist.gaussian_log_prob(x, mean, log_var), normal.log_prob(x).sum(-1), rtol=1e-5
    )
    logits = mean * 3
    bits = (x > 0).astype(jnp.float32)
    manual = jnp.sum(
        bits * jax.nn.log_sigmoid(logits) + (1 - bits) * jax.nn.log_sigmoid(-logits), -1
    )
    np.testing.assert_allclose(dist.bernoulli_log_prob(bits, logits), manual, rtol=1e-5)


def test_decoder_helpers_dispatch_on_output_kind():
    x = jnp.array([[0.0, 1.0]])
    gauss = {"mean": jnp.array([[0.5, 0.5]]), "log_var": jnp.zeros((1, 2))}
    bern = {"logits": jnp.array([[0.0, 0.0]])}
    assert dist.decoder_log_prob(x, gauss) == pytest.approx(-np.log(2 * np.pi) - 0.25, rel=1e-6)
    assert dist.decoder_log_prob(x, bern) == pytest.approx(2 * np.log(0.5), rel=1e-6)
    np.testing.assert_allclose(dist.decoder_mean(bern), 0.5)


def _mixture_log_prob_float64(z, logits, mean, log_var):
    """log sum_k w_k N(z; mean_k, var_k) in float64, the difference form."""
    z, mean, log_var = (np.asarray(a, np.float64) for a in (z, mean, log_var))
    diff = z[..., None, :] - mean  # [..., B, K, D]
    log_n = -0.5 * np.sum(diff**2 / np.exp(log_var) + log_var + np.log(2 * np.pi), -1)
    logits = np.asarray(logits, np.float64)
    log_w = (
        logits
        - np.log(np.sum(np.exp(logits - logits.max(-1, keepdims=True)), -1, keepdims=True))
        - logits.max(-1, keepdims=True)
    )
    a = log_n + log_w
    top = a.max(-1, keepdims=True)
    return (top + np.log(np.sum(np.exp(a - top), -1, keepdims=True)))[..., 0]


def test_shared_mixture_log_prob_is_distraxs_mixture_as_two_matrix_products():
    """The matrix-product log density of the mixture priors equals distrax's broadcast form
    and a float64 reference, for components far from the origin with small variances (where
    the expanded square could lose digits), weights masked per example (a conditional
    VampPrior), and a leading sample axis (importance sampling); gradients too."""
    from cvae_jax.core.latents import DiagonalGaussian
    from cvae_jax.core.mixtures import SharedGaussianMixture

    k = jax.random.split(jax.random.key(0), 4)
    num_components, dim, batch = 30, 6, 4
    mean = 20.0 + jax.random.normal(k[0], (num_components, dim))  # far from 0
    log_var = jax.random.uniform(k[1], (num_components, dim), minval=-6.0, maxval=1.0)
    logits = jax.random.normal(k[2], (batch, num_components))
    logits = logits.at[0, 10:].set(-1e9)  # example 0: only its first 10 components
    z = mean[:batch] + 0.1 * jax.random.normal(k[3], (7, batch, dim))  # near components
    shared = SharedGaussianMixture(logits, mean, log_var)
    broadcast = distrax.MixtureSameFamily(
        distrax.Categorical(logits=logits),
        DiagonalGaussian(
            *(jnp.broadcast_to(a, (batch, num_components, dim)) for a in (mean, log_var))
        ),
    )
    ours = jax.jit(shared.log_prob)(z)
    assert ours.shape == (7, batch)
    reference = _mixture_log_prob_float64(z, logits, mean, log_var)
    np.testing.assert_allclose(ours, reference, atol=5e-4)
    np.testing.assert_allclose(ours, broadcast.log_prob(z), atol=5e-4)

    def total(m, lv, zz):
        return SharedGaussianMixture(logits, m, lv).log_prob(zz).sum()

    def total_broadcast(m, lv, zz):
        b = (batch, num_components, dim)
        comps = DiagonalGaussian(jnp.broadcast_to(m, b), jnp.broadcast_to(lv, b))
        return (
            distrax.MixtureSameFamily(distrax.Categorical(logits=logits), comps).log_prob(zz).sum()
        )

    for ours_g, theirs_g in zip(jax.grad(total, (0, 1, 2))(mean, log_var, z),
                                jax.grad(total_broadcast, (0, 1, 2))(mean, log_var, z), strict=True):  # fmt: skip
        np.testing.assert_allclose(ours_g, theirs_g, rtol=1e-3, atol=2e-2)
