"""The checks that config validation and direct library calls share, one message each.

`config.validate` runs them on a whole config at the edge; a library function called
without a config (a sweep built by hand, a loss on arrays) runs the same one, so a bad value
gets the same message either way.
"""

import math

import numpy as np

from cvae_jax.errors import ConfigError

_POSITIVE_INT, _NON_NEGATIVE = "an integer >= 1", "a number >= 0"
_BETA = (lambda v: math.isfinite(v) and v >= 0, "finite and >= 0 (beta weights the rate)")


def is_count(value) -> bool:
    """A number of steps: an integer >= 0 (a grid axis holds it as a float)."""
    return value >= 0 and float(value).is_integer()


_WIDTHS = (
    lambda v: len(v) >= 1 and all(int(w) == w >= 1 for w in v),
    "a non-empty list of widths >= 1",
)
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
    "objective.capacity_steps": (is_count, "an integer >= 0 (0: C from the first step)"),
    "objective.kl_warmup_steps": (is_count, "an integer >= 0 (0: no warm-up)"),
    "objective.hybrid_alpha": (lambda v: 0 <= v <= 1, "a weight in [0, 1] (1: the cVAE loss)"),
    "objective.iwae_samples": (lambda v: v >= 1, "an integer >= 1 (1: the ELBO)"),
    "model.prior_components": (lambda v: v >= 1, _POSITIVE_INT),
    "model.flow_steps": (lambda v: v >= 1, _POSITIVE_INT),
    "model.flow_hidden": _WIDTHS,
    "model.upper_hidden": _WIDTHS,
    "model.latent_dims": (
        lambda v: all(int(w) == w >= 1 for w in v),
        "a list of layer sizes, each >= 1 (model.kind='hierarchical')",
    ),  # fmt: skip
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
    "model.decoder_window": (lambda v: v >= 0, "an integer >= 0 (0: a factorised decoder)"),
    "model.codebook_size": (lambda v: v >= 2, "an integer >= 2 (codes to choose between)"),
    "model.code_dim": (lambda v: v >= 1, _POSITIVE_INT),
    "model.code_prior_hidden": (lambda v: v >= 1, _POSITIVE_INT),
    "model.ema_decay": (lambda v: 0 <= v < 1, "a decay in [0, 1)"),
    "model.codebook_restart": (lambda v: v >= 0, "vectors per step >= 0 (0: no restarts)"),
    "objective.commitment": (lambda v: v >= 0, _NON_NEGATIVE),
    "model.decoder_layers": (lambda v: v >= 1, _POSITIVE_INT),
    "model.decoder_channels": (lambda v: v >= 1, _POSITIVE_INT),
    "training.eval_every": (lambda v: v >= 0, "an integer >= 0 (0: no validation)"),
    "training.patience": (lambda v: v >= 0, "an integer >= 0 (0: never stop early)"),
    "data.validation_examples": (lambda v: v >= 0, "an integer >= 0 (0: none)"),
    "data.test_fraction": (lambda v: 0 <= v < 1, "a fraction in [0, 1) (0: no test set)"),
    "data.max_train_examples": (lambda v: v >= 0, "an integer >= 0 (0: all)"),
}


def _is_number(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def number_list(label: str, values, ok=lambda v: True, allowed: str = "") -> np.ndarray:
    """`values` as float32 [n]: a non-empty list of numbers, each passing `ok`."""
    flat = np.asarray(values, dtype=object).ravel()
    listed = isinstance(values, list | tuple | np.ndarray)
    if not listed or flat.size == 0 or not all(_is_number(v) for v in flat):
        raise ConfigError(f"{label} must be a non-empty list of numbers; got {values!r}.")
    if not all(ok(float(v)) for v in flat):
        raise ConfigError(f"{label} must be {allowed}; got {tuple(flat.tolist())}.")
    return flat.astype(np.float64).astype(np.float32)


def betas(values) -> np.ndarray:
    """sweep.betas as float32 [H]: a non-empty list of finite numbers >= 0."""
    return number_list("sweep.betas", values, *_BETA)


def grid_axis(name: str, key: str, values) -> np.ndarray:
    """sweep.grid.<name> as float32 [n]: every value allowed for `key`, the one-value setting."""
    ok, allowed = _BETA if name == "beta" else RANGES[key]
    return number_list(f"sweep.grid.{name}", values, ok, f"a list of values, each {allowed}")


def grid_names(names, allowed) -> None:
    for name in names:
        if name not in allowed:
            raise ConfigError(
                f"Unknown sweep.grid axis {name!r}; the names a sweep can vary are "
                f"{', '.join(allowed)}."
            )


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


def free_bits_groups(groups: int, rate_groups: int) -> None:
    """`groups` must divide the model's rate groups: model.latent_dim for a diagonal Gaussian
    against a Gaussian prior, the layers of a hierarchy, 1 for a Monte Carlo rate."""
    if rate_groups % groups:
        raise ConfigError(
            f"objective.free_bits_groups={groups} must divide the model's {rate_groups} rate "
            "groups (model.latent_dim for a Gaussian posterior and prior, one per layer of a "
            "hierarchy, 1 for any other family, whose rate is a Monte Carlo estimate)."
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
