"""A config's defaults and its validation, in one place.

`base_config()` holds every key the library reads, with its default; each file in
`configs/` starts from it and overrides what differs. `validate(config)` checks a config
before anything is built or compiled: unknown keys, types and values, each failure a
`ConfigError` naming the key, what it holds and what is allowed. Allowed names (model kinds,
priors, data sets) and their extra keys come from the registries, never from lists kept here.
`validate_with_data` adds the checks that need the data (batch size, label range). `grid`
reads what a config trains: the values of every sweep axis, from `sweep.grid` or the axis's
own key.

The sections `training`, `sweep`, `objective`, `model` and `data` are checked strictly;
other top-level keys and sections (a study's `variants`, `evaluation`...) belong to the
study, which checks them itself.
"""

import ml_collections
import numpy as np
from absl import logging

from cvae_jax import checks
from cvae_jax.data import DATASETS, Dataset, validate_dataset
from cvae_jax.errors import ConfigError
from cvae_jax.models import DECODERS, MODELS, POSTERIORS, PRIORS
from cvae_jax.models.mixture_priors import PSEUDO_INPUTS
from cvae_jax.models.mlp import DECODER_VARIANCES, LIKELIHOODS
from cvae_jax.models.vq_cvae import CODE_PRIORS, CODEBOOK_UPDATES

LR_SCHEDULES = ("constant", "cosine", "burda")
# Every hyperparameter a sweep can vary, and the key holding its value when it is not swept.
# `sweep.grid.<name>` makes it an axis; the members are the Cartesian product of the axes
# (first name outermost) times the seeds, all trained in one compiled call.
GRID_AXES = {
    "beta": "sweep.betas",
    "free_bits": "objective.free_bits",
    "capacity": "objective.capacity",
    "capacity_gamma": "objective.capacity_gamma",
    "capacity_steps": "objective.capacity_steps",
    "kl_warmup_steps": "objective.kl_warmup_steps",
    "learning_rate": "training.learning_rate",
    "hybrid_alpha": "objective.hybrid_alpha",
    "commitment": "objective.commitment",
}
STEP_AXES = ("capacity_steps", "kl_warmup_steps")  # step counts: integer values
ON_NONFINITE = ("freeze", "raise")  # a diverged member: freeze it and go on, or stop
STRICT_SECTIONS = ("training", "sweep", "objective", "logging")
# The registries a config selects one entry of, by the key that selects it; an entry's
# `config_keys` are the keys of that section it reads beyond the common ones.
FAMILIES = {
    "model.kind": MODELS, "model.prior": PRIORS, "model.posterior": POSTERIORS,
    "model.decoder": DECODERS, "data.name": DATASETS,
}  # fmt: skip


def base_config() -> ml_collections.ConfigDict:
    """Every key the library reads, with its default."""
    config = ml_collections.ConfigDict()

    config.data = ml_collections.ConfigDict()
    config.data.name = "two_gaussians"
    config.data.seed = 0
    config.data.num_examples = 2000
    config.data.num_classes = 2
    config.data.path = ""  # data.name=npz (your own x, y arrays), mnist, fashion_mnist
    # Held out as the test set by data sets without one of their own (npz, digits); 0: none.
    config.data.test_fraction = 0.2
    config.data.validation_examples = 0  # the last N training examples, for training.eval_every

    config.model = ml_collections.ConfigDict()
    config.model.kind = "mlp"
    config.model.latent_dim = 2
    config.model.hidden = (64,)
    config.model.activation = "relu"
    config.model.prior = "standard"  # a name registered in models.PRIORS
    config.model.posterior = "gaussian"  # gaussian | iaf (models.POSTERIORS)
    # factorised | autoregressive (models.DECODERS; the MLP kinds): PixelCNN-style p(x|z,c)
    config.model.decoder = "factorised"
    config.model.prior_components = 10  # K of the mog and vamp priors
    config.model.pseudo_inputs = "grey"  # vamp: grey | tomczak (models/mixture_priors.py)
    config.model.flow_steps = 2  # autoregressive steps of the iaf posterior and flow prior
    config.model.flow_hidden = (64,)  # MADE hidden widths; the first is the IAF context size
    config.model.latent_dims = ()  # model.kind='hierarchical': (d_1, ..., d_L), bottom-up
    config.model.prior_means = ((-2.0, 0.0), (2.0, 0.0))  # fixed_conditional only
    config.model.prior_log_vars = ((0.0, 0.0), (0.0, 0.0))
    config.model.encoder_uses_label = True
    config.model.likelihood = "gaussian"  # gaussian | bernoulli | auto (from the data's range)
    config.model.decoder_variance = "fixed"  # fixed | per_dim | per_example
    config.model.decoder_fixed_variance = 1.0

    config.objective = ml_collections.ConfigDict()
    config.objective.free_bits = 0.0  # lambda, nats per group; 0 switches free bits off
    config.objective.free_bits_groups = 1
    config.objective.capacity = 0.0  # C (C_max with capacity_steps), nats
    config.objective.capacity_gamma = 0.0  # 0 switches the capacity term off
    config.objective.capacity_steps = 0  # C rises linearly from 0 over these steps; 0: fixed C
    config.objective.kl_warmup_steps = 0  # linear KL annealing of beta; 0 switches it off
    # Sohn et al.'s hybrid: alpha * cVAE + (1 - alpha) * GSNN (decoder trained on z ~ p(z|c))
    config.objective.hybrid_alpha = 1.0
    # k importance samples: the IWAE objective (Burda et al. 2016); 1 is the ELBO
    config.objective.iwae_samples = 1
    # VQ-VAE (model.kind='vq'): beta of the commitment term (van den Oord et al. 2017)
    config.objective.commitment = 0.25

    config.training = ml_collections.ConfigDict()
    config.training.num_steps = 5000
    config.training.batch_size = 256
    config.training.learning_rate = 1e-3
    config.training.lr_schedule = "constant"  # constant | cosine | burda
    config.training.grad_clip_norm = 0.0
    config.training.log_every = 500  # steps per compiled chunk; one log line each
    config.training.on_nonfinite = "freeze"  # freeze a diverged member and go on, or "raise"
    # With a workdir: a checkpoint every this many steps (a multiple of log_every; 0: every
    # chunk) and at the end; the newest few are kept. A rerun resumes from the newest.
    config.training.checkpoint_every = 0
    config.training.checkpoints_to_keep = 3
    # Model selection on the last data.validation_examples training examples: every
    # eval_every steps (a divisor of log_every) each member's validation -ELBO (-IWAE_k) is
    # computed and its best parameters kept; after `patience` evaluations without
    # improvement it stops (0: never), and training ends once every member has stopped.
    config.training.eval_every = 0
    config.training.patience = 0

    config.sweep = ml_collections.ConfigDict()
    config.sweep.betas = (0.0, 0.01, 1.0)
    config.sweep.num_seeds = 3
    config.sweep.seed = 0
    # Axes of the grid: sweep.grid.<name> = (v1, v2, ...) trains every combination of values.
    # An axis left at its default one value takes the key named in GRID_AXES (sweep.betas for
    # beta, objective.capacity for capacity...); set either, not both.
    config.sweep.grid = ml_collections.ConfigDict({"beta": (1.0,)})
    for name, key in GRID_AXES.items():
        if name != "beta":
            config.sweep.grid[name] = (value_at(config, key),)
    # How members are laid out (results do not depend on these; 0 means automatic):
    # members per cache-sized group (16 on CPU, all at once on accelerators), members per
    # compiled call (from device memory), devices the member axis is sharded over (all).
    config.sweep.group_size = 0
    config.sweep.max_members_per_call = 0
    config.sweep.num_devices = 0

    config.logging = ml_collections.ConfigDict()
    # Event files per member under <workdir>/tensorboard/ (needs the 'tensorboard' extra).
    config.logging.tensorboard = False
    return config


def classifier_config() -> ml_collections.ConfigDict:
    """The `classifier` section of the image studies: the MLP that judges samples."""
    return ml_collections.ConfigDict(
        {"hidden": (256,), "num_steps": 2000, "batch_size": 128, "learning_rate": 1e-3, "seed": 0}
    )


def _choices() -> dict[str, tuple[str, ...]]:
    return {
        "model.kind": MODELS.names(),
        "model.prior": PRIORS.names(),
        "model.posterior": POSTERIORS.names(),
        "model.decoder": DECODERS.names(),
        "data.name": DATASETS.names(),
        "model.likelihood": (*LIKELIHOODS, "auto"),
        "model.decoder_variance": DECODER_VARIANCES,
        "model.codebook_update": CODEBOOK_UPDATES,
        "model.code_prior": CODE_PRIORS,
        "model.pseudo_inputs": tuple(PSEUDO_INPUTS),
        "training.lr_schedule": LR_SCHEDULES,
        "training.on_nonfinite": ON_NONFINITE,
    }


def validate(config) -> None:
    """Raises ConfigError for the first unknown key, wrong type or impossible value."""
    for key, allowed in _choices().items():
        value = value_at(config, key)
        if value is not None:
            checks.choice(key, value, allowed)
    _check_keys(config)
    _check_types(config)
    for key in checks.RANGES:
        value = value_at(config, key)
        if value is not None:
            checks.in_range(key, value)
    checks.betas(config.sweep.betas)
    grid_config = config.sweep.get("grid") or {}
    checks.grid_names(grid_config.keys(), tuple(GRID_AXES))
    for name, values in grid(config).items():
        checks.grid_axis(name, GRID_AXES[name], values)
    _check_cross_keys(config)


def grid(config) -> dict[str, tuple]:
    """Every sweepable name's values: `sweep.grid.<name>` where it is set, else its own key.

    An axis is "set" when it differs from the base config's one-value default; it then
    overrides the key named in GRID_AXES (`grid_overrides` lists the keys it hides).
    """
    default = base_config().sweep.grid
    given = config["sweep"].get("grid") or {}
    values = {}
    for name, key in GRID_AXES.items():
        axis = tuple(given.get(name, default[name]))
        own = value_at(config, key)
        own = tuple(own) if name == "beta" else (own,)
        values[name] = axis if axis != tuple(default[name]) else own
    return values


def grid_overrides(config) -> list[str]:
    """The keys whose own value differs from the default but is hidden by a grid axis."""
    reference, resolved = base_config(), grid(config)
    return [
        key
        for name, key in GRID_AXES.items()
        if value_at(config, key) != value_at(reference, key)
        and resolved[name]
        != (tuple(value_at(config, key)) if name == "beta" else (value_at(config, key),))
    ]


def resolve_likelihood(config, data: Dataset):
    """`config` with `model.likelihood='auto'` resolved from the data: Bernoulli when every x
    lies in [0, 1] (pixels, binary data), Gaussian otherwise (logged); other values as set."""
    if config.model.likelihood != "auto":
        return config
    x = np.asarray(data.x)
    chosen = "bernoulli" if x.size and 0 <= x.min() and x.max() <= 1 else "gaussian"
    logging.info("model.likelihood=auto: %s (x lies in [%.3g, %.3g])", chosen, x.min(), x.max())
    config = config.copy_and_resolve_references()
    config.model.likelihood = chosen
    return config


def validate_with_data(config, data: Dataset) -> None:
    """The checks that need the data: its shapes and labels, and the batch size."""
    validate_dataset(data, num_classes=config.data.get("num_classes", 0))
    checks.batch_size(config.training.batch_size, np.shape(data.x)[0])


def value_at(config, dotted: str):
    """The value of `section.key` in a config or its JSON tree; None where it is absent."""
    section, key = dotted.split(".")
    return config[section].get(key) if section in config else None


def selected_entries(config) -> dict:
    """{selector key: the registry entry a config (or its JSON tree) selects}, for every
    registry in FAMILIES; a selector the config lacks selects its default."""
    default = base_config()
    return {
        key: registry.get(value_at(config, key) or value_at(default, key))
        for key, registry in FAMILIES.items()
    }


def _check_keys(config) -> None:
    reference = base_config()
    sections = {name: set() for name in (*STRICT_SECTIONS, "model", "data")}
    for key, entry in selected_entries(config).items():
        sections[key.split(".")[0]] |= entry.config_keys
    for section, extra in sections.items():
        known = set(reference[section].keys()) | extra
        for key in config[section].keys():
            if key not in known:
                raise ConfigError(
                    f"Unknown config key {section}.{key}; known keys of {section}: "
                    f"{', '.join(sorted(known))}. Fix the spelling, or register the key with "
                    "the model kind or data set that reads it."
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


def _check_cross_keys(config) -> None:
    t = config.training
    checks.chunking(t.num_steps, t.log_every)
    if t.checkpoint_every % t.log_every:
        raise ConfigError(
            f"training.checkpoint_every={t.checkpoint_every} must be a multiple of "
            f"training.log_every={t.log_every} (checkpoints are written between chunks), or 0."
        )
    _check_selection(config)
    m = config.model
    # A necessary condition, checked before compiling; the rate's actual groups (1 for a
    # Monte Carlo family) are checked again when the loss is traced.
    layers = len(m.latent_dims) if m.kind == "hierarchical" else m.latent_dim
    checks.free_bits_groups(config.objective.free_bits_groups, layers)
    _check_families(config)


def _check_selection(config) -> None:
    t, held_out = config.training, config.data.get("validation_examples", 0)
    if t.eval_every and t.log_every % t.eval_every:
        raise ConfigError(
            f"training.eval_every={t.eval_every} must divide training.log_every={t.log_every}: "
            "the validation runs inside each compiled chunk of log_every steps."
        )
    if bool(t.eval_every) != bool(held_out):
        raise ConfigError(
            f"training.eval_every={t.eval_every} and data.validation_examples={held_out}: "
            "model selection needs both (a validation split and how often to evaluate it), "
            "or neither."
        )
    if t.patience and not t.eval_every:
        raise ConfigError(
            f"training.patience={t.patience} needs training.eval_every > 0 and "
            "data.validation_examples > 0 (early stopping on a validation split)."
        )


def _check_families(config) -> None:
    """The combinations of families and objectives that are not defined, one line each."""
    m, o = config.model, config.objective
    if m.kind == "hierarchical" and not m.latent_dims:
        raise ConfigError(
            "model.kind='hierarchical' needs model.latent_dims=(d_1, ..., d_L), bottom-up "
            "(Burda et al. 2016's two-layer MNIST model: (100, 50))."
        )
    if m.kind != "hierarchical" and m.latent_dims:
        raise ConfigError(
            f"model.latent_dims={tuple(m.latent_dims)} is read by model.kind='hierarchical' "
            f"only; with model.kind={m.kind!r} set model.latent_dim instead."
        )
    if m.prior == "vamp" and (m.posterior != "gaussian" or m.kind == "hierarchical"):
        raise ConfigError(
            "model.prior='vamp' is defined for a diagonal-Gaussian posterior of one latent "
            "layer (Tomczak & Welling 2018's mixture of encoder outputs); use "
            "model.posterior='gaussian' and a one-layer model.kind, or another prior."
        )
    if m.kind == "hierarchical" and m.posterior != "gaussian":
        raise ConfigError(
            "model.kind='hierarchical' has Gaussian conditionals at every layer; "
            f"model.posterior={m.posterior!r} is not defined for it (use 'gaussian')."
        )
    if m.decoder != "factorised" and m.kind not in ("mlp", "image_mlp", "vq"):
        raise ConfigError(
            f"model.decoder={m.decoder!r} is built by the MLP model kinds ('mlp', "
            f"'image_mlp', 'vq'); model.kind={m.kind!r} has its own decoder. Use one of those."
        )
    if m.kind == "vq":
        _check_vq(config)
    if o.iwae_samples > 1:
        axes = grid(config)
        for name in ("free_bits", "capacity_gamma"):
            if any(v != 0 for v in axes[name]):
                raise ConfigError(
                    f"objective.iwae_samples={o.iwae_samples} (the IWAE objective) is not "
                    f"defined with {name} > 0: free bits and capacity act on the batch-mean "
                    "KL, which the importance-weighted bound does not contain. Set "
                    f"{name} to 0, or objective.iwae_samples=1."
                )


def _check_vq(config) -> None:
    """A VQ-VAE's posterior is a point mass on codes and its prior `model.code_prior`."""
    m, o = config.model, config.objective
    if m.prior != "standard" or m.posterior != "gaussian":
        raise ConfigError(
            f"model.kind='vq' has a point-mass posterior on its codes and the prior "
            f"model.code_prior; model.prior={m.prior!r} and model.posterior={m.posterior!r} "
            "do not apply. Leave them at 'standard' and 'gaussian'."
        )
    if m.get("codebook_restart", 0) > 0 and m.get("codebook_update", "gradient") != "ema":
        raise ConfigError(
            f"model.codebook_restart={m.codebook_restart} restarts codes by their moving-average "
            "usage, which only model.codebook_update='ema' keeps. Set codebook_update='ema', "
            "or codebook_restart=0."
        )
    if o.iwae_samples > 1 or any(a != 1 for a in grid(config)["hybrid_alpha"]):
        raise ConfigError(
            "model.kind='vq' is trained on the VQ-VAE loss: importance samples of a point-mass "
            "posterior are all equal and the GSNN term needs a continuous prior. Set "
            "objective.iwae_samples=1 and hybrid_alpha=1."
        )
