"""Vector quantisation (VQ-VAE, van den Oord et al. 2017): the nearest code against brute force,
the straight-through gradient, the two loss terms and where their gradients go, an EMA step
worked out by hand, and the codebook-usage diagnostics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvae_jax.errors import ContractError
from cvae_jax.models.vq import (
    EMAState,
    VectorQuantizer,
    dead_codes,
    ema_init,
    ema_update,
    perplexity,
    quantize,
    straight_through,
    vq_losses,
)

K, D = 7, 3
RNG = np.random.default_rng(0)
Z_E = RNG.standard_normal((4, 5, D)).astype(np.float32)  # a [B, n, D] grid of encoder outputs
CODEBOOK = RNG.standard_normal((K, D)).astype(np.float32)
BETA = 0.25


def _nearest(z_e, codebook):  # brute force: every difference, in numpy
    return np.argmin(((z_e[..., None, :] - codebook) ** 2).sum(-1), -1)


def test_quantize_picks_the_nearest_code():
    z_q, indices = jax.jit(quantize)(Z_E, CODEBOOK)
    brute = _nearest(Z_E, CODEBOOK)  # [4, 5]
    np.testing.assert_array_equal(indices, brute)
    np.testing.assert_array_equal(z_q, CODEBOOK[brute])
    assert indices.shape == (4, 5) and indices.dtype == jnp.int32
    with pytest.raises(ContractError, match="must match"):
        quantize(Z_E, CODEBOOK[:, :2])


def _reconstruction(z):  # any smooth function of the latent, standing in for -log p(x|z)
    return jnp.sum(jnp.sin(z) * jnp.arange(1.0, D + 1))


@jax.jit
def _gradients(z_e, codebook):
    """Gradients of each term with respect to (z_e, codebook), and the terms themselves."""

    def terms(z_e, codebook):
        z_q, _ = quantize(z_e, codebook)
        losses = vq_losses(z_e, z_q, BETA)
        recon = _reconstruction(straight_through(z_e, z_q))
        return recon, jnp.sum(losses.codebook), jnp.sum(losses.commitment)

    grads = [jax.grad(lambda *a, i=i: terms(*a)[i], (0, 1))(z_e, codebook) for i in range(3)]
    z_q, _ = quantize(z_e, codebook)
    at_z_q = jax.grad(_reconstruction)(z_q)
    return grads, at_z_q, vq_losses(z_e, z_q, BETA), straight_through(z_e, z_q)


def test_straight_through_carries_the_decoder_gradient_to_the_encoder():
    (recon_grads, _, _), at_z_q, _, z_st = _gradients(Z_E, CODEBOOK)
    np.testing.assert_allclose(z_st, CODEBOOK[_nearest(Z_E, CODEBOOK)], atol=1e-6)  # z_q's value
    np.testing.assert_allclose(recon_grads[0], at_z_q, rtol=1e-6)  # d/dz_e = f'(z_q)
    assert np.all(np.asarray(recon_grads[1]) == 0.0)  # the decoder does not move the codes


def test_loss_terms_and_where_their_gradients_go():
    (_, codebook_grads, commitment_grads), _, losses, _ = _gradients(Z_E, CODEBOOK)
    indices = _nearest(Z_E, CODEBOOK).reshape(-1)
    e = CODEBOOK[indices].reshape(Z_E.shape)  # [4, 5, D]
    squared = ((Z_E - e) ** 2).sum(-1)  # [4, 5]: summed over D, one per vector
    np.testing.assert_allclose(losses.codebook, squared, rtol=1e-5)
    np.testing.assert_allclose(losses.commitment, BETA * squared, rtol=1e-5)
    # ||sg[z_e] - e||^2 moves the codes only: 2 (e_k - z_e) summed over the vectors at k
    assert np.all(np.asarray(codebook_grads[0]) == 0.0)
    expected = np.zeros((K, D), np.float32)
    np.add.at(expected, indices, 2 * (e - Z_E).reshape(-1, D))
    np.testing.assert_allclose(codebook_grads[1], expected, rtol=1e-5, atol=1e-6)
    # beta ||z_e - sg[e]||^2 moves the encoder only
    assert np.all(np.asarray(commitment_grads[1]) == 0.0)
    np.testing.assert_allclose(commitment_grads[0], 2 * BETA * (Z_E - e), rtol=1e-5, atol=1e-6)


def test_ema_step_by_hand():
    # Codes (0, 0) and (2, 2), counts N = (1, 1) (`ema_init`); vectors (1, 0) and (0, 1) go to
    # code 0, (3, 3) to code 1: n = (2, 1), sums (1, 1) and (3, 3). With decay 0.5:
    #   N = 0.5 (1, 1) + 0.5 (2, 1) = (1.5, 1),  m_0 = 0.5 (0, 0) + 0.5 (1, 1) = (0.5, 0.5),
    #   m_1 = 0.5 (2, 2) + 0.5 (3, 3) = (2.5, 2.5).
    # epsilon = 0: e = m / N = (1/3, 1/3), (2.5, 2.5). epsilon = 0.1: n = 2.5, the smoothed
    # counts (N + 0.1) / 2.7 * 2.5 = 40/27, 55/54, so e_0 = 0.5 * 27/40 = 27/80 = 0.3375 and
    # e_1 = 2.5 * 54/55 = 27/11.
    codebook = np.array([[0.0, 0.0], [2.0, 2.0]], np.float32)
    z_e = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]], np.float32)
    indices = _nearest(z_e, codebook)
    np.testing.assert_array_equal(indices, [0, 0, 1])
    update = jax.jit(ema_update)
    start = ema_init(codebook)
    np.testing.assert_array_equal(start.cluster_size, [1.0, 1.0])  # so m / N is the codebook
    state, new = update(start, z_e, indices, 0.5, 0.0)
    np.testing.assert_allclose(state.cluster_size, [1.5, 1.0])
    np.testing.assert_allclose(state.embed_sum, [[0.5, 0.5], [2.5, 2.5]])
    np.testing.assert_allclose(new, [[1 / 3, 1 / 3], [2.5, 2.5]], rtol=1e-6)
    state, new = update(start, z_e, indices, 0.5, 0.1)
    np.testing.assert_allclose(state.cluster_size, [1.5, 1.0])  # the state is unsmoothed
    np.testing.assert_allclose(new, [[27 / 80] * 2, [27 / 11] * 2], rtol=1e-6)
    # A grid of vectors counts as one batch; a code nobody picks keeps its direction.
    state = EMAState(np.ones(3, np.float32), np.array([[0, 0], [2, 2], [5, 5]], np.float32))
    grid = np.stack([z_e, z_e])  # [2, 3, 2]
    state, new = update(state, grid, np.stack([indices] * 2), 0.5, 0.0)
    np.testing.assert_allclose(state.cluster_size, [2.5, 1.5, 0.5])
    np.testing.assert_allclose(new[2], [5.0, 5.0], rtol=1e-6)


def test_usage_diagnostics():
    usage = jax.jit(lambda i, k: (perplexity(i, k), dead_codes(i, k)), static_argnums=1)
    uniform = np.arange(3 * K) % K
    perplexity_, dead = usage(uniform, K)
    assert float(perplexity_) == pytest.approx(K, rel=1e-6) and int(dead) == 0
    perplexity_, dead = usage(np.full(3 * K, 3), K)  # one code
    assert float(perplexity_) == pytest.approx(1.0, abs=1e-6) and int(dead) == K - 1
    perplexity_, dead = usage(np.array([0, 0, 1, 1]), 4)  # two of four codes, equally
    assert float(perplexity_) == pytest.approx(2.0, rel=1e-6) and int(dead) == 2


def test_vector_quantizer_module():
    vq = VectorQuantizer(K, D)

    @jax.jit
    def run(key, z_e, commitment):  # commitment traced: a sweep over it compiles once
        variables = vq.init(key, z_e)
        codebook = variables["params"]["codebook"]
        z_q, indices = quantize(z_e, codebook)
        return codebook, vq.apply(variables, z_e, commitment), indices, vq_losses(z_e, z_q, 0.5)

    codebook, out, indices, losses = run(jax.random.key(0), Z_E, 0.5)
    assert codebook.shape == (K, D) and np.abs(codebook).max() <= np.sqrt(3 / D)
    np.testing.assert_array_equal(out.indices, indices)
    np.testing.assert_allclose(out.z_q, np.asarray(codebook)[np.asarray(indices)], atol=1e-6)
    np.testing.assert_allclose(out.codebook_loss, losses.codebook, rtol=1e-6)
    np.testing.assert_allclose(out.commitment_loss, losses.commitment, rtol=1e-6)
    assert out.codebook_loss.shape == (4, 5)
