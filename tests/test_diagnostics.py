"""Diagnostics against cases with known answers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvae_jax.core import diagnostics as diag
from cvae_jax.core import distributions as dist
from cvae_jax.core.latents import DiagonalGaussian
from cvae_jax.data.synthetic import TOY_MEANS, two_gaussians

N = 2000


@jax.jit  # one function, so calls with the same shapes share one compilation
def _jitted_split(key, mean_q, log_var_q, mean_p, log_var_p, labels):
    q, p = DiagonalGaussian(mean_q, log_var_q), DiagonalGaussian(mean_p, log_var_p)
    return diag.rate_split(key, q, p, labels)


def _split(mean_q, log_var_q, mean_p=None, log_var_p=None, labels=None, key=0):
    mean_p = jnp.zeros_like(mean_q) if mean_p is None else mean_p
    log_var_p = jnp.zeros_like(mean_q) if log_var_p is None else log_var_p
    labels = jnp.zeros(mean_q.shape[0], jnp.int32) if labels is None else labels
    out = _jitted_split(jax.random.key(key), mean_q, log_var_q, mean_p, log_var_p, labels)
    return {k: float(v) for k, v in out.items()}


def test_encoder_that_ignores_its_input_has_zero_mutual_information():
    data = two_gaussians(0, N)
    mean_q = jnp.full((N, 2), 0.7)  # the same q(z) whatever (x, y)
    log_var_q = jnp.full((N, 2), -0.3)
    out = _split(mean_q, log_var_q, labels=jnp.asarray(data.y))
    assert out["mi_zxy"] == pytest.approx(0.0, abs=1e-5)
    assert out["mi_zy"] == pytest.approx(0.0, abs=1e-5)
    # With no information the whole rate is the marginal KL: KL(N(0.7, e^-0.3) || N(0, 1)).
    assert out["kl_aggregate"] == pytest.approx(out["rate"], abs=0.1)


def test_label_independent_encoder_on_separated_clusters_has_no_label_information():
    data = two_gaussians(1, N)
    x, y = jnp.asarray(data.x), jnp.asarray(data.y)
    mean_q = x - jnp.asarray(TOY_MEANS)[y]  # the offset within the cluster: same law for both y
    out = _split(mean_q, jnp.full((N, 2), -2.0), labels=y)
    assert out["mi_zy"] == pytest.approx(0.0, abs=0.02)
    assert out["mi_zxy"] > 2.0  # but plenty about x


def test_label_revealing_encoder_carries_log2_nats_about_y():
    y = jnp.asarray(two_gaussians(2, N).y)
    mean_q = jnp.stack([10.0 * y, jnp.zeros(N)], -1)
    out = _split(mean_q, jnp.full((N, 2), np.log(0.01)), labels=y)
    assert out["mi_zy"] == pytest.approx(np.log(2), abs=0.01)
    assert out["mi_zxy"] == pytest.approx(np.log(2), abs=0.01)  # z knows y and nothing else


def test_mutual_information_of_a_linear_gaussian_encoder():
    # x ~ N(0, 1), q(z|x) = N(a x, s^2): I(Z; X) = 0.5 log(1 + a^2 / s^2) per dimension.
    a, s2 = 2.0, 0.5
    x = jax.random.normal(jax.random.key(3), (N, 1))
    out = _split(a * x, jnp.full((N, 1), np.log(s2)))
    assert out["mi_zxy"] == pytest.approx(0.5 * np.log(1 + a**2 / s2), abs=0.05)


@pytest.mark.parametrize("conditional_prior", [False, True])
def test_rate_split_adds_up_to_the_analytic_rate(conditional_prior):
    keys = jax.random.split(jax.random.key(4), 4)
    labels = jax.random.randint(keys[0], (N,), 0, 3)
    mean_q = jax.random.normal(keys[1], (N, 2)) + labels[:, None]
    log_var_q = jax.random.normal(keys[2], (N, 2)) * 0.3 - 1.0
    if conditional_prior:  # p(z|y): one Gaussian per class
        table = jax.random.normal(keys[3], (3, 2))
        mean_p, log_var_p = table[labels], 0.5 * table[labels]
    else:
        mean_p = log_var_p = jnp.zeros((N, 2))
    estimates = [_split(mean_q, log_var_q, mean_p, log_var_p, labels, key=k) for k in range(20)]
    parts = np.array([e["mi_zxy"] + e["kl_conditional"] - e["mi_zy"] for e in estimates])  # 14f
    parts_10e = np.array([e["mi_zxy"] + e["kl_aggregate"] for e in estimates])  # 10e / 10f
    rate = estimates[0]["rate"]
    np.testing.assert_allclose(parts, parts_10e, rtol=1e-4)
    assert abs(parts.mean() - rate) < 4 * parts.std() / np.sqrt(len(parts)) + 1e-3


def test_squared_error_active_units_and_label_helpers():
    x = jnp.array([[0.0, 0.0], [1.0, 2.0]])
    np.testing.assert_allclose(diag.squared_error(x, jnp.zeros_like(x)), [0.0, 5.0])
    mean_q = jnp.stack([jnp.linspace(-1, 1, 50), jnp.full(50, 3.0)], -1)
    assert int(diag.active_units(mean_q)) == 1  # the constant dimension is inactive
    np.testing.assert_array_equal(diag.swap_labels(jnp.array([0, 1]), 2), [1, 0])
    np.testing.assert_array_equal(diag.swap_labels(jnp.array([0, 9]), 10), [1, 0])
    assert float(diag.label_accuracy(jnp.array([1, 0, 1]), jnp.array([1, 1, 1]))) == pytest.approx(
        2 / 3
    )


def test_reparameterized_kl_consistency_with_rate():
    # The analytic rate reported by rate_split is the mean per-example KL.
    mean_q, log_var_q = jnp.ones((10, 2)), jnp.zeros((10, 2))
    out = _split(mean_q, log_var_q)
    assert out["rate"] == pytest.approx(float(jnp.mean(dist.gaussian_kl(mean_q, log_var_q))))
