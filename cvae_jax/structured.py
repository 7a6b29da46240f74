"""Structured output prediction: the deterministic baseline and -log p(x|c) estimators.

Vocabulary as in the engine: c is what is observed (the cVAE's condition, `y` in its
arguments), x is what is predicted. The baseline maps c to Bernoulli logits for x. The
cVAE's conditional likelihood p(x|c) = E_{z ~ p(z|c)} p(x|z,c) is estimated as in Sohn et
al. (2015): z_k ~ p(z|c) from the prior network, -log (1/K) sum_k p(x|z_k,c).
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from cvae_jax import distributions as dist
from cvae_jax import models, objectives
from cvae_jax.data import Dataset
from cvae_jax.train import fit_supervised


class Baseline(nn.Module):
    """A deterministic network c -> logits of x (Sohn et al.'s baseline, an MLP here)."""

    output_dim: int
    hidden: Sequence[int] = (256,)

    @nn.compact
    def __call__(self, c):
        return nn.Dense(self.output_dim)(models.MLP(self.hidden)(c))


def baseline_nll(module, params, data: Dataset) -> jax.Array:
    """-log p(x|c) under independent Bernoullis with the baseline's logits, per example [N]."""
    return -dist.bernoulli_log_prob(data.x, module.apply(params, data.y))


def train_baseline(
    data: Dataset, hidden=(256,), num_steps: int = 2000, batch_size: int = 128,
    learning_rate: float = 1e-3, seed: int = 0,
):  # fmt: skip
    """Fits the baseline by cross-entropy with Adam in one jitted lax.scan; (module, params)."""
    module = Baseline(data.x.shape[1], tuple(hidden))
    init_key, train_key = jax.random.split(jax.random.key(seed))
    params = module.init(init_key, jnp.zeros((1, data.y.shape[1])))

    def loss_fn(params, batch):
        return jnp.mean(baseline_nll(module, params, batch))

    params = fit_supervised(loss_fn, params, data, train_key, num_steps, batch_size, learning_rate)
    return module, params


def prior_sampling_nll(key, model, params, x, c, num_samples: int) -> jax.Array:
    """-log (1/K) sum_k p(x|z_k,c), z_k ~ p(z|c) (the prior network), per example [B].

    Unbiased for p(x|c) inside the log, so the estimate of -log p(x|c) is biased upward
    (by Jensen) and falls towards the true value as K grows.
    """
    mean_p, log_var_p = model.apply(params, c, method=model.prior_params)  # [B, Dz]
    z = dist.reparameterize(key, jnp.broadcast_to(mean_p, (num_samples, *mean_p.shape)), log_var_p)

    def log_lik(z_k):  # [B]
        return dist.decoder_log_prob(x, model.apply(params, z_k, c, method=model.decode))

    log_liks = jax.lax.map(log_lik, z, batch_size=min(num_samples, 128))  # [K, B]
    return -(jax.nn.logsumexp(log_liks, axis=0) - jnp.log(num_samples))


def recognition_nll(key, model, params, x, c, num_samples: int) -> jax.Array:
    """-IWAE bound with q(z|x,c) as the proposal: an upper bound on -log p(x|c) [B]."""
    return -objectives.iwae_bound(key, model, params, x, c, num_samples)


def completions(key, model, params, c, num_samples: int) -> jax.Array:
    """Decoder means of x for z ~ p(z|c): several plausible completions per input [B, K, Dx]."""
    mean_p, log_var_p = model.apply(params, c, method=model.prior_params)
    z = dist.reparameterize(key, jnp.broadcast_to(mean_p, (num_samples, *mean_p.shape)), log_var_p)
    decode = lambda z_k: dist.decoder_mean(model.apply(params, z_k, c, method=model.decode))
    return jnp.swapaxes(jax.vmap(decode)(z), 0, 1)
