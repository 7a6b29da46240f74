"""The checks that config validation and direct library calls share, one message each.

`config.validate` runs them on a whole config at the edge; a library function called
without a config (a sweep built by hand, a loss on arrays) runs the same one, so a bad value
gets the same message either way.
"""

import math

import numpy as np

from cvae_jax.errors import ConfigError

_POSITIVE_INT, _NON_NEGATIVE = "an integer >= 1", "a number >= 0"
# key -> (predicate, what is allowed). config.validate checks the types first.
RANGES = {
    "data.num_examples": (lambda v: v >= 1, _POSITIVE_INT),
    "data.num_classes": (lambda v: v >= 0, "an integer >= 0 (0: a continuous condition)"),
    "model.latent_dim": (lambda v: v >= 1, _POSITIVE_INT),
    "model.hidden": (lambda v: all(int(w) == w >= 1 for w in v), "a list of widths >= 1"),
    "model.decoder_fixed_variance": (lambda v: v > 0, "a variance > 0"),
    "objective.free_bits": (lambda v: v >= 0, _NON_NEGATIVE),
    "objective.free_bits_groups": (lambda v: v >= 1, _POSITIVE_INT),
    "objective.capacity": (lambda v: v >= 0, _NON_NEGATIVE),
    "objective.capacity_gamma": (lambda v: v >= 0, _NON_NEGATIVE),
    "objective.kl_warmup_steps": (lambda v: v >= 0, "an integer >= 0 (0: no warm-up)"),
    "training.num_steps": (lambda v: v >= 1, _POSITIVE_INT),
    "training.batch_size": (lambda v: v >= 1, _POSITIVE_INT),
    "training.learning_rate": (lambda v: math.isfinite(v) and v > 0, "a finite number > 0"),
    "training.grad_clip_norm": (lambda v: v >= 0, "a number >= 0 (0: no clipping)"),
    "training.log_every": (lambda v: v >= 1, _POSITIVE_INT),
    "training.checkpoint_every": (lambda v: v >= 0, "an integer >= 0 (0: every log_every)"),
    "training.checkpoints_to_keep": (lambda v: v >= 1, _POSITIVE_INT),
    "sweep.num_seeds": (lambda v: v >= 1, _POSITIVE_INT),
    "sweep.seed": (lambda v: 0 <= v < 2**32 - 1, "an integer in [0, 2**32 - 1)"),
    "sweep.group_size": (lambda v: v >= 0, "an integer >= 0 (0: automatic)"),
    "sweep.max_members_per_call": (lambda v: v >= 0, "an integer >= 0 (0: automatic)"),
    "sweep.num_devices": (lambda v: v >= 0, "an integer >= 0 (0: all devices)"),
    # Physical constants of the Gaussian unknown-mean data (Le 2018).
    "data.sigma": (lambda v: v > 0, "a standard deviation > 0"),
    "data.sigma0": (lambda v: v > 0, "a standard deviation > 0"),
    "data.c_std": (lambda v: v >= 0, _NON_NEGATIVE),
    "data.test_fraction": (lambda v: 0 < v < 1, "a fraction in (0, 1)"),
    "data.max_train_examples": (lambda v: v >= 0, "an integer >= 0 (0: all)"),
}


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


def in_range(key: str, value):
    """`value` if RANGES allows it for `key`, else ConfigError naming the key and the range."""
    ok, allowed = RANGES[key]
    if not ok(value):
        raise ConfigError(f"{key}={value!r} is not allowed; it must be {allowed}.")
    return value


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
