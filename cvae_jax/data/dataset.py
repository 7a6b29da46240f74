"""In-memory (x, y) data sets: the Dataset type, its validation, minibatches and splits.

x is float32 [N, D]. y is either integer class labels [N] (the model one-hot encodes
them) or a float condition [N, C] (Le's continuous c, the observed pixels of Sohn et al.).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cvae_jax import checks
from cvae_jax.errors import DataError


class Dataset(NamedTuple):
    x: np.ndarray  # [N, D]
    y: np.ndarray  # [N] int labels or [N, C] float condition


def without_condition(data: Dataset) -> Dataset:
    """The same x with an empty condition y [N, 0]: an unconditional VAE, same modules.

    Train it with `data.num_classes=0` and the `standard` prior: every network then sees a
    zero-width condition and p(z|y) = p(z) = N(0, I) (Kingma and Welling 2014).
    """
    x = np.asarray(data.x)
    return Dataset(x, np.zeros((x.shape[0], 0), np.float32))


def validate_dataset(data: Dataset, input_dim: int | None = None, num_classes: int = 0) -> None:
    """Raises DataError naming the problem if `data` cannot be trained on as configured."""
    x, y = np.asarray(data.x), np.asarray(data.y)
    if x.ndim != 2:
        raise DataError(f"x must have shape [N, D]; got {x.shape}. Flatten images first.")
    if input_dim is not None and x.shape[1] != input_dim:
        raise DataError(f"x has dimension {x.shape[1]} but the model expects {input_dim}.")
    if y.shape[0] != x.shape[0]:
        raise DataError(f"x has {x.shape[0]} examples but y has {y.shape[0]}.")
    if not np.all(np.isfinite(x)):
        raise DataError("x contains NaN or inf; clean the data before training.")
    if num_classes:
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"y must be integer labels of shape [N]; got {y.dtype} {y.shape}.")
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise DataError(
                f"labels must lie in [0, {num_classes - 1}] for num_classes={num_classes}; "
                f"found range [{y.min()}, {y.max()}]. Raise data.num_classes or fix the labels."
            )
    elif not np.issubdtype(y.dtype, np.floating):
        raise DataError("y holds integers but num_classes is 0: set data.num_classes.")


def sample_batch(key: jax.Array, data: Dataset, batch_size: int) -> Dataset:
    """A minibatch drawn uniformly with replacement, on device; depends only on `key`."""
    idx = jax.random.randint(key, (batch_size,), 0, data.x.shape[0])
    return Dataset(data.x[idx], data.y[idx])


class Splits(NamedTuple):
    """A data set's training and test parts; image_shape is (H, W) for images, else None."""

    train: Dataset
    test: Dataset | None
    image_shape: tuple[int, int] | None = None


def split(data: Dataset, test_fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """A random train/test split that depends only on `seed`."""
    checks.in_range("data.test_fraction", test_fraction)
    order = np.random.default_rng(seed).permutation(data.x.shape[0])
    num_test = int(round(test_fraction * len(order)))
    if not 0 < num_test < len(order):
        raise DataError(
            f"data.test_fraction={test_fraction} of {len(order)} examples leaves {num_test} "
            "for the test set; it needs at least one example in each part: set it in (0, 1)."
        )
    test, train = order[:num_test], order[num_test:]
    return Dataset(data.x[train], data.y[train]), Dataset(data.x[test], data.y[test])


def in_batches(fn, x, y, batch_size: int, key=None):
    """fn(x_b, y_b) -> dict of [b] arrays, applied with lax.map over padded batches; [N] out.

    With a `key`, fn(key_b, x_b, y_b) gets a key of its own per batch (split from `key`), so
    a sampling estimator's memory is bounded by a batch, not by the data set."""
    n = x.shape[0]
    num_batches = -(-n // batch_size)
    idx = jnp.arange(num_batches * batch_size) % n  # pad by wrapping; cut off below
    xb = x[idx].reshape(num_batches, batch_size, *x.shape[1:])
    yb = y[idx].reshape(num_batches, batch_size, *y.shape[1:])
    if key is None:
        out = jax.lax.map(lambda b: fn(*b), (xb, yb))
    else:
        out = jax.lax.map(
            lambda b: fn(b[2], b[0], b[1]), (xb, yb, jax.random.split(key, num_batches))
        )
    return jax.tree.map(lambda a: a.reshape(-1, *a.shape[2:])[:n], out)
