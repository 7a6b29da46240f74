"""The grid x seed sweep: one jit-compiled, doubly vmapped training function for all members.

Layout of every array in a sweep: [S, H, ...] with S seeds (outer vmap) and H
hyperparameter settings (inner vmap): the points of the grid, the Cartesian product of its
axes (beta, capacity, learning rate...) flattened. All H members of a seed share their
initial parameters and their minibatch/noise keys (common random numbers), so their
differences are due to the hyperparameters alone. Because the minibatch is the same for
every member of a seed, XLA computes the shared-input products as one wide product.
"""

import dataclasses
import math
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from cvae_jax import checks
from cvae_jax.config import GRID_AXES, ON_NONFINITE, STEP_AXES, base_config
from cvae_jax.data.dataset import Dataset
from cvae_jax.errors import ConfigError, DivergenceError
from cvae_jax.training import selection, sharding
from cvae_jax.training.layout import SweepChunk
from cvae_jax.training.step import TrainState, init_state, member_keys


def sweep_hyper(grid=None) -> dict:
    """Per-member hyperparameters {name: [H]}: the Cartesian product of the grid's axes.

    grid: {name: values} for names of `config.GRID_AXES` (`config.grid(config)` gives all of
      them); a name left out takes its default. The first name of GRID_AXES varies slowest.
    """
    grid = dict(grid or {})
    checks.grid_names(grid, tuple(GRID_AXES))
    default = base_config().sweep.grid
    axes = [checks.grid_axis(n, k, grid.get(n, default[n])) for n, k in GRID_AXES.items()]
    points = np.meshgrid(*axes, indexing="ij")
    return {name: jnp.asarray(p.ravel()) for name, p in zip(GRID_AXES, points, strict=True)}


def describe(hyper, h: int) -> str:
    """'beta=1 capacity=5' for member h: beta and every name that varies across the grid."""
    parts = [
        f"{name}={reported(values[h]):g}"
        for name, values in hyper.items()
        if name == "beta" or len(np.unique(np.asarray(values))) > 1
    ]
    return " ".join(parts)


def make_sweep_chunk(train_chunk, group_size=None, max_members_per_call=0, devices=None):
    """jit(vmap_seeds(vmap_betas(train_chunk))) in effect; the sweep state is donated.

    Members run in cache-sized groups, in calls that fit device memory, sharded over
    `devices` (default all); see `layout.SweepChunk` for the arguments.
    """
    return SweepChunk(train_chunk, group_size, max_members_per_call, devices)


def sweep_chunk_from_config(train_chunk, sweep_config):
    """`make_sweep_chunk` with the layout keys of a `sweep` config section (0 means auto)."""
    group_size = sweep_config.get("group_size", 0)
    cap = sweep_config.get("max_members_per_call", 0)
    num_devices = sweep_config.get("num_devices", 0)
    if num_devices > len(jax.devices()):
        raise ConfigError(
            f"sweep.num_devices={num_devices} but only {len(jax.devices())} devices are visible."
        )
    devices = jax.devices()[:num_devices] if num_devices else None
    return make_sweep_chunk(train_chunk, group_size or None, cap, devices)


def make_plain_sweep_chunk(train_chunk):
    """The reference layout: one vmap over every member, one device (tests, benchmarks)."""
    over_betas = jax.vmap(train_chunk, in_axes=(0, None, None, 0))
    over_seeds = jax.vmap(over_betas, in_axes=(0, None, 0, None))
    return jax.jit(over_seeds, donate_argnums=0)


def init_sweep(model, optimizer, seeds, num_hyper: int, example: Dataset, select: bool = False):
    """Initial state [S, H, ...] (each seed's init copied across its H members) and train keys [S].

    select: the state carries each member's best-on-validation (`selection.Best`).
    """
    init_keys, train_keys = jax.vmap(member_keys)(jnp.asarray(seeds, jnp.uint32))
    init = jax.vmap(partial(init_state, model, optimizer, select=select), in_axes=(0, None))
    per_seed = jax.jit(init)(init_keys, Dataset(example.x[:1], example.y[:1]))
    state = jax.tree.map(lambda a: jnp.repeat(a[:, None], num_hyper, axis=1), per_seed)
    return state, train_keys


def reported(value) -> float:
    """The shortest decimal that rounds to the float32 actually used (0.01, not 0.00999999977)."""
    return float(str(np.float32(value)))


@dataclasses.dataclass
class SweepResult:
    state: TrainState  # leaves [S, H, ...], in the sweep chunk's one placement (`place`)
    seeds: np.ndarray  # [S]
    hyper: dict  # name -> [H]
    history: dict  # metric -> [num_chunks, S, H]; 'step' -> [num_chunks]
    seconds: float  # wall time of the training loop, compilation included (train_sweep with
    # checkpoints adds the processes before a resume)

    def member_params(self, seed_index: int, hyper_index: int):
        return jax.tree.map(lambda a: a[seed_index, hyper_index], self.state.params)

    def point(self, hyper_index: int) -> dict:
        """{name: value} of grid point `hyper_index`, step counts as ints."""
        point = {}
        for name in GRID_AXES:
            if name in self.hyper:
                value = reported(self.hyper[name][hyper_index])
                point[name] = int(value) if name in STEP_AXES else value
        return point

    def indices(self, **point) -> list[int]:
        """The grid points whose values equal `point` (e.g. beta=1.0, capacity=5.0)."""
        checks.grid_names(point, tuple(self.hyper))
        match = np.ones(len(self.hyper["beta"]), bool)
        for name, value in point.items():
            values = np.asarray(self.hyper[name])
            match &= np.isclose(values, np.float32(value), rtol=1e-6, atol=0)
        if not match.any():
            grid = {n: sorted({self.point(h)[n] for h in range(len(match))}) for n in point}
            raise ConfigError(f"No member of the sweep has {point}; the grid has {grid}.")
        return [int(h) for h in np.flatnonzero(match)]

    def select(self, **point) -> "SweepResult":
        """The members at the grid points matching `point`, every seed: select(beta=1.0)."""
        index = np.asarray(self.indices(**point))
        take = lambda a: np.asarray(a)[:, index]  # noqa: E731
        history = {k: v if k == "step" else v[:, :, index] for k, v in self.history.items()}
        return dataclasses.replace(
            self,
            state=jax.tree.map(take, self.state),
            hyper={k: np.asarray(v)[index] for k, v in self.hyper.items()},
            history=history,
        )

    def rows(self) -> list[dict]:
        """One row per (seed, grid point): every swept name, then the last chunk's metrics."""
        diverged = np.asarray(self.state.diverged_at)
        rows = []
        for s, seed in enumerate(self.seeds):
            for h in range(len(self.hyper["beta"])):
                row = {"seed": int(seed), **self.point(h)}
                for name, values in self.history.items():
                    if name != "step":
                        row[f"final_{name}"] = float(values[-1, s, h])
                row["diverged_at"] = int(diverged[s, h])
                row.update(_selection_columns(self.state.best, s, h))
                rows.append(row)
        return rows


def _selection_columns(best, s: int, h: int) -> dict:
    """Where validation selection left member (s, h): its best step and loss, and the step
    its patience ran out (-1: it trained to the end)."""
    if best is None:
        return {}
    return {
        "best_step": int(np.asarray(best.step)[s, h]),
        "best_validation_loss": float(np.asarray(best.loss)[s, h]),
        "stopped_at": int(np.asarray(best.stopped_at)[s, h]),
    }


def run_sweep(
    sweep_chunk, state, train_keys, data: Dataset, hyper, seeds, num_steps, chunk_steps,
    on_nonfinite: str = "freeze", on_chunk=None,
):  # fmt: skip
    """Runs `sweep_chunk` until every member has taken `num_steps` steps, logging progress.

    `state` may come from a checkpoint: training continues from its step counter.
    on_nonfinite: 'freeze' keeps training the healthy members and reports diverged ones;
      'raise' stops with FloatingPointError at the first chunk in which a member diverged.
    on_chunk: optional `on_chunk(state, metrics)` called after every chunk (checkpointing).
    data: the training Dataset, or (training, validation) when members are selected on
      validation data (`step.Selector`): training then ends early once every member has
      stopped, and the returned state holds each member's best parameters.
    The returned state is in the placement of `sweep_chunk.place` (host arrays on several
    processes) however it was reached: a sweep restored finished is evaluated by the same
    programs as one trained here.
    """
    checks.choice("training.on_nonfinite", on_nonfinite, ON_NONFINITE)
    checks.chunking(num_steps, chunk_steps)
    members = math.prod(np.shape(state.step))
    history, steps = [], []
    data = jax.tree.map(jnp.asarray, data)
    start = time.perf_counter()
    first_step = int(np.max(state.step))
    stopped = _stopped_before(state)
    while not stopped and (done := int(np.max(state.step))) < num_steps:
        state, metrics = sweep_chunk(state, data, train_keys, hyper)
        metrics = jax.device_get(metrics)
        stopped = "stopped" in metrics and bool(np.all(metrics["stopped"]))
        history.append(metrics)
        steps.append(done + chunk_steps)
        _log_progress(done + chunk_steps, first_step, num_steps, members, start, metrics, state)
        _report_divergence(state, seeds, hyper, done, on_nonfinite)
        if on_chunk is not None:
            on_chunk(state, metrics)
    if stopped:
        logging.info("every member's patience is spent: training stops at step %d.",
                     int(np.max(state.step)))  # fmt: skip
    if jax.process_count() > 1:  # members sharded over hosts: every process gets them all
        state = sharding.to_host(state)
    else:  # one placement whether trained here, resumed or restored finished (`place`)
        state = getattr(sweep_chunk, "place", jax.device_put)(state)
    state = selection.selected(state)  # each member's best-on-validation parameters
    stacked = {k: np.stack([m[k] for m in history]) for k in history[0]} if history else {}
    stacked["step"] = np.asarray(steps)
    return SweepResult(
        state, np.asarray(seeds), jax.device_get(hyper), stacked, time.perf_counter() - start
    )


def _stopped_before(state) -> bool:
    """A restored sweep whose members had all stopped early: nothing left to train."""
    if state.best is None:
        return False
    return bool(np.all(sharding.to_host(state.best.stopped_at) >= 0))


def diverged_members(state, seeds, hyper) -> list[dict]:
    """(seed, beta, member, step) of every member whose loss or gradient became non-finite.

    `member` describes its grid point (`describe`).
    """
    diverged_at = np.asarray(state.diverged_at)
    betas = np.asarray(hyper["beta"])
    return [
        {
            "seed": int(seeds[s]),
            "beta": float(betas[h]),
            "member": describe(hyper, h),
            "step": int(diverged_at[s, h]),
        }
        for s, h in zip(*np.nonzero(diverged_at >= 0), strict=True)
    ]


def _report_divergence(state, seeds, hyper, chunk_start: int, on_nonfinite: str):
    new = [m for m in diverged_members(state, seeds, hyper) if m["step"] >= chunk_start]
    for m in new:
        logging.warning(
            "member seed=%d %s diverged at step %d (non-finite loss or gradient); its "
            "parameters are frozen at their last finite values, the other members train on.",
            m["seed"], m["member"], m["step"],
        )  # fmt: skip
    if new and on_nonfinite == "raise":
        raise DivergenceError(
            f"non-finite loss or gradient in {len(new)} member(s), first {new[0]}. Lower "
            "training.learning_rate or beta, set training.grad_clip_norm, or set "
            "training.on_nonfinite='freeze' to keep training the healthy members."
        )


def _finite_mean(values) -> float:
    """Mean over the members still finite, so one diverged member does not hide the rest."""
    values = np.asarray(values)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _log_progress(step, first_step, num_steps, members, start, metrics, state):
    elapsed = time.perf_counter() - start
    rate = (step - first_step) / max(elapsed, 1e-9)
    eta = (num_steps - step) / max(rate, 1e-9)
    diverged = int(np.sum(np.asarray(state.diverged_at) >= 0))
    logging.info(
        "step %d/%d | %d members | %.0f model-steps/s | ETA %.0fs | loss %.4g | rate %.4g | diverged %d",
        step, num_steps, members, rate * members, eta,
        _finite_mean(metrics["loss"]), _finite_mean(metrics["rate"]), diverged,
    )  # fmt: skip
