"""MADE masks and the autoregressive affine bijector (IAF, Kingma et al. 2016; VLAE, Chen et al.
2017): exact autoregressiveness, identity at init, inverse, log-determinants, distrax use."""

import functools

import distrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvae_jax.core.bijectors import AutoregressiveAffine
from cvae_jax.errors import ConfigError
from cvae_jax.models.made import MADE

D, H, B = 5, 3, 3  # event size, context size, batch


@functools.cache
def _made(d=D, context=True, seed=0, activation="relu"):
    """A MADE, random nonzero variables for it, x [B, d] and the context [B, H] (or None).

    All numpy, drawn at the shapes `made.init` would give (traced, not run): JAX's initialisers
    would compile the PRNG, and every eager JAX op outside a jit compiles once per shape, each
    costing a second or more per test on a small CPU.
    """
    made = MADE(hidden=(16, 16), activation=activation, zero_init_last=False)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, d), np.float32)
    c = rng.standard_normal((B, H), np.float32) if context else None
    shapes = jax.eval_shape(lambda: made.init(jax.random.key(0), x, c))

    def draw(path, s):
        # Kernels [in, out] at lecun_normal's scale 1/sqrt(in), smaller in the heads: a log_scale
        # of a few units would scale the inverse by exp(D * 3) and swamp float32.
        head = path[1].key.startswith(("shift", "log_scale"))
        scale = (0.3 if head else 1.0) / np.sqrt(s.shape[0]) if len(s.shape) == 2 else 0.1
        return (rng.standard_normal(s.shape) * scale).astype(np.float32)

    return made, jax.tree_util.tree_map_with_path(draw, shapes), x, c


def _bijector(made, variables, c, d=D):
    return AutoregressiveAffine(lambda x: made.apply(variables, x, c), d)


@pytest.mark.parametrize("d", [D, 1])
def test_made_is_strictly_autoregressive(d):
    # tanh: no dead units, so every allowed connection is generically nonzero. The variables
    # hold the context layers too; applied without a context, those go unused.
    made, variables, x, c = _made(d=d, activation="tanh")
    jac_x = jax.jacfwd(lambda xi, ci: made.apply(variables, xi, ci))  # d out_i / d x_j: [d, d]
    jac_c = jax.jacfwd(lambda ci, xi: made.apply(variables, xi, ci))  # d out_i / d c_k: [d, H]

    @jax.jit
    def run(x, c):
        return (
            jax.vmap(jac_x, (0, None))(x, None),
            jax.vmap(jac_x)(x, c),
            jax.vmap(jac_c)(c, x),
        )

    without_context, with_context, wrt_context = run(x, c)
    below = np.tril(np.ones((d, d), bool), k=-1)
    for jac in (*without_context, *with_context):  # shift's, then log_scale's: [B, d, d]
        jac = np.asarray(jac)
        assert np.all(jac[:, ~below] == 0.0)  # exact zeros for j >= i (all of it when d = 1)
        assert np.all(jac[:, below] != 0.0)  # and every x_<i does reach output i
    for jac in wrt_context:  # [B, d, H]: every output, output 0 included, sees the context
        assert np.all(np.any(np.asarray(jac) != 0.0, axis=-1))


def test_zero_init_is_identity():
    # zero_init_last=True by default. No hidden layers: zero heads give zero outputs whatever
    # feeds them, and JAX's random initialisers would take a second to compile.
    made = MADE(hidden=())
    _, _, x, c = _made()

    @jax.jit
    def run(key):
        variables = made.init(key, x, c)
        return made.apply(variables, x, c), _bijector(made, variables, c).forward_and_log_det(x)

    (shift, log_scale), (y, log_det) = run(jax.random.key(0))
    np.testing.assert_array_equal(shift, 0.0)
    np.testing.assert_array_equal(log_scale, 0.0)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(log_det, 0.0)


def test_round_trip_with_leading_axes():
    made, variables, x, c = _made()
    x, c = np.stack([x, -x]), np.stack([c, -c])  # [2, B, D], [2, B, H]

    @jax.jit
    def run(x, c):
        bij = _bijector(made, variables, c)
        y = bij.forward(x)  # distrax derives forward and inverse from the *_and_log_det methods
        return y, bij.inverse(y), _bijector(made, variables, c[1]).forward(x[1])

    y, x_back, y_1 = run(x, c)
    assert y.shape == x_back.shape == (2, B, D)
    assert not np.allclose(y, x, atol=1e-2)  # the parameters do transform x
    np.testing.assert_allclose(x_back, x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y[1], y_1, rtol=1e-6, atol=1e-6)


def test_inverse_is_exact_and_differentiable_with_strong_coupling():
    # Shifts of a strictly lower-triangular linear map with large weights: each pass's error is
    # amplified, not damped, so a loop one pass short of D (which the MADE's weak coupling would
    # hide within tolerance) comes back visibly wrong.
    mask = np.tril(np.ones((D, D), bool), k=-1)
    weights = np.where(mask, 2.0, 0.0).astype(np.float32)  # [D, D]
    x = np.random.default_rng(6).standard_normal((B, D)).astype(np.float32)

    def bijector(w):
        w = jnp.where(mask, w, 0.0)  # autoregressive whatever the perturbation below
        return AutoregressiveAffine(lambda v: (v @ w.T, 0.5 * jnp.tanh(v @ w.T)), D)

    def inverted(w, y):  # a scalar through the D-pass inverse, and its parts
        x_back, ildj = bijector(w).inverse_and_log_det(y)
        return jnp.sum(jnp.sin(x_back)) + jnp.sum(ildj), (x_back, ildj)

    value_and_grad = jax.jit(jax.value_and_grad(inverted, has_aux=True))
    shift = x @ weights.T  # [B, D]: the forward pass in numpy
    y, fldj = x * np.exp(0.5 * np.tanh(shift)) + shift, np.sum(0.5 * np.tanh(shift), axis=-1)
    (_, (x_back, ildj)), grad = value_and_grad(weights, y)
    np.testing.assert_allclose(x_back, x, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ildj, -fldj, rtol=1e-4, atol=1e-4)

    # Reverse mode through the fori_loop reaches the closed-over weights: against a central
    # finite difference along a random direction, from the same compiled program.
    assert np.all(np.isfinite(grad)) and np.any(grad[mask] != 0.0)
    direction = np.random.default_rng(7).standard_normal((D, D)).astype(np.float32) * mask
    eps = 1e-3
    (up, _), _ = value_and_grad(weights + eps * direction, y)
    (down, _), _ = value_and_grad(weights - eps * direction, y)
    numeric = (np.float64(up) - np.float64(down)) / (2 * eps)
    np.testing.assert_allclose(np.vdot(grad, direction), numeric, rtol=1e-2)


def test_log_dets_match_jacobian():
    made, variables, x, c = _made()

    @jax.jit
    def run(x):
        bij = _bijector(made, variables, c)
        one = lambda xi, ci: _bijector(made, variables, ci).forward(xi)  # [D] -> [D]
        jac = jax.vmap(jax.jacfwd(one))(x, c)  # [B, D, D]
        y, fldj = bij.forward_and_log_det(x)
        # At y = f(x); distrax derives both from the *_and_log_det methods.
        derived = bij.forward_log_det_jacobian(x), bij.inverse_log_det_jacobian(y)
        return jnp.linalg.slogdet(jac), fldj, derived

    (sign, expected), fldj, (fldj_derived, ildj) = run(x)
    assert fldj.shape == ildj.shape == (B,)
    np.testing.assert_array_equal(sign, 1.0)  # triangular with a positive diagonal
    np.testing.assert_allclose(fldj, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(fldj_derived, fldj)
    np.testing.assert_allclose(ildj, -fldj, rtol=1e-5, atol=1e-5)


def test_transformed_distribution_both_directions():
    made, variables, x, c = _made()
    c = c[0]  # one context: the distribution's event is [D]

    @jax.jit
    def run(key, z):
        base = distrax.MultivariateNormalDiag(jnp.zeros(D), jnp.ones(D))
        bij = _bijector(made, variables, c)
        iaf = distrax.Transformed(base, bij)  # sampling in one pass, density in D passes
        y, lp = iaf.sample_and_log_prob(seed=key, sample_shape=(B,))
        prior = distrax.Transformed(base, distrax.Inverse(bij))  # VLAE: density in one pass
        eps, fldj = bij.forward_and_log_det(z)
        return (y, lp, iaf.log_prob(y)), (prior.log_prob(z), base.log_prob(eps) + fldj)

    (y, lp, lp_again), (lp_z, want_z) = run(jax.random.key(3), x)
    assert y.shape == (B, D) and lp.shape == (B,)
    np.testing.assert_allclose(lp_again, lp, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(lp_z, want_z, rtol=1e-5, atol=1e-5)


def test_jit_and_vmap_over_parameter_sets():
    made, variables, x, c = _made()
    _, variables2, _, _ = _made(seed=1)
    stacked = jax.tree.map(lambda a, b: np.stack([a, b]), variables, variables2)

    def one_set(v, y):  # y [B, D] -> log_prob [B] (the D-pass inverse), then (y', log_det)
        base = distrax.MultivariateNormalDiag(jnp.zeros(D), jnp.ones(D))
        bij = _bijector(made, v, c)
        return distrax.Transformed(base, bij).log_prob(y), bij.forward_and_log_det(y)

    y = np.stack([x, -x])  # [2, B, D]: one batch per parameter set
    got = jax.jit(jax.vmap(one_set))(stacked, y)
    single = jax.jit(one_set)  # compiled once, run once per set
    for k, v in enumerate((variables, variables2)):
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(single(v, y[k])), strict=True):
            np.testing.assert_allclose(a[k], b, rtol=1e-5, atol=1e-5)


def test_gradients_reach_the_made_parameters():
    # The training paths take one pass: here the VLAE prior's density, log N(f(z)) + log_det.
    made, variables, x, c = _made()

    def loss(v):
        base = distrax.MultivariateNormalDiag(jnp.zeros(D), jnp.ones(D))
        prior = distrax.Transformed(base, distrax.Inverse(_bijector(made, v, c)))
        return -jnp.sum(prior.log_prob(x))

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    _, grads = value_and_grad(variables)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    assert all(np.any(g != 0.0) for g in jax.tree.leaves(grads["params"]["log_scale"]))

    rng, eps = np.random.default_rng(5), 1e-3
    direction = jax.tree.map(lambda p: rng.standard_normal(p.shape).astype(np.float32), variables)
    step = lambda s: jax.tree.map(lambda p, d: p + s * eps * d, variables, direction)
    up, down = (np.float64(value_and_grad(step(s))[0]) for s in (1.0, -1.0))
    numeric = (up - down) / (2 * eps)
    analytic = sum(
        np.vdot(g, d)
        for g, d in zip(jax.tree.leaves(grads), jax.tree.leaves(direction), strict=True)
    )
    np.testing.assert_allclose(analytic, numeric, rtol=1e-2)


def test_bad_event_size():
    with pytest.raises(ConfigError, match="event_size"):
        AutoregressiveAffine(lambda x: (x, x), 0)
    bij = AutoregressiveAffine(lambda x: (0 * x, 0 * x), D)
    with pytest.raises(ValueError, match=r"\[\.\.\., 5\]"):
        bij.inverse(np.zeros((B, D + 1), np.float32))
