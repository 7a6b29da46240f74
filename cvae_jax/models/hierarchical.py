"""Hierarchical VAEs: L stochastic layers (`model.kind='hierarchical'`, `model.latent_dims`).

Burda et al. (2016)'s model with L stochastic layers, conditioned on c everywhere:
  q(z_1..z_L | x, c) = q(z_1 | x, c) q(z_2 | z_1, c) ... q(z_L | z_{L-1}, c)    bottom-up
  p(z_1..z_L | c)    = p(z_L | c) p(z_{L-1} | z_L, c) ... p(z_1 | z_2, c)       top-down
  p(x | z_1, c)
with diagonal-Gaussian conditionals (an MLP each) and p(z_L | c) any registered prior. The
latent is the concatenation z = (z_1, ..., z_L) [B, d_1 + ... + d_L]: q and p are
distributions over it (`BottomUp`, `TopDown`), so the IWAE bound, the rate split, the label
swaps and the sampling code need no change. The ELBO's rate is a sum of per-layer terms,
E_q[log q(z_l | z_{l-1}, c) - log p(z_l | z_{l+1}, c)] (`log_prob_parts`), so the rate comes
in one group per layer, and free bits per layer (Kingma et al. 2016) is free_bits_groups = L.
"""

from collections.abc import Sequence

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from cvae_jax.core.latents import DiagonalGaussian
from cvae_jax.models.cvae import CVAE
from cvae_jax.models.mlp import MLP, MLPDecoder, decoder_options
from cvae_jax.models.pure import pure
from cvae_jax.models.registry import MODELS, build_prior

LOG_VAR_BOUND = 8.0  # standard deviations between e^-4 (0.018) and e^4


class GaussianLayer(nn.Module):
    """N(mean(h, c), exp(log_var(h, c))): one stochastic layer's conditional.

    The log-variance is bounded to (-LOG_VAR_BOUND, LOG_VAR_BOUND) by a scaled tanh: layers
    feed each other's samples, and an unbounded exp compounds over layers at initialisation.
    """

    latent_dim: int
    hidden: Sequence[int] = (64,)
    activation: str = "relu"

    @nn.compact
    def __call__(self, h, c):
        h = MLP(self.hidden, self.activation)((h, c))
        mean = nn.Dense(self.latent_dim, name="mean")(h)
        raw = nn.Dense(self.latent_dim, name="log_var")(h)
        return DiagonalGaussian(mean, LOG_VAR_BOUND * jnp.tanh(raw / LOG_VAR_BOUND))


def _split(z, dims):
    return jnp.split(z, np.cumsum(dims)[:-1], axis=-1)


class BottomUp(distrax.Distribution):
    """q(z_1..z_L | x, c) over the concatenated z, sampled and scored layer by layer."""

    def __init__(self, layers, x, c, dims):
        self._layers, self._x, self._c, self._dims = tuple(layers), x, c, tuple(dims)

    @property
    def event_shape(self):
        return (sum(self._dims),)

    @property
    def batch_shape(self):
        return self._x.shape[:-1]

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """(d_1, ..., d_L): the layers' slices of the concatenated z, bottom-up."""
        return self._dims

    def _sample_n_and_log_prob(self, key, n: int):
        h = jnp.broadcast_to(self._x, (n, *self._x.shape))
        parts, log_probs = [], []
        for i, layer in enumerate(self._layers):
            h, log_q = layer(h, self._c).sample_and_log_prob(seed=jax.random.fold_in(key, i))
            parts.append(h)
            log_probs.append(log_q)
        return jnp.concatenate(parts, -1), sum(log_probs)

    def _sample_n(self, key, n: int):
        return self._sample_n_and_log_prob(key, n)[0]

    def log_prob_parts(self, z):
        """log q(z_l | z_{l-1}, c) for every layer l = 1..L: [..., L]."""
        zs = _split(z, self._dims)
        inputs = [self._x, *zs[:-1]]
        return jnp.stack(
            [
                f(h, self._c).log_prob(z_l)
                for f, h, z_l in zip(self._layers, inputs, zs, strict=True)
            ],
            -1,
        )

    def log_prob(self, z):
        return jnp.sum(self.log_prob_parts(z), -1)

    def centre(self):
        """The layers' means, each computed from the mean of the layer below."""
        h, means = self._x, []
        for layer in self._layers:
            h = layer(h, self._c).loc
            means.append(h)
        return jnp.concatenate(means, -1)


class TopDown(distrax.Distribution):
    """p(z_1..z_L | c) = p(z_L | c) prod_l p(z_l | z_{l+1}, c) over the concatenated z."""

    def __init__(self, top, layers, c, dims):
        # layers[l] gives p(z_{l+1} | z_{l+2}, c) for l = 0..L-2 (bottom layer first)
        self._top, self._layers, self._c, self._dims = top, tuple(layers), c, tuple(dims)

    @property
    def event_shape(self):
        return (sum(self._dims),)

    @property
    def batch_shape(self):
        return self._c.shape[:-1]

    def _sample_n(self, key, n: int):
        h = self._top.sample(seed=jax.random.fold_in(key, len(self._dims)), sample_shape=(n,))
        parts = [h]
        for i in reversed(range(len(self._layers))):
            h = self._layers[i](h, self._c).sample(seed=jax.random.fold_in(key, i))
            parts.insert(0, h)
        return jnp.concatenate(parts, -1)

    def log_prob_parts(self, z):
        """log p(z_l | z_{l+1}, c) for l = 1..L-1, then log p(z_L | c): [..., L]."""
        zs = _split(z, self._dims)
        parts = [f(zs[i + 1], self._c).log_prob(zs[i]) for i, f in enumerate(self._layers)]
        return jnp.stack([*parts, self._top.log_prob(zs[-1])], -1)

    def log_prob(self, z):
        return jnp.sum(self.log_prob_parts(z), -1)


class HierarchicalEncoder(nn.Module):
    """q(z_1 | x, c) with MLPs of `hidden`, q(z_l | z_{l-1}, c) with `upper_hidden` (None: the
    same)."""

    latent_dims: Sequence[int]
    hidden: Sequence[int] = (64,)
    activation: str = "relu"
    upper_hidden: Sequence[int] | None = None

    @nn.compact
    def __call__(self, x, c):
        inputs = [x]
        inputs += [jnp.zeros((*x.shape[:-1], d), x.dtype) for d in self.latent_dims[:-1]]
        upper = self.hidden if self.upper_hidden is None else self.upper_hidden
        layers = [
            pure(
                GaussianLayer(d, upper if i else self.hidden, self.activation, name=f"q_{i + 1}"),
                h,
                c,
            )
            for i, (d, h) in enumerate(zip(self.latent_dims, inputs, strict=True))
        ]
        return BottomUp(layers, x, c, self.latent_dims)


class HierarchicalPrior(nn.Module):
    latent_dims: Sequence[int]
    top: nn.Module  # p(z_L | c): any registered prior of size d_L
    hidden: Sequence[int] = (64,)
    activation: str = "relu"

    @nn.compact
    def __call__(self, c):
        dims = self.latent_dims
        layers = [
            pure(
                GaussianLayer(dims[i], self.hidden, self.activation, name=f"p_{i + 1}"),
                jnp.zeros((*c.shape[:-1], dims[i + 1]), c.dtype),
                c,
            )  # fmt: skip
            for i in range(len(dims) - 1)
        ]
        return TopDown(self.top(c), layers, c, dims)


class FirstLayerDecoder(nn.Module):
    """p(x | z_1, c): the decoder sees the bottom layer of the concatenated z only."""

    decoder: nn.Module
    first_dim: int

    def __call__(self, z, c):
        return self.decoder(z[..., : self.first_dim], c)


@MODELS.register("hierarchical", config_keys=("latent_dims", "upper_hidden"))
def build_hierarchical_cvae(config, data) -> CVAE:
    """Bottom-up inference and top-down generation over `model.latent_dims`, MLPs throughout:
    `model.hidden` between x and z_1 (q(z_1|x) and p(x|z_1)), `model.upper_hidden` (default
    the same) between stochastic layers, as Burda et al. (2016)'s 200-200 and 100-100."""
    m, num_classes = config.model, config.data.get("num_classes", 0)
    dims, hidden, act = tuple(int(d) for d in m.latent_dims), tuple(m.hidden), m.activation
    upper = tuple(m.get("upper_hidden", hidden))
    top_config = m.copy_and_resolve_references()
    top_config.latent_dim = dims[-1]
    prior = HierarchicalPrior(dims, build_prior(top_config, num_classes), upper, act)
    decoder = MLPDecoder(data.x.shape[1], hidden, act, **decoder_options(m))
    encoder = HierarchicalEncoder(dims, hidden, act, upper)
    return CVAE(encoder, FirstLayerDecoder(decoder, dims[0]), prior, num_classes)
