"""Vector quantisation for a VQ-VAE (van den Oord et al. 2017), as pure functions and a module.

  quantize(z_e [..., D], codebook [K, D]) -> (z_q [..., D], indices [...])
  straight_through(z_e, z_q) -> z_e + sg[z_q - z_e]: the value of z_q, the gradient of z_e
  vq_losses(z_e, z_q, commitment) -> VQLosses(codebook [...], commitment [...])
  ema_update(state, z_e, indices, decay, epsilon) -> (state, codebook [K, D])
  restart_dead_codes(state, codebook, z_e, key, threshold) -> (state, codebook): unused
      codes redrawn from the batch's encoder outputs (Dhariwal et al. 2020)
  perplexity(indices, K), dead_codes(indices, K): how much of the codebook is in use

The VQ-VAE loss per example is
  -log p(x | z_q) + ||sg[z_e] - e||^2 + beta ||z_e - sg[e]||^2,
with the decoder's gradient copied to the encoder by the straight-through estimator. The
codebook moves either by the second term's gradient (`VectorQuantizer`'s param) or by the
moving averages of the paper's appendix A.1 (`ema_update`, which replaces the second term).
"""

from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax.scipy.special import entr

from cvae_jax.errors import ContractError


def _check_dims(z_e, codebook):
    if z_e.shape[-1] != codebook.shape[-1]:
        raise ContractError(
            f"z_e has {z_e.shape[-1]} dimensions on its last axis and the codebook "
            f"{codebook.shape} has codes of {codebook.shape[-1]}; they must match."
        )


def quantize(z_e, codebook):
    """The nearest code in squared Euclidean distance: (z_q [..., D], indices [...] int32).

    z_q = codebook[indices] is differentiable in the codebook (the codebook loss needs that);
    the indices are not differentiable in anything.
    """
    _check_dims(z_e, codebook)
    # ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2, without forming [..., K, D] differences.
    distances = (
        jnp.sum(z_e**2, -1, keepdims=True) - 2 * z_e @ codebook.T + jnp.sum(codebook**2, -1)
    )  # [..., K]
    indices = jnp.argmin(distances, axis=-1).astype(jnp.int32)  # [...]
    return codebook[indices], indices


def straight_through(z_e, z_q):
    """z_q forward, identity backward: d f(z_st) / d z_e = f'(z_q) (van den Oord et al. 2017)."""
    return z_e + jax.lax.stop_gradient(z_q - z_e)


class VQLosses(NamedTuple):
    codebook: jax.Array  # [...] ||sg[z_e] - e||^2: moves the codes only
    commitment: jax.Array  # [...] beta ||z_e - sg[e]||^2: moves the encoder only


def vq_losses(z_e, z_q, commitment) -> VQLosses:
    """The codebook and (weighted) commitment terms per vector, summed over D, unreduced.

    Summed, not averaged, over the code dimension: the paper writes squared L2 norms, and the
    reconstruction term beside them, -log p(x | z_q), is itself a sum over pixels, so the
    balance between them does not change with D. (Sonnet's and Haiku's VQ modules take means
    over every element instead; their beta = 0.25 is relative to a mean-squared
    reconstruction.) A latent grid z_e [B, h, w, D] gives terms [B, h, w]; the caller sums
    over the grid and averages over the batch, in one place. `commitment` (beta) may be a
    traced array, so a sweep over it compiles once.
    """
    sg = jax.lax.stop_gradient
    return VQLosses(
        codebook=jnp.sum(jnp.square(sg(z_e) - z_q), -1),
        commitment=commitment * jnp.sum(jnp.square(z_e - sg(z_q)), -1),
    )


class EMAState(NamedTuple):
    cluster_size: jax.Array  # [K] N_i, the moving average of the code counts
    embed_sum: jax.Array  # [K, D] m_i, the moving average of the sums of the assigned z_e


def ema_init(codebook) -> EMAState:
    """N_i = 1, m_i = e_i: the state whose codebook m_i / N_i is the given one.

    Starting from N = 0, m = e instead, a code unused in the first step would be divided by a
    smoothed count near epsilon and jump far away; from this state an unused code decays
    towards 0 as its count does.
    """
    return EMAState(jnp.ones(codebook.shape[:1], codebook.dtype), codebook)


def ema_update(state: EMAState, z_e, indices, decay, epsilon=1e-5):
    """One step of the codebook's moving averages (van den Oord et al. 2017, appendix A.1).

      N_i <- decay N_i + (1 - decay) n_i,  m_i <- decay m_i + (1 - decay) sum_{j -> i} z_e_j,
      e_i = m_i / N~_i,  N~_i = (N_i + epsilon) / (n + K epsilon) n,  n = sum_i N_i,
    where n_i counts the vectors assigned to code i in this batch (all leading axes of z_e).
    The Laplace smoothing N~ keeps e_i finite for a code with N_i = 0 and leaves the total
    count n unchanged, as in Sonnet's and Haiku's VectorQuantizerEMA; the state holds the
    unsmoothed N. Unlike theirs, the averages are not zero-debiased: the paper's recursion
    from the state given (`ema_init`). Returns (new state, new codebook [K, D]).
    """
    num_codes = state.cluster_size.shape[0]
    z_flat = z_e.reshape(-1, z_e.shape[-1])  # [M, D]
    one_hot = jax.nn.one_hot(indices.reshape(-1), num_codes, dtype=z_flat.dtype)  # [M, K]
    cluster_size = decay * state.cluster_size + (1 - decay) * jnp.sum(one_hot, 0)  # [K]
    embed_sum = decay * state.embed_sum + (1 - decay) * one_hot.T @ z_flat  # [K, D]
    n = jnp.sum(cluster_size)
    smoothed = (cluster_size + epsilon) / (n + num_codes * epsilon) * n  # [K]
    return EMAState(cluster_size, embed_sum), embed_sum / smoothed[:, None]


def restart_dead_codes(state: EMAState, codebook, z_e, key, threshold):
    """Codes the batch no longer uses moved onto its encoder outputs: (state, codebook [K, D]).

    Dhariwal et al. (2020)'s random restarts: a code whose moving-average count N_i (vectors
    per step) is below `threshold` becomes a vector z_e drawn at random from this batch, with
    N_i = threshold and m_i = threshold z_e, so the averages carry it on from there. A code
    that then wins fewer than `threshold` vectors a step falls below again and is redrawn;
    one that wins more stays. Without restarts a code nobody picks keeps its old value, and
    once every code but one lies away from the encoder's outputs the encoder has one code
    to use: the codebook collapse that VQ-VAEs meet at high learning rates.
    """
    num_codes, dim = codebook.shape
    z_flat = z_e.reshape(-1, dim)  # [M, D]
    picks = jax.random.choice(key, z_flat.shape[0], (num_codes,), z_flat.shape[0] < num_codes)
    dead = (state.cluster_size < threshold)[:, None]  # [K, 1]
    drawn = z_flat[picks]  # [K, D]
    state = EMAState(
        jnp.where(dead[:, 0], threshold, state.cluster_size),
        jnp.where(dead, threshold * drawn, state.embed_sum),
    )
    return state, jnp.where(dead, drawn, codebook)


def code_counts(indices, num_codes: int):
    """How many of the indices (all axes) pick each code: [K]."""
    return jnp.bincount(indices.reshape(-1), length=num_codes)


def perplexity(indices, num_codes: int):
    """exp(entropy of the code usage): K when all codes are used equally, 1 for one code."""
    probs = code_counts(indices, num_codes) / indices.size  # [K]
    return jnp.exp(jnp.sum(entr(probs)))  # entr(p) = -p log p, 0 at p = 0


def dead_codes(indices, num_codes: int):
    """The number of codes that none of the indices picks."""
    return jnp.sum(code_counts(indices, num_codes) == 0)


class VQOutput(NamedTuple):
    z_q: jax.Array  # [..., D] straight-through: the code's value, the encoder's gradient
    indices: jax.Array  # [...] int32
    codebook_loss: jax.Array  # [...]
    commitment_loss: jax.Array  # [...] already weighted by the commitment beta


# uniform(+-sqrt(3 / D)), the scale Sonnet's and Haiku's VQ modules use
CODEBOOK_INIT = nn.initializers.variance_scaling(1.0, "fan_in", "uniform", in_axis=-1, out_axis=-2)


class VectorQuantizer(nn.Module):
    """The codebook [K, D] as a param, learned by the codebook loss's gradient.

    For the EMA variant, train without `codebook_loss` and overwrite the param with the
    codebook that `ema_update` returns after each step.
    """

    codebook_size: int
    code_dim: int
    codebook_init: nn.initializers.Initializer = CODEBOOK_INIT

    @nn.compact
    def __call__(self, z_e, commitment=0.25) -> VQOutput:  # z_e [..., D]
        codebook = self.param("codebook", self.codebook_init, (self.codebook_size, self.code_dim))
        z_q, indices = quantize(z_e, codebook)
        losses = vq_losses(z_e, z_q, commitment)
        return VQOutput(straight_through(z_e, z_q), indices, losses.codebook, losses.commitment)
