"""Quadrant masking for structured output prediction (Sohn et al. 2015).

An image is cut into four quadrants; 1, 2 or 3 of them are observed and the rest is to be
predicted. Observation order, as in the Pyro tutorial's reproduction of Sohn et al.:
bottom-left, then top-left (2 = the left half), then top-right (3 = all but the
bottom-right quadrant). Until 2026-11-27 the third was the bottom-right quadrant (predict
the top-right), so 3-quadrant numbers measured before then answer another question; that
order is `quadrant_order=((1, 0), (0, 0), (1, 1), (0, 1))`.

In this codebase's vocabulary the cVAE's condition (its `y`) is the observed pixels and its
`x` is the unobserved pixels, so `observed_split` turns an image Dataset into exactly that.
"""

import numpy as np

from cvae_jax.data.dataset import Dataset
from cvae_jax.errors import ConfigError, DataError

# (row half, column half) of each quadrant in the order they become observed: the default of
# the study's `quadrant_order` key, which config.json and the checkpoints' fingerprint record.
QUADRANT_ORDER = ((1, 0), (0, 0), (0, 1), (1, 1))


def check_order(order) -> None:
    """ConfigError unless `order` lists the four quadrants (row half, column half) once each."""
    if sorted(tuple(q) for q in order) != sorted(QUADRANT_ORDER):
        raise ConfigError(
            f"quadrant_order={tuple(map(tuple, order))} must list the four quadrants "
            f"(row half, column half) once each, e.g. {QUADRANT_ORDER}."
        )


def observed_mask(image_shape, num_observed: int, order=QUADRANT_ORDER) -> np.ndarray:
    """Boolean [H*W]: True on the pixels of the first `num_observed` quadrants of `order`."""
    check_order(order)
    if not 1 <= num_observed <= 3:
        raise ConfigError(
            f"num_observed must be 1, 2 or 3 quadrants; got {num_observed}. Set "
            "--config.variants to observed-quadrant counts among (1, 2, 3)."
        )
    h, w = image_shape
    if h % 2 or w % 2:
        raise DataError(f"quadrants need even image sides; got {image_shape}.")
    mask = np.zeros((h, w), bool)
    for row, col in order[:num_observed]:
        mask[row * h // 2 : (row + 1) * h // 2, col * w // 2 : (col + 1) * w // 2] = True
    return mask.reshape(-1)


def observed_split(images: np.ndarray, mask: np.ndarray) -> Dataset:
    """Dataset(x = unobserved pixels [N, Du], y = observed pixels [N, Do]) from [N, H*W]."""
    images = np.asarray(images, np.float32)
    return Dataset(images[:, ~mask], images[:, mask])


def assemble(observed, unobserved, mask: np.ndarray) -> np.ndarray:
    """The full images [..., H*W] from their observed [..., Do] and unobserved [..., Du] parts."""
    observed, unobserved = np.asarray(observed), np.asarray(unobserved)
    lead = np.broadcast_shapes(observed.shape[:-1], unobserved.shape[:-1])
    out = np.zeros(lead + mask.shape, np.float32)
    out[..., mask] = np.broadcast_to(observed, lead + observed.shape[-1:])
    out[..., ~mask] = np.broadcast_to(unobserved, lead + unobserved.shape[-1:])
    return out
