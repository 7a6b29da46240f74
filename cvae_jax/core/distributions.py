"""Diagonal-Gaussian and Bernoulli pieces of the ELBO, as pure per-example functions.

Shapes: a leading batch axis (or any leading axes) and the event on the last axis.
Every function reduces over the event axis only, never over the batch, so the caller
decides how to average (vdm/optax style).
"""

import distrax
import jax
import jax.numpy as jnp
import numpy as np

_LOG_2PI = float(np.log(2.0 * np.pi))  # a Python float: importing runs no JAX op


def reparameterize(key: jax.Array, mean: jax.Array, log_var: jax.Array) -> jax.Array:
    """Draws z = mean + exp(log_var / 2) * eps with eps ~ N(0, I); differentiable in both."""
    eps = jax.random.normal(key, jnp.shape(mean), dtype=jnp.result_type(mean))
    return mean + jnp.exp(0.5 * log_var) * eps


def gaussian_kl_per_dim(mean_q, log_var_q, mean_p=0.0, log_var_p=0.0) -> jax.Array:
    """KL(N(mean_q, exp(log_var_q)) || N(mean_p, exp(log_var_p))) per latent dimension.

    Written in log-variances so that no variance is exponentiated and then logged again.
    The standard-normal prior is the default mean_p = log_var_p = 0.
    """
    var_ratio = jnp.exp(log_var_q - log_var_p)
    sq_dist = jnp.square(mean_q - mean_p) * jnp.exp(-log_var_p)
    return 0.5 * (var_ratio + sq_dist - 1.0 - (log_var_q - log_var_p))


def gaussian_kl(mean_q, log_var_q, mean_p=0.0, log_var_p=0.0) -> jax.Array:
    """Per-example KL between two diagonal Gaussians, summed over the last (latent) axis."""
    return jnp.sum(gaussian_kl_per_dim(mean_q, log_var_q, mean_p, log_var_p), axis=-1)


def gaussian_log_prob(x, mean, log_var) -> jax.Array:
    """log N(x; mean, diag(exp(log_var))) summed over the last axis.

    A fixed-variance decoder passes a constant log_var; a learned one passes its output.
    """
    return jnp.sum(-0.5 * (_LOG_2PI + log_var + jnp.square(x - mean) * jnp.exp(-log_var)), -1)


def bernoulli_log_prob(x, logits) -> jax.Array:
    """log Bernoulli(x; sigmoid(logits)) summed over the last axis; x may be in [0, 1]."""
    # distrax's Bernoulli uses the stable log-sigmoid form and accepts continuous x.
    return jnp.sum(distrax.Bernoulli(logits=logits).log_prob(x), axis=-1)


def decoder_log_prob(x, decoder_params: dict) -> jax.Array:
    """log p(x | z, y) for either decoder output: {'logits'} or {'mean', 'log_var'}."""
    if "logits" in decoder_params:
        return bernoulli_log_prob(x, decoder_params["logits"])
    return gaussian_log_prob(x, decoder_params["mean"], decoder_params["log_var"])


def decoder_mean(decoder_params: dict) -> jax.Array:
    """E[x | z, y]: the reconstruction used for squared errors and figures."""
    if "logits" in decoder_params:
        return jax.nn.sigmoid(decoder_params["logits"])
    return decoder_params["mean"]


def decoder_sample(key, decoder_params: dict) -> jax.Array:
    """x ~ p(x | z, y)."""
    if "logits" in decoder_params:
        return jax.random.bernoulli(key, jax.nn.sigmoid(decoder_params["logits"])).astype(
            jnp.float32
        )
    return reparameterize(key, decoder_params["mean"], decoder_params["log_var"])
