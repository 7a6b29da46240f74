"""A mixture of K diagonal Gaussians shared by every batch member: the mixture priors' p(z|c).

A learned mixture prior and the VampPrior have K components [K, Dz] that do not depend on
the batch member (only the weights may: a conditional VampPrior masks other labels'
components). distrax's `MixtureSameFamily.log_prob` broadcasts z against the components, a
[..., B, K, Dz] array of differences; with K = 500 and the k = 5,000 importance samples of
an evaluation that is most of the time. Expanded,

    sum_d (z_d - mu_kd)^2 / s_kd^2 = z^2 . p_k - 2 z . (mu p)_k + mu^2 . p_k,   p = 1 / s^2,

it is two matrix products, [..., B, Dz] x [Dz, K], as scikit-learn's diagonal
`GaussianMixture` computes it. Both sides are first shifted by the components' mean (the
value does not change), so that float32 rounding scales with the components' spread, not
with their distance from the origin.
"""

import distrax
import jax
import jax.numpy as jnp

from cvae_jax.core.latents import DiagonalGaussian


class SharedGaussianMixture(distrax.MixtureSameFamily):
    """sum_k softmax(logits)_k N(mean_k, diag(exp(log_var_k))), batch [B].

    Args:
      logits: mixture weights' logits [B, K].
      mean, log_var: the components [K, Dz], the same for every batch member.
    Sampling and the rest are distrax's; `log_prob` is the matrix-product form above.
    """

    def __init__(self, logits, mean, log_var):
        batch = logits.shape[:-1]
        components = DiagonalGaussian(
            jnp.broadcast_to(mean, (*batch, *mean.shape)),
            jnp.broadcast_to(log_var, (*batch, *log_var.shape)),
        )
        super().__init__(distrax.Categorical(logits=logits), components)
        self.shared_mean, self.shared_log_var = mean, log_var

    def log_prob(self, value):
        """log p(z) for z [..., B, Dz] -> [..., B]."""
        shift = jax.lax.stop_gradient(jnp.mean(self.shared_mean, axis=0))  # value-neutral
        z, mean = value - shift, self.shared_mean - shift
        precision = jnp.exp(-self.shared_log_var)  # [K, Dz]
        squared = (
            (z * z) @ precision.T
            - 2.0 * z @ (mean * precision).T
            + jnp.sum(mean * mean * precision, axis=-1)
        )  # [..., B, K]: sum_d (z_d - mean_kd)^2 / var_kd
        log_normaliser = jnp.sum(self.shared_log_var, axis=-1) + z.shape[-1] * jnp.log(2 * jnp.pi)
        log_components = -0.5 * (squared + log_normaliser)
        log_weights = jax.nn.log_softmax(self.mixture_distribution.logits, axis=-1)
        return jax.nn.logsumexp(log_components + log_weights, axis=-1)
