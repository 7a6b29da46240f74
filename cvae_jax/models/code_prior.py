"""Priors over a VQ-VAE's discrete codes k = (k_1..k_P), k_i in {0..K-1}, given c.

  uniform(P, K, c)        p(k|c) = K^-P: the prior the VQ-VAE is trained against, whose
                          KL term is the constant P log K (van den Oord et al. 2017, sec. 3.1)
  AutoregressiveCodePrior p(k|c) = prod_i Categorical(k_i; softmax(f(k_<i, c))_i), the
                          learned prior that gives samples and a likelihood bound (the paper
                          fits a PixelCNN over the code grid; here the codes are a sequence
                          and f one causally masked dense layer, every k_<i in view)

Both are distrax distributions with batch [B] and event [P] over int32 code indices, so
the estimators and diagnostics score and draw them like any other prior. Drawing from the
autoregressive prior is one `fori_loop` over the P positions.
"""

from collections.abc import Callable

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from cvae_jax.models.mlp import activation_fn
from cvae_jax.models.pure import pure


def uniform(num_positions: int, codebook_size: int, c) -> distrax.Distribution:
    """p(k) = K^-P for every batch member of c [B, C]: batch [B], event [P]."""
    logits = jnp.zeros((*c.shape[:-1], num_positions, codebook_size), jnp.float32)
    return distrax.Independent(distrax.Categorical(logits=logits), 1)


class AutoregressiveCodes(distrax.Distribution):
    """prod_i Categorical(k_i; logits_fn(k)[..., i, :]), logits_fn causal in k (batch [B])."""

    def __init__(self, logits_fn: Callable, batch_shape: tuple, num_positions: int):
        self._logits_fn, self._batch_shape, self._num = logits_fn, tuple(batch_shape), num_positions

    @property
    def event_shape(self):
        return (self._num,)

    @property
    def batch_shape(self):
        return self._batch_shape

    def log_prob(self, value):
        log_probs = jax.nn.log_softmax(self._logits_fn(value))  # [..., P, K]
        picked = jnp.take_along_axis(log_probs, value.astype(jnp.int32)[..., None], -1)
        return jnp.sum(picked[..., 0], -1)

    def _sample_n(self, key, n: int):
        keys = jax.random.split(key, self._num)

        def step(i, codes):
            logits = jnp.take(self._logits_fn(codes), i, axis=-2)  # [n, B, K]
            return codes.at[..., i].set(jax.random.categorical(keys[i], logits).astype(codes.dtype))

        codes = jnp.zeros((n, *self._batch_shape, self._num), jnp.int32)
        return jax.lax.fori_loop(0, self._num, step, codes)


class CausalCodeNet(nn.Module):
    """logits [..., P, K] of p(k_i | k_<i, c) for code indices [..., P].

    The first layer reads the codes through a kernel [P, K, P, H] masked to j < i (a numpy
    constant, so masked weights are exact zeros), plus c; the later layers are per position,
    so logit i never sees k_j for j >= i at any depth. The layer is a dense layer on one-hot
    codes, computed as the gather of each code's row: the same numbers, while its gradient
    is a scatter into the kernel's own layout. (As a one-hot matrix product, XLA's CPU
    backend emitted the kernel's gradient transposed and read it across the cache in each
    of Adam's updates: 8.6 steps/s for the MNIST likelihood study's VQ row.)
    """

    num_positions: int
    codebook_size: int
    hidden: int = 64
    num_layers: int = 2
    activation: str = "relu"

    @nn.compact
    def __call__(self, codes, c):
        num, k, width = self.num_positions, self.codebook_size, self.hidden
        act = activation_fn(self.activation)
        causal = np.arange(num)[:, None] < np.arange(num)[None, :]  # [j, i]: j before i
        # lecun_normal of the [P K, P H] dense layer on one-hot codes that this layer is
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (num * k, num * width))
        kernel = kernel.reshape(num, k, num, width) * causal[:, None, :, None]
        rows = kernel[np.arange(num), codes.astype(jnp.int32)]  # [..., P (j), P (i), H]
        h = jnp.sum(rows, -3)  # [..., P, H]: sum_j W[j, k_j, i]
        if c.shape[-1]:  # an empty condition (an unconditional VAE) adds nothing
            h = h + nn.Dense(num * width, name="condition")(c).reshape(*c.shape[:-1], num, width)
        for i in range(self.num_layers - 1):
            h = nn.Dense(width, name=f"position_{i}")(act(h))
        return nn.Dense(k, name="logits")(act(h))


class AutoregressiveCodePrior(nn.Module):
    """p(k | c) as `AutoregressiveCodes` over a `CausalCodeNet` (module docstring)."""

    net: CausalCodeNet

    @nn.compact
    def __call__(self, c):
        num = self.net.num_positions
        logits_fn = pure(self.net, jnp.zeros((1, num), jnp.int32), c[:1])

        def logits_of_codes(codes):  # indices [..., P] -> [..., P, K]
            return logits_fn(codes, c)

        return AutoregressiveCodes(logits_of_codes, c.shape[:-1], num)


class UniformCodePrior(nn.Module):
    """p(k|c) = K^-P (`uniform`) as a prior module: no parameters."""

    num_positions: int
    codebook_size: int

    def __call__(self, c):
        return uniform(self.num_positions, self.codebook_size, c)
