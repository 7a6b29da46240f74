"""The priors p(z) and p(z|c): z independent of y, or dependent on it (Beckham, eq. 6 and 8).

  prior(c [B, C]) -> p(z|c), a `DiagonalGaussian` with batch [B] and event [Dz]
Each is registered under the name `model.prior` selects; richer priors (mixtures, the
VampPrior, a flow) are in `mixture_priors.py` and `flows.py`.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from cvae_jax.core.latents import DiagonalGaussian
from cvae_jax.errors import ConfigError
from cvae_jax.models.mlp import MLP
from cvae_jax.models.registry import PRIORS


class StandardPrior(nn.Module):
    """p(z) = N(0, I): z independent of y (Beckham eq. 6)."""

    latent_dim: int

    def __call__(self, c):
        zeros = jnp.zeros(c.shape[:-1] + (self.latent_dim,), c.dtype)
        return DiagonalGaussian(zeros, zeros)


class FixedConditionalPrior(nn.Module):
    """p(z | y) = N(means[y], diag(exp(log_vars[y]))), chosen a priori (Beckham sec. 3.2)."""

    means: Sequence[Sequence[float]]
    log_vars: Sequence[Sequence[float]]

    def __call__(self, c):
        means = jnp.asarray(self.means, c.dtype)
        log_vars = jnp.asarray(self.log_vars, c.dtype)
        return DiagonalGaussian(c @ means, c @ log_vars)  # c is one-hot: a table look-up


class LearnedConditionalPrior(nn.Module):
    """p_theta(z | y): a trainable mean and log-variance per class (the toy's four extra numbers)."""

    num_classes: int
    latent_dim: int

    @nn.compact
    def __call__(self, c):
        shape = (self.num_classes, self.latent_dim)
        means = self.param("means", nn.initializers.normal(1.0), shape)
        log_vars = self.param("log_vars", nn.initializers.zeros, shape)
        return DiagonalGaussian(c @ means, c @ log_vars)


class PriorNetwork(nn.Module):
    """p_theta(z | c): an MLP from a conditioning input to a Gaussian (Sohn et al. 2015)."""

    latent_dim: int
    hidden: Sequence[int] = (64,)
    activation: str = "relu"

    @nn.compact
    def __call__(self, c):
        h = MLP(self.hidden, self.activation)(c)
        mean = nn.Dense(self.latent_dim, name="mean")(h)
        return DiagonalGaussian(mean, nn.Dense(self.latent_dim, name="log_var")(h))


@PRIORS.register("standard")
def _standard(model_config, num_classes: int):
    return StandardPrior(model_config.latent_dim)


def _needs_labels(name: str, num_classes: int) -> None:
    if not num_classes:
        raise ConfigError(
            f"model.prior={name!r} needs integer class labels (data.num_classes > 0)."
        )


@PRIORS.register("fixed_conditional", config_keys=("prior_means", "prior_log_vars"))
def _fixed_conditional(model_config, num_classes: int):
    _needs_labels("fixed_conditional", num_classes)
    means = np.asarray(model_config.prior_means, np.float32)
    if means.shape != (num_classes, model_config.latent_dim):
        raise ConfigError(
            f"model.prior_means has shape {means.shape}; fixed_conditional needs one mean "
            f"per class: ({num_classes}, {model_config.latent_dim})."
        )
    log_vars = np.broadcast_to(np.asarray(model_config.prior_log_vars, np.float32), means.shape)
    return FixedConditionalPrior(
        tuple(map(tuple, means.tolist())), tuple(map(tuple, log_vars.tolist()))
    )


@PRIORS.register("learned_conditional")
def _learned_conditional(model_config, num_classes: int):
    _needs_labels("learned_conditional", num_classes)
    return LearnedConditionalPrior(num_classes, model_config.latent_dim)


@PRIORS.register("network")
def _network(model_config, num_classes: int):
    return PriorNetwork(
        model_config.latent_dim, tuple(model_config.hidden), model_config.activation
    )
