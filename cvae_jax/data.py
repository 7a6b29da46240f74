"""In-memory (x, y) data sets, their validation, and minibatches drawn on device by key.

x is float32 [N, D]. y is either integer class labels [N] (the model one-hot encodes
them) or a float condition [N, C] (seed 001's continuous c, seed 003's observed pixels).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

# Seed 000 section 3: p(x|y) = N(TOY_MEANS[y], 2 I), p(y=0) = p(y=1) = 1/2.
TOY_MEANS = np.array([[-2.5, 1.0], [6.0, -2.0]], np.float32)
TOY_VARIANCE = 2.0


class Dataset(NamedTuple):
    x: np.ndarray  # [N, D]
    y: np.ndarray  # [N] int labels or [N, C] float condition


def validate_dataset(data: Dataset, input_dim: int | None = None, num_classes: int = 0) -> None:
    """Raises ValueError naming the problem if `data` cannot be trained on as configured."""
    x, y = np.asarray(data.x), np.asarray(data.y)
    if x.ndim != 2:
        raise ValueError(f"x must have shape [N, D]; got {x.shape}. Flatten images first.")
    if input_dim is not None and x.shape[1] != input_dim:
        raise ValueError(f"x has dimension {x.shape[1]} but the model expects {input_dim}.")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"x has {x.shape[0]} examples but y has {y.shape[0]}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or inf; clean the data before training.")
    if num_classes:
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y must be integer labels of shape [N]; got {y.dtype} {y.shape}.")
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(
                f"labels must lie in [0, {num_classes - 1}] for num_classes={num_classes}; "
                f"found range [{y.min()}, {y.max()}]. Raise data.num_classes or fix the labels."
            )
    elif not np.issubdtype(y.dtype, np.floating):
        raise ValueError("y holds integers but num_classes is 0: set data.num_classes.")


def two_gaussians(seed: int, num_examples: int) -> Dataset:
    """The two-cluster toy data set of seed 000 section 3 (equal class probabilities)."""
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
    """Seed 001: c ~ N(0, c_std^2), z ~ N(mu0 + c, sigma0^2), x ~ N(z, sigma^2); 1-D x and c."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(num_examples, 1)) * c_std
    z = mu0 + c + sigma0 * rng.normal(size=(num_examples, 1))
    x = z + sigma * rng.normal(size=(num_examples, 1))
    return Dataset(x.astype(np.float32), c.astype(np.float32))


def load_dataset(data_config) -> Dataset:
    """The data set named by `data_config.name`."""
    name = data_config.name
    if name == "two_gaussians":
        return two_gaussians(data_config.seed, data_config.num_examples)
    if name == "gaussian_mean":
        d = data_config
        return gaussian_unknown_mean(d.seed, d.num_examples, d.mu0, d.sigma0, d.sigma, d.c_std)
    if name == "npz":  # any (x, y) file at data.path, see npz_data.py
        from cvae_jax import npz_data  # imports Dataset from here

        return npz_data.load(data_config)
    from cvae_jax import image_data  # imports Dataset from here

    if name in image_data.IMAGE_DATASETS:  # the training split; load_splits gives both
        return image_data.load_splits(data_config).train
    raise ValueError(
        f"Unknown data set {name!r}; choose 'two_gaussians', 'gaussian_mean', 'npz' (your own "
        f"x/y arrays at data.path) or one of {image_data.IMAGE_DATASETS}."
    )


def sample_batch(key: jax.Array, data: Dataset, batch_size: int) -> Dataset:
    """A minibatch drawn uniformly with replacement, on device; depends only on `key`."""
    idx = jax.random.randint(key, (batch_size,), 0, data.x.shape[0])
    return Dataset(data.x[idx], data.y[idx])
