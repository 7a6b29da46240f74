"""cvae-jax: conditional VAEs in JAX, whole hyperparameter sweeps in one compiled call.

The public API; everything else is reachable through the subpackages (`core`, `models`,
`data`, `training`, `evaluation`, `runs`, `studies`).

    config = cvae_jax.base_config()
    setup, result = cvae_jax.train_sweep(config)       # every (seed, beta) member at once
    result.rows()                                       # one row per member
"""

from cvae_jax.config import base_config, validate
from cvae_jax.core.diagnostics import active_units, rate_split
from cvae_jax.core.distributions import gaussian_kl, reparameterize
from cvae_jax.core.latents import DiagonalGaussian, rate_groups
from cvae_jax.core.objectives import loss_and_metrics
from cvae_jax.data import DATASETS, Dataset, Splits, load_dataset, load_splits
from cvae_jax.errors import (
    CheckpointMismatchError,
    ConfigError,
    ContractError,
    CvaeError,
    DataError,
    DivergenceError,
    WorkdirConflictError,
    WorkdirError,
)
from cvae_jax.evaluation.estimators import iwae_bound, prior_sampling_nll
from cvae_jax.models import CVAE, MODELS, POSTERIORS, PRIORS, build_model
from cvae_jax.runs.results import write_csv, write_json
from cvae_jax.training.runner import build_setup, train_single, train_sweep
from cvae_jax.training.sweep import SweepResult


def evaluate(config, setup, result) -> list[dict]:
    """The per-member rows of the grid launcher's metrics.json for a sweep trained from
    Python: `cvae_jax.studies.sweep.evaluate_trained` (imported here on first use, so that
    `import cvae_jax` does not load the plotting code)."""
    from cvae_jax.studies.sweep import evaluate_trained

    return evaluate_trained(config, setup, result)


__all__ = [
    "CVAE",
    "DATASETS",
    "MODELS",
    "POSTERIORS",
    "PRIORS",
    "CheckpointMismatchError",
    "ConfigError",
    "ContractError",
    "CvaeError",
    "DataError",
    "Dataset",
    "DiagonalGaussian",
    "DivergenceError",
    "Splits",
    "SweepResult",
    "WorkdirConflictError",
    "WorkdirError",
    "active_units",
    "base_config",
    "build_model",
    "build_setup",
    "evaluate",
    "gaussian_kl",
    "iwae_bound",
    "load_dataset",
    "load_splits",
    "loss_and_metrics",
    "prior_sampling_nll",
    "rate_groups",
    "rate_split",
    "reparameterize",
    "train_single",
    "train_sweep",
    "validate",
    "write_csv",
    "write_json",
]
