"""From a config to a trained sweep: build the data, model and optimiser, then train.

This is the library function every launcher in `experiments/` calls.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from cvae_jax import linear_models, models, objectives
from cvae_jax.data import Dataset, load_dataset, validate_dataset
from cvae_jax.sweep import SweepResult, init_sweep, make_sweep_chunk, run_sweep, sweep_hyper
from cvae_jax.train import (
    TrainState,
    build_optimizer,
    init_state,
    make_train_chunk,
    make_train_step,
    member_keys,
)

MODEL_KINDS = ("mlp", "gaussian_mean")


def build_model(config, data: Dataset):
    """The cVAE named by `config.model.kind`, sized from the data."""
    kind, num_classes = config.model.kind, config.data.get("num_classes", 0)
    if kind == "mlp":
        if config.model.likelihood not in ("gaussian", "bernoulli"):
            raise ValueError(
                f"Unknown model.likelihood {config.model.likelihood!r}; use 'gaussian' or 'bernoulli'."
            )
        if config.model.latent_dim < 1:
            raise ValueError(f"model.latent_dim must be >= 1; got {config.model.latent_dim}.")
        return models.build_mlp_cvae(config.model, data.x.shape[1], num_classes)
    if kind == "gaussian_mean":
        return linear_models.le_cvae(config.data.sigma0)
    raise ValueError(f"Unknown model.kind {kind!r}; choose one of {', '.join(MODEL_KINDS)}.")


@dataclasses.dataclass
class Setup:
    """Everything a sweep is made of, built once from a config."""

    model: object
    optimizer: object
    data: Dataset
    train_chunk: object  # one member, unvmapped
    sweep_chunk: object  # jit(vmap(vmap(train_chunk)))
    hyper: dict
    seeds: np.ndarray


def build_setup(config, data: Dataset | None = None) -> Setup:
    data = load_dataset(config.data) if data is None else data
    model = build_model(config, data)
    validate_dataset(data, num_classes=config.data.get("num_classes", 0))
    t = config.training
    if t.batch_size > data.x.shape[0]:
        raise ValueError(
            f"training.batch_size={t.batch_size} exceeds the {data.x.shape[0]} training examples."
        )
    optimizer = build_optimizer(t)
    step = make_train_step(
        model,
        optimizer,
        objectives.kl_schedule(config.objective.kl_warmup_steps),
        config.objective.free_bits_groups,
    )
    train_chunk = make_train_chunk(step, t.batch_size, t.log_every)
    seeds = config.sweep.seed + np.arange(config.sweep.num_seeds)
    hyper = sweep_hyper(config.sweep.betas, config.objective)
    return Setup(model, optimizer, data, train_chunk, make_sweep_chunk(train_chunk), hyper, seeds)


def train_sweep(
    config, data: Dataset | None = None, workdir: str | None = None
) -> tuple[Setup, SweepResult]:
    """Trains every (seed, beta) member of `config.sweep` in one compiled function.

    `workdir` is where a launcher writes its outputs (checkpoints go under it).
    """
    setup = build_setup(config, data)
    state, train_keys = init_sweep(
        setup.model, setup.optimizer, setup.seeds, len(config.sweep.betas), setup.data
    )
    result = run_sweep(
        setup.sweep_chunk, state, train_keys, setup.data, setup.hyper, setup.seeds,
        config.training.num_steps, config.training.log_every, config.training.on_nonfinite,
    )  # fmt: skip
    return setup, result


def train_single(config, seed: int, beta: float, data: Dataset | None = None) -> TrainState:
    """One member trained alone (no vmap): the reference a sweep slice must equal."""
    setup = build_setup(config, data)
    init_key, train_key = member_keys(seed)
    state = init_state(setup.model, setup.optimizer, init_key, setup.data)
    hyper = {k: v[0] for k, v in sweep_hyper([beta], config.objective).items()}
    chunk = jax.jit(setup.train_chunk)
    data = Dataset(jnp.asarray(setup.data.x), jnp.asarray(setup.data.y))
    for _ in range(config.training.num_steps // config.training.log_every):
        state, _ = chunk(state, data, train_key, hyper)
    return state
