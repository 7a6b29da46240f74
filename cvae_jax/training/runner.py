"""From a config to a trained sweep: build the data, model and optimiser, then train.

`train_sweep` is the library's main entry point; the studies call it once per variant.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from cvae_jax import checks, identity
from cvae_jax import config as config_lib
from cvae_jax.data import Dataset, load_dataset
from cvae_jax.data.images import test_as_trained
from cvae_jax.errors import ConfigError, DataError
from cvae_jax.models import build_model
from cvae_jax.training import checkpoint, selection
from cvae_jax.training.step import (
    Selector,
    TrainState,
    build_optimizer,
    init_state,
    lr_multiplier,
    make_train_chunk,
    make_train_step,
    member_keys,
)
from cvae_jax.training.sweep import (
    SweepResult,
    diverged_members,
    init_sweep,
    run_sweep,
    sweep_chunk_from_config,
    sweep_hyper,
)

VALIDATION_BATCH = 500  # validation examples evaluated at once inside the training scan


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
    validation: Dataset | None = None  # held out for selection (`data.validation_examples`)

    def training_data(self):
        """What the sweep chunk trains on: the Dataset, or (training, validation)."""
        return self.data if self.validation is None else (self.data, self.validation)


def build_setup(config, data: Dataset | None = None) -> Setup:
    config_lib.validate(config)  # fails on a bad config before anything is compiled
    data = load_dataset(config.data) if data is None else data
    config_lib.validate_with_data(config, data)
    config = config_lib.resolve_likelihood(config, data)
    for key in config_lib.grid_overrides(config):
        logging.warning("%s is not used: sweep.grid sets its values.", key)
    _log_free_bits(config)
    data, validation = hold_out_validation(config.data, data)
    model = build_model(config, data)
    t = config.training
    optimizer = build_optimizer(t)
    step = make_train_step(model, optimizer, lr_multiplier(t), config.objective.free_bits_groups)
    selector = None
    if validation is not None:
        batch = min(VALIDATION_BATCH, validation.x.shape[0])
        loss = selection.make_validation_loss(model, batch)
        selector = Selector(t.eval_every, t.patience, loss)
    train_chunk = make_train_chunk(step, t.batch_size, t.log_every, selector)
    seeds = config.sweep.seed + np.arange(config.sweep.num_seeds)
    hyper = sweep_hyper(config_lib.grid(config))
    sweep_chunk = sweep_chunk_from_config(train_chunk, config.sweep)
    return Setup(model, optimizer, data, train_chunk, sweep_chunk, hyper, seeds, validation)


def hold_out_validation(data_config, data: Dataset) -> tuple[Dataset, Dataset | None]:
    """(training, validation): the last `data.validation_examples` training examples held out
    for model selection (MNIST: the last 10,000 of the 60,000, the usual split), binarised
    once with a fixed seed when training binarises afresh each step; (data, None) if 0."""
    n = data_config.get("validation_examples", 0)
    if not n:
        return data, None
    total = np.shape(data.x)[0]
    if n >= total:
        raise DataError(
            f"data.validation_examples={n} leaves no training examples: the training set has "
            f"{total}. Set it below {total} (e.g. {total // 6})."
        )
    validation = Dataset(data.x[total - n :], data.y[total - n :])
    logging.info("model selection on the last %d of %d training examples", n, total)
    return Dataset(data.x[: total - n], data.y[: total - n]), test_as_trained(
        data_config, validation
    )


def _log_free_bits(config) -> None:
    """Free bits are nats per group of the rate, and one group is the whole latent: say so,
    so that lambda = 0.5 is not read as half a nat per dimension (Kingma et al. 2016's)."""
    lambdas = [v for v in config_lib.grid(config)["free_bits"] if v > 0]
    groups = config.objective.free_bits_groups
    if lambdas:
        logging.info(
            "free bits: lambda = %s nats per group, over %d group(s) of the rate%s.",
            ", ".join(f"{v:g}" for v in lambdas), groups,
            " (the whole latent; objective.free_bits_groups=model.latent_dim gives lambda "
            "per dimension, as Kingma et al. 2016)" if groups == 1 else "",
        )  # fmt: skip


def train_sweep(
    config,
    data: Dataset | None = None,
    checkpoint_dir: str | None = None,
    hooks: checkpoint.Hooks | None = None,
    on_chunk=None,
    measure_for=None,
) -> tuple[Setup, SweepResult]:
    """Trains every (seed, grid point) member of `config.sweep` in one compiled function.

    With a `checkpoint_dir`, the sweep resumes from the newest good checkpoint there and
    saves one every `training.checkpoint_every` steps and at the end, keeping the newest
    `training.checkpoints_to_keep`; the returned history then spans the whole run, restored
    chunks included. `hooks` are passed to the checkpointer (tests use them to crash it).
    on_chunk(state, metrics) runs after every chunk, after the checkpoint (e.g. a
    `runs.tensorboard.TensorBoardWriter`). measure_for(setup), for a callback that needs the
    built model (e.g. `runs.milestones.MilestoneEstimates`), returns one more, run after
    every chunk before the checkpoint: a measurement cut short is taken again on resume.
    """
    setup = build_setup(config, data)
    measure = measure_for(setup) if measure_for is not None else None
    state, train_keys = init_sweep(
        setup.model, setup.optimizer, setup.seeds, len(setup.hyper["beta"]), setup.data,
        select=setup.validation is not None,
    )  # fmt: skip
    t = config.training
    saver = None
    if checkpoint_dir is not None:
        saver = checkpoint.SweepCheckpointer(
            checkpoint_dir, t.checkpoint_every or t.log_every, t.checkpoints_to_keep,
            t.num_steps, identity.fingerprint(config), hooks, sweep_layout(setup.sweep_chunk),
            also_accepted=identity.older_fingerprints(config),
        )  # fmt: skip
        state = saver.restore_latest(jax.device_get(state)) or state
        _log_restored(state, setup, t.num_steps)
    try:
        result = run_sweep(
            setup.sweep_chunk, state, train_keys, setup.training_data(), setup.hyper, setup.seeds,
            t.num_steps, t.log_every, t.on_nonfinite,
            _both(_both(measure, saver and saver.on_chunk), on_chunk),
        )  # fmt: skip
    finally:
        if saver is not None:
            saver.close()
    if saver is not None:
        # Seconds of the whole run: the processes before a resume count too.
        seconds = result.seconds + saver.restored_seconds
        result = dataclasses.replace(result, history=saver.history(), seconds=seconds)
    return setup, result


def sweep_layout(sweep_chunk) -> dict:
    """What a sweep's numbers depend on besides config and seed: devices and member groups."""
    devices = getattr(sweep_chunk, "devices", None) or jax.devices()
    return {
        "platform": devices[0].platform,
        "num_devices": len(devices),
        "process_count": jax.process_count(),
        "group_size": getattr(sweep_chunk, "group_size", 0),
    }


def _both(first, second):
    """One chunk callback calling `first` then `second` (either may be None)."""
    callbacks = [c for c in (first, second) if c is not None]
    return (lambda *args: [c(*args) for c in callbacks]) if callbacks else None


def _log_restored(state, setup: Setup, num_steps: int) -> None:
    step = int(np.max(state.step))
    for m in diverged_members(state, setup.seeds, setup.hyper):
        logging.warning(
            "member seed=%d %s diverged at step %d before this restart; it stays frozen.",
            m["seed"], m["member"], m["step"],
        )  # fmt: skip
    if step >= num_steps:
        logging.info("restored the finished sweep at step %d; nothing left to train.", step)
    elif step:
        logging.info("restored the sweep at step %d; training continues from there.", step)


def train_single(config, seed: int, point=None, data: Dataset | None = None) -> TrainState:
    """One member trained alone (no vmap): the reference a sweep slice must equal.

    point: the member's grid point, {name: value} (a number is taken as beta); a name left
      out must have a single value in the config's grid.
    """
    point = {"beta": point} if np.isscalar(point) else dict(point or {})
    grid = config_lib.grid(config)
    checks.grid_names(point, tuple(grid))
    for name, values in grid.items():
        if name not in point and len(values) > 1:
            raise ConfigError(f"train_single: say which {name} of {values} to train.")
    if "hybrid_alpha" in point:  # the model returns the GSNN term only if a member weighs it
        config = config.copy_and_resolve_references()
        alphas = {*grid["hybrid_alpha"], float(point["hybrid_alpha"])}
        config.sweep.grid.hybrid_alpha = tuple(sorted(alphas))
    setup = build_setup(config, data)
    hyper = sweep_hyper({n: [point.get(n, grid[n][0])] for n in grid})
    hyper = {k: v[0] for k, v in hyper.items()}
    init_key, train_key = member_keys(seed)
    state = init_state(setup.model, setup.optimizer, init_key, setup.data)
    chunk = jax.jit(setup.train_chunk)
    data = Dataset(jnp.asarray(setup.data.x), jnp.asarray(setup.data.y))
    for _ in range(config.training.num_steps // config.training.log_every):
        state, _ = chunk(state, data, train_key, hyper)
    return state
