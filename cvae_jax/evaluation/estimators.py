"""Importance-sampling estimators of log p(x|y), and the batching every evaluator shares.

Vocabulary as in the engine: y (or c) is the condition, x what is modelled. Both estimators
average K importance weights in log space with one helper, `log_mean_exp_over_samples`,
which maps over blocks of samples so memory stays bounded for large K.
"""

from functools import partial

import jax
import jax.numpy as jnp

from cvae_jax.core import distributions as dist
from cvae_jax.core import latents
from cvae_jax.data.dataset import in_batches  # noqa: F401  (re-exported: every evaluator's batching)
from cvae_jax.models import masked
from cvae_jax.models.cvae import reads_x

SAMPLE_BLOCK = 128  # samples whose log weights are computed at once


def over_members(fn):
    """vmap over the leading [S, H] axes of the first argument (the parameters) only."""
    return jax.vmap(jax.vmap(fn))


def evaluate_members(member, params, *data):
    """member(p, *data) for every member of `params` ([S, H, ...] leaves) in one jitted call,
    on the host. The data are arguments of the compiled function, not constants: XLA folds
    computations on constants at compile time (seconds for the batching gather of 10,000
    test images) and keeps them in the program."""
    return members_evaluator(member)(params, *data)


def members_evaluator(member):
    """`evaluate_members` as a function of (params, *data), compiled on its first call and
    reused by the next ones (a measurement repeated during training compiles once)."""
    every = jax.jit(lambda p, *d: over_members(lambda q: member(q, *d))(p))
    return lambda params, *data: jax.device_get(every(params, *(jnp.asarray(a) for a in data)))


def log_mean_exp_over_samples(log_weight, z):
    """log (1/K) sum_k exp(log_weight(z[k])) per example, for samples z [K, B, Dz] -> [B]
    (z may be a pytree of such arrays, e.g. the latents with their log q)."""
    num_samples = jax.tree.leaves(z)[0].shape[0]
    log_weights = jax.lax.map(log_weight, z, batch_size=min(num_samples, SAMPLE_BLOCK))  # [K, B]
    return jax.nn.logsumexp(log_weights, axis=0) - jnp.log(num_samples)


def log_mean_exp_of_draws(key, sample, log_weight, num_samples: int):
    """log (1/K) sum_k exp(log_weight(z_k)) per example [B], z_k drawn by `sample(key, n)`.

    The K draws are made SAMPLE_BLOCK at a time (each block its own key), so memory holds one
    block of latents and the K x B log weights, whatever K is (k = 5,000 on MNIST). K up to
    one block draws all at once with `key` itself.
    """
    if num_samples <= SAMPLE_BLOCK:
        return log_mean_exp_over_samples(log_weight, sample(key, num_samples))
    num_blocks = -(-num_samples // SAMPLE_BLOCK)
    keys = jax.random.split(key, num_blocks)

    def block(k):  # [blk, B]
        return jax.lax.map(log_weight, sample(k, SAMPLE_BLOCK), batch_size=SAMPLE_BLOCK)

    log_weights = jax.lax.map(block, keys)  # [n, blk, B]
    log_weights = log_weights.reshape(num_blocks * SAMPLE_BLOCK, -1)[:num_samples]  # [K, B]
    return jax.nn.logsumexp(log_weights, axis=0) - jnp.log(num_samples)


def _log_likelihood(model, params, x, y):
    """z_k [B, Dz] -> log p(x|z_k,y) [B]: the decoder term every estimator averages."""
    return lambda z_k: dist.decoder_log_prob(x, model.apply(params, z_k, y, x, method=model.decode))


def iwae_bound(key, model, params, x, y, num_samples: int):
    """Importance-weighted bound on log p(x | y) with K = num_samples, per example [B].

    log (1/K) sum_k p(x|z_k,y) p(z_k|y) / q(z_k|x,y), z_k ~ q(z|x,y); K = 1 is the ELBO
    in expectation and the bound rises to log p(x|y) as K grows (Burda et al. 2016).
    q and p are any distributions the model returns. log q(z_k) comes with each draw
    (`sample_and_log_prob`): a flow posterior then runs forward only, where `log_prob` would
    invert it, one pass per latent dimension for an IAF (Kingma et al. 2016).
    """
    q = model.apply(params, x, y, method=model.encode)
    p = model.apply(params, y, method=model.prior_distribution)
    log_lik = _log_likelihood(model, params, x, y)

    def log_weight(draw_k):  # [B]
        z_k, log_q_k = draw_k
        return log_lik(z_k) + p.log_prob(z_k) - log_q_k

    def draw(key, n):  # ([n, B, Dz], [n, B])
        return q.sample_and_log_prob(seed=key, sample_shape=(n,))

    return log_mean_exp_of_draws(key, draw, log_weight, num_samples)


def prior_sampling_nll(key, model, params, x, c, num_samples: int) -> jax.Array:
    """-log (1/K) sum_k p(x|z_k,c), z_k ~ p(z|c) (the prior network), per example [B].

    Sohn et al. (2015)'s Monte Carlo estimate (section 3.1), which they note needs many
    samples; their importance-sampling estimate, z_k ~ q(z|x,c), is `recognition_nll`.
    Unbiased for p(x|c) inside the log, so the estimate of -log p(x|c) is biased upward (by
    Jensen) and falls towards the true value as K grows.
    """

    def draw(key, n):  # [n, B, Dz]
        return model.apply(params, c, key, n, method=model.prior_sample)

    return -log_mean_exp_of_draws(key, draw, _log_likelihood(model, params, x, c), num_samples)


def recognition_nll(key, model, params, x, c, num_samples: int) -> jax.Array:
    """-IWAE bound with q(z|x,c) as the proposal: an upper bound on -log p(x|c) [B].

    Sohn et al. (2015)'s importance-sampling estimate of the conditional likelihood (section
    3.1), the IWAE bound of Burda et al. (2016)."""
    return -iwae_bound(key, model, params, x, c, num_samples)


def elbo_nll(key, model, params, x, c, num_samples: int) -> jax.Array:
    """-ELBO with K = num_samples draws z_k ~ q(z|x,c), per example [B].

    -(1/K) sum_k log p(x|z_k,c) + KL(q(z|x,c) || p(z|c)), the KL in closed form where it
    exists (else the mean over the K draws of log q - log p): the estimator the Pyro CVAE
    tutorial reports for Sohn et al. (2015) (Trace_ELBO with 10 particles; its KL is
    sampled, with the same expectation). An upper bound on -log p(x|c).
    """
    q = model.apply(params, x, c, method=model.encode)
    p = model.apply(params, c, method=model.prior_distribution)
    z, log_q = q.sample_and_log_prob(seed=key, sample_shape=(num_samples,))  # [K, B, Dz]
    expected_log_lik = jnp.mean(jax.lax.map(_log_likelihood(model, params, x, c), z), axis=0)
    if latents.rate_is_closed_form(q, p):
        kl = jnp.sum(latents.rate_groups(q, p, z[0]), -1)  # [B]
    else:
        kl = jnp.mean(log_q - jax.lax.map(p.log_prob, z), axis=0)
    return kl - expected_log_lik


def decode_mean(model, params, z, y):
    """E[x | z, y] for latents z [..., B, Dz] (leading sample axes are vmapped).

    An autoregressive decoder has no closed-form mean: its image is the probabilities along
    its most probable path (each pixel set to 1 where p > 1/2), one compiled loop over pixels.
    """
    decode = lambda z_b: dist.decoder_mean(model.apply(params, z_b, y, method=model.decode))
    if reads_x(model):
        decode = partial(_most_probable_path, model, params, y=y)
    for _ in range(z.ndim - 2):
        decode = jax.vmap(decode)
    return decode(z)


def _most_probable_path(model, params, z, y):
    """p_i along x_i = 1[p_i > 1/2], pixel by pixel: the autoregressive decoder's image [B, D]."""
    logits = lambda x: model.apply(params, z, y, x, method=model.decode)["logits"]  # noqa: E731
    num_pixels = model.decoder.image_shape[0] * model.decoder.image_shape[1]
    half = jnp.full((z.shape[0], num_pixels), 0.5)
    return masked.sample_with_uniforms(half, logits).probs


def draw_images(key, model, params, z, y):
    """x ~ p(x | z, y) for latents z [B, Dz]: binary images [B, D] of a Bernoulli decoder.

    Factorised: one Bernoulli draw per pixel from the decoder's probabilities. Autoregressive:
    pixel by pixel in raster order, each drawn given those before it (one compiled loop).
    """
    if reads_x(model):
        logits = lambda x: model.apply(params, z, y, x, method=model.decode)["logits"]  # noqa: E731
        num_pixels = model.decoder.image_shape[0] * model.decoder.image_shape[1]
        return masked.sample(key, logits, (z.shape[0], num_pixels)).x
    probs = dist.decoder_mean(model.apply(params, z, y, method=model.decode))
    return jax.random.bernoulli(key, probs).astype(probs.dtype)


def completions(key, model, params, c, num_samples: int) -> jax.Array:
    """Decoder means of x for z ~ p(z|c): several plausible completions per input [B, K, Dx]."""
    z = model.apply(params, c, key, num_samples, method=model.prior_sample)  # [K, B, Dz]
    return jnp.swapaxes(decode_mean(model, params, z, c), 0, 1)
