"""Checks a config before anything is built or compiled: unknown keys, types and values.

Every failure raises `ConfigError` (a ValueError) naming the key, what it holds and what is
allowed. `validate(config)` needs only the config; `validate_with_data(config, data)` adds the
checks that need the data (batch size, label range). `runner.build_setup` calls both; launchers
call `validate` through `workdir.prepare` before anything is compiled.

Known keys are those of `configs/base.py` plus `EXTRA_KEYS`. The sections `training`, `sweep`
and `objective` are checked strictly, and so are `model` and `data` when their `kind` / `name`
is listed in EXTRA_KEYS (a data set or model kind added elsewhere is not key-checked until it
is listed there). A config that adds keys to a checked section registers them, for example
    config_validation.EXTRA_KEYS["sweep"] = {"priors"}
Top-level keys (an experiment's own constants) are never rejected.
"""

import math

import numpy as np

from configs.base import base_config


class ConfigError(ValueError):
    """A config key holds a value the code cannot run with."""


STRICT_SECTIONS = ("training", "sweep", "objective")
# Keys beyond configs/base.py, per section and per model kind / data set name.
EXTRA_KEYS: dict[str, set[str]] = {"training": set(), "sweep": set(), "objective": set()}
MODEL_KIND_KEYS: dict[str, set[str]] = {
    "mlp": set(),
    "gaussian_mean": set(),
    # The image configs carry both kinds' keys, so --config.model.kind can switch between them.
    "conv": {"conv_channels"},
    "image_mlp": {"conv_channels"},
}
_IMAGE_DATA_KEYS = {"path", "binarize", "max_train_examples", "test_fraction"}
DATA_NAME_KEYS: dict[str, set[str]] = {
    "two_gaussians": set(),
    "gaussian_mean": {"mu0", "sigma0", "sigma", "c_std"},
    "npz": {"path"},
    "digits": _IMAGE_DATA_KEYS,
    "mnist": _IMAGE_DATA_KEYS,
    "fashion_mnist": _IMAGE_DATA_KEYS,
}

_POSITIVE_INT, _NON_NEGATIVE = "an integer >= 1", "a number >= 0"
# key -> (predicate, what is allowed). Types are checked first, against configs/base.py.
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
}


def _choices() -> dict[str, tuple[str, ...]]:
    from cvae_jax import models, runner  # imported late: runner imports this module

    return {
        "model.kind": runner.MODEL_KINDS,
        "model.prior": models.PRIORS,
        "model.likelihood": ("gaussian", "bernoulli"),
        "model.decoder_variance": ("fixed", "per_dim", "per_example"),
        "training.lr_schedule": ("constant", "cosine"),
        "training.on_nonfinite": ("freeze", "raise"),
    }


def validate(config) -> None:
    """Raises ConfigError for the first unknown key, wrong type or impossible value."""
    _check_keys(config)
    _check_types(config)
    for key, allowed in _choices().items():
        value = _get(config, key)
        if value is not None and value not in allowed:
            name = key.split(".")[-1].replace("_", " ")
            raise ConfigError(
                f"{key}: Unknown {name} {value!r}; choose one of {', '.join(allowed)}."
            )
    for key, (ok, allowed) in RANGES.items():
        value = _get(config, key)
        if value is not None and not ok(value):
            raise ConfigError(f"{key}={value!r} is not allowed; it must be {allowed}.")
    _check_betas(config.sweep.betas)
    _check_cross_keys(config)


def validate_with_data(config, data) -> None:
    """The checks that need the data: its shapes and labels, and the batch size."""
    from cvae_jax.data import validate_dataset

    validate_dataset(data, num_classes=config.data.get("num_classes", 0))
    num_examples = np.shape(data.x)[0]
    if config.training.batch_size > num_examples:
        raise ConfigError(
            f"training.batch_size={config.training.batch_size} exceeds the {num_examples} "
            f"training examples; it must be in [1, {num_examples}]."
        )


def _get(config, dotted: str):
    section, key = dotted.split(".")
    return config[section].get(key) if section in config else None


def _check_keys(config) -> None:
    reference = base_config()
    sections = {name: EXTRA_KEYS[name] for name in STRICT_SECTIONS}
    if config.model.get("kind") in MODEL_KIND_KEYS:
        sections["model"] = MODEL_KIND_KEYS[config.model.kind]
    if config.data.get("name") in DATA_NAME_KEYS:
        sections["data"] = DATA_NAME_KEYS[config.data.name]
    for section, extra in sections.items():
        known = set(reference[section].keys()) | extra
        for key in config[section].keys():
            if key not in known:
                raise ConfigError(
                    f"Unknown config key {section}.{key}; known keys of {section}: "
                    f"{', '.join(sorted(known))}. Fix the spelling, or register a new key in "
                    "cvae_jax.config_validation.EXTRA_KEYS."
                )


def _type_name(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | np.integer):
        return "int"
    if isinstance(value, float | np.floating):
        return "float"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


_ACCEPTS = {"float": ("float", "int"), "int": ("int",), "bool": ("bool",), "str": ("str",)}


def _check_types(config) -> None:
    reference = base_config()
    for section in reference.keys():
        for key, default in reference[section].items():
            value = config[section].get(key) if section in config else None
            if default is None or value is None:
                continue
            expected = _type_name(default)
            if _type_name(value) not in _ACCEPTS.get(expected, (expected,)):
                raise ConfigError(
                    f"{section}.{key}={value!r} has type {_type_name(value)}; it must be "
                    f"{expected} (like the default {default!r})."
                )


def _check_betas(betas) -> None:
    values = np.asarray(betas, dtype=object).ravel()
    if values.size == 0 or not all(_type_name(b) in ("int", "float") for b in values):
        raise ConfigError(f"sweep.betas must be a non-empty list of numbers; got {betas!r}.")
    values = values.astype(np.float64)
    if np.any(~np.isfinite(values)) or np.any(values < 0):
        raise ConfigError(
            f"sweep.betas must be finite and >= 0 (beta weights the rate); got {tuple(betas)}."
        )


def _check_cross_keys(config) -> None:
    t = config.training
    if t.num_steps % t.log_every:
        raise ConfigError(
            f"training.num_steps={t.num_steps} must be a multiple of training.log_every="
            f"{t.log_every} so that every chunk has the same length and the sweep compiles once."
        )
    if t.checkpoint_every % t.log_every:
        raise ConfigError(
            f"training.checkpoint_every={t.checkpoint_every} must be a multiple of "
            f"training.log_every={t.log_every} (checkpoints are written between chunks), or 0."
        )
    m, groups = config.model, config.objective.free_bits_groups
    if m.kind == "mlp" and m.latent_dim % groups:
        raise ConfigError(
            f"objective.free_bits_groups={groups} must divide model.latent_dim={m.latent_dim}."
        )
