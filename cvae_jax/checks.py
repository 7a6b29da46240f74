"""The checks that config validation and direct library calls share, one message each.

`config.validate` runs them on a whole config at the edge; a library function called
without a config (a sweep built by hand, a loss on arrays) runs the same one, so a bad value
gets the same message either way.
"""

import numpy as np

from cvae_jax.errors import ConfigError


def _is_number(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def betas(values) -> np.ndarray:
    """sweep.betas as float32 [H]: a non-empty list of finite numbers >= 0."""
    flat = np.asarray(values, dtype=object).ravel()
    if flat.size == 0 or not all(_is_number(b) for b in flat):
        raise ConfigError(f"sweep.betas must be a non-empty list of numbers; got {values!r}.")
    floats = flat.astype(np.float64)
    if np.any(~np.isfinite(floats)) or np.any(floats < 0):
        raise ConfigError(
            f"sweep.betas must be finite and >= 0 (beta weights the rate); got {tuple(values)}."
        )
    return floats.astype(np.float32)


def non_negative(key: str, value) -> float:
    if not value >= 0:
        raise ConfigError(f"{key}={value!r} is not allowed; it must be a number >= 0.")
    return float(value)


def chunking(num_steps: int, log_every: int) -> None:
    if num_steps % log_every:
        raise ConfigError(
            f"training.num_steps={num_steps} must be a multiple of training.log_every="
            f"{log_every} so that every chunk has the same length and the sweep compiles once."
        )


def free_bits_groups(groups: int, latent_dim: int) -> None:
    if latent_dim % groups:
        raise ConfigError(
            f"objective.free_bits_groups={groups} must divide model.latent_dim={latent_dim}."
        )


def choice(key: str, value, allowed) -> None:
    if value not in allowed:
        name = key.split(".")[-1].replace("_", " ")
        raise ConfigError(f"{key}: Unknown {name} {value!r}; choose one of {', '.join(allowed)}.")


def batch_size(size: int, num_examples: int) -> None:
    if not 1 <= size <= num_examples:
        raise ConfigError(
            f"training.batch_size={size} exceeds the {num_examples} training examples; it must "
            f"be in [1, {num_examples}]."
        )
