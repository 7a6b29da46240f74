"""Synthetic data sets with known generative models: Beckham's two clusters and Le's
Gaussian unknown mean. Both are registered under their `data.name`."""

import jax.numpy as jnp
import numpy as np

from cvae_jax.data.dataset import Dataset, Splits
from cvae_jax.data.registry import DATASETS

# Beckham, section 3: p(x|y) = N(TOY_MEANS[y], 2 I), p(y=0) = p(y=1) = 1/2.
TOY_MEANS = np.array([[-2.5, 1.0], [6.0, -2.0]], np.float32)
TOY_VARIANCE = 2.0


def two_gaussians(seed: int, num_examples: int) -> Dataset:
    """The two-cluster toy data set of Beckham, section 3 (equal class probabilities)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=num_examples).astype(np.int32)
    noise = rng.normal(size=(num_examples, 2)) * np.sqrt(TOY_VARIANCE)
    return Dataset((TOY_MEANS[y] + noise).astype(np.float32), y)


def toy_log_density(x, y):
    """log p(x | y) of the true two-cluster mixture, per example (for scoring samples)."""
    mean = jnp.asarray(TOY_MEANS)[y]
    sq = jnp.sum(jnp.square(x - mean), -1)
    return -0.5 * sq / TOY_VARIANCE - jnp.log(2 * jnp.pi * TOY_VARIANCE)


def toy_bayes_label(x):
    """The Bayes classifier of the true mixture (equal priors, equal covariances)."""
    sq = jnp.sum(jnp.square(x[..., None, :] - jnp.asarray(TOY_MEANS)), -1)  # [..., 2]
    return jnp.argmin(sq, axis=-1)


def gaussian_unknown_mean(
    seed: int, num_examples: int, mu0: float, sigma0: float, sigma: float, c_std: float = 1.0
) -> Dataset:
    """Le (2018): c ~ N(0, c_std^2), z ~ N(mu0 + c, sigma0^2), x ~ N(z, sigma^2); 1-D x and c."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(num_examples, 1)) * c_std
    z = mu0 + c + sigma0 * rng.normal(size=(num_examples, 1))
    x = z + sigma * rng.normal(size=(num_examples, 1))
    return Dataset(x.astype(np.float32), c.astype(np.float32))


@DATASETS.register("two_gaussians")
def _load_two_gaussians(data_config) -> Splits:
    return Splits(two_gaussians(data_config.seed, data_config.num_examples), None)


@DATASETS.register("gaussian_mean", config_keys=("mu0", "sigma0", "sigma", "c_std"))
def _load_gaussian_mean(d) -> Splits:
    return Splits(
        gaussian_unknown_mean(d.seed, d.num_examples, d.mu0, d.sigma0, d.sigma, d.c_std), None
    )
