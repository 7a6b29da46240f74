"""Train state, the pure train step, and `lax.scan`-ned chunks of steps.

Randomness depends only on (seed, step): the key of step t is fold_in(train_key, t), so
a chunked, resumed or vmapped run draws exactly the same minibatches and noise.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cvae_jax import checks
from cvae_jax.config import LR_SCHEDULES
from cvae_jax.core import objectives
from cvae_jax.data.dataset import Dataset, sample_batch
from cvae_jax.training import selection


class TrainState(NamedTuple):
    params: Any
    opt_state: Any
    step: jax.Array  # int32 scalar: optimiser steps taken
    diverged_at: jax.Array  # int32 scalar: first step with a non-finite loss or gradient, or -1
    best: Any = None  # selection.Best when members are selected on validation data


def member_keys(seed) -> tuple[jax.Array, jax.Array]:
    """(init_key, train_key) of one run; all betas of a seed share both (common random numbers)."""
    init_key, train_key = jax.random.split(jax.random.key(seed))
    return init_key, train_key


def init_state(model, optimizer, init_key, example: Dataset, select: bool = False) -> TrainState:
    """A member's initial state; `select`: with a `selection.Best` (validation selection)."""
    params_key, sample_key = jax.random.split(init_key)
    params = model.init(params_key, example.x[:1], example.y[:1], sample_key)
    best = selection.init_best(params) if select else None
    return TrainState(params, optimizer.init(params), jnp.int32(0), jnp.int32(-1), best)


def build_optimizer(training_config) -> optax.GradientTransformation:
    """Adam (with optional gradient clipping) whose learning rate lives in its state.

    `optax.inject_hyperparams` makes the learning rate an array in the optimiser state, so
    a sweep can give every member its own; the train step writes each step's value there.
    """

    def adam(learning_rate):
        chain = [optax.adam(learning_rate)]
        if training_config.grad_clip_norm > 0:
            chain.insert(0, optax.clip_by_global_norm(training_config.grad_clip_norm))
        return optax.chain(*chain)

    return optax.inject_hyperparams(adam)(learning_rate=training_config.learning_rate)


def lr_multiplier(training_config) -> optax.Schedule:
    """The schedule's shape, multiplied by each member's learning rate: 1, or a cosine decay."""
    checks.choice("training.lr_schedule", training_config.lr_schedule, LR_SCHEDULES)
    if training_config.lr_schedule == "cosine":
        return optax.cosine_decay_schedule(1.0, training_config.num_steps, alpha=0.01)
    if training_config.lr_schedule == "burda":
        return burda_schedule(training_config.num_steps)
    return optax.constant_schedule(1.0)


def burda_schedule(num_steps: int) -> optax.Schedule:
    """Burda et al. (2016)'s passes: 3^i epochs at 10^(-i/7) times the learning rate, i = 0..7
    (3,280 epochs in all), each pass the same fraction of `num_steps` as of their 3,280."""
    passes = 3 ** np.arange(8)
    scales = {}  # a short run's passes may start at the same step: their decays multiply
    for b in np.cumsum(passes)[:-1] * num_steps // passes.sum():
        scales[int(b)] = scales.get(int(b), 1.0) * 10 ** (-1 / 7)
    return optax.piecewise_constant_schedule(1.0, scales)


def with_learning_rate(opt_state, learning_rate):
    """`opt_state` of `build_optimizer` with its learning rate set (others pass unchanged)."""
    if not hasattr(opt_state, "hyperparams"):
        return opt_state
    return opt_state._replace(hyperparams={**opt_state.hyperparams, "learning_rate": learning_rate})


def _all_finite(tree) -> jax.Array:
    leaves = jax.tree.leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


def apply_training(model, variables, batch: Dataset, key):
    """(terms, updated model state): the forward pass with every variable collection other
    than 'params' mutable. Such collections (a VQ-VAE's EMA codebook) are model state that
    the forward pass updates, not the optimiser; without any, the state is {}."""
    state_names = [name for name in variables if name != "params"]
    if not state_names:
        return model.apply(variables, batch.x, batch.y, key), {}
    return model.apply(variables, batch.x, batch.y, key, mutable=state_names)


def only_parameters(grads):
    """The gradients with every collection but 'params' zeroed: Adam's moments of the model
    state then stay 0 and its update is exactly 0, so the forward pass alone moves it."""
    return {
        name: g if name == "params" else jax.tree.map(jnp.zeros_like, g)
        for name, g in grads.items()
    }


def make_train_step(
    model, optimizer, lr_schedule: Callable | None = None, free_bits_groups: int = 1
):
    """Returns the pure `train_step(state, batch, key, hyper) -> (state, metrics)`.

    hyper: the member's scalars, the keys of `objectives.DEFAULT_HYPER` plus
      `learning_rate` (multiplied by `lr_schedule(step)`; absent: the optimiser's own).
    """
    lr_schedule = lr_schedule or optax.constant_schedule(1.0)

    def train_step(state: TrainState, batch: Dataset, key, hyper):
        def loss_fn(params):
            terms, model_state = apply_training(model, params, batch, key)
            loss, metrics = objectives.loss_and_metrics(terms, hyper, state.step, free_bits_groups)
            return loss, (metrics, model_state)

        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        (loss, (metrics, model_state)), grads = grad_fn(state.params)
        grads = only_parameters(grads)
        opt_state = state.opt_state
        if "learning_rate" in hyper:
            lr = hyper["learning_rate"] * lr_schedule(state.step)
            opt_state = with_learning_rate(opt_state, lr)
        updates, opt_state = optimizer.update(grads, opt_state, state.params)
        params = {**optax.apply_updates(state.params, updates), **model_state}
        # A member that produces a non-finite loss or gradient is frozen at its last finite
        # parameters (a select, not a branch, so it stays per member under vmap).
        finite = jnp.isfinite(loss) & _all_finite(grads)
        keep = finite & (state.diverged_at < 0)
        params, opt_state = jax.tree.map(
            lambda new, old: jnp.where(keep, new, old),
            (params, opt_state),
            (state.params, state.opt_state),
        )
        first_bad = jnp.where(finite, jnp.int32(-1), state.step)
        diverged_at = jnp.where(state.diverged_at >= 0, state.diverged_at, first_bad)
        return state._replace(
            params=params, opt_state=opt_state, step=state.step + 1, diverged_at=diverged_at
        ), metrics

    return train_step


def make_train_chunk(train_step, batch_size: int, num_steps: int, selector=None):
    """Returns `train_chunk(state, data, train_key, hyper) -> (state, chunk-mean metrics)`.

    selector: optional `Selector`; `data` is then (training, validation) Datasets and the
      members are evaluated on the validation set every `selector.eval_every` steps.
    """

    def steps(state, data: Dataset, train_key, hyper, length: int):
        def body(state, _):
            batch_key, sample_key = jax.random.split(jax.random.fold_in(train_key, state.step))
            batch = sample_batch(batch_key, data, batch_size)
            return train_step(state, batch, sample_key, hyper)

        return jax.lax.scan(body, state, length=length)

    def train_chunk(state: TrainState, data, train_key, hyper):
        if selector is None:
            state, metrics = steps(state, data, train_key, hyper, num_steps)
            # Reduced on device: one small read-back per chunk, not one per step.
            return state, jax.tree.map(jnp.mean, metrics)
        return selector.chunk(steps, state, data, train_key, hyper, num_steps)

    return train_chunk


class Selector(NamedTuple):
    """Validation inside a chunk (`selection`): every `eval_every` steps, `loss(params,
    validation)`; a member stops after `patience` evaluations without improvement (0: never)."""

    eval_every: int
    patience: int
    loss: Callable

    def chunk(self, steps, state, data, train_key, hyper, num_steps: int):
        train, validation = data  # state.best from init_state(..., select=True)

        def block(state, _):
            before = state
            state, metrics = steps(state, train, train_key, hyper, self.eval_every)
            # A stopped member trains no further (a select, so it stays per member).
            stopped = before.best.stopped_at >= 0
            params, opt_state = jax.tree.map(
                lambda new, old: jnp.where(stopped, old, new),
                (state.params, state.opt_state),
                (before.params, before.opt_state),
            )
            state = state._replace(params=params, opt_state=opt_state)
            loss = self.loss(state.params, validation)
            best = selection.update(state.best, loss, state.params, state.step, self.patience)
            return state._replace(best=best), (metrics, loss)

        state, (metrics, losses) = jax.lax.scan(block, state, length=num_steps // self.eval_every)
        metrics = jax.tree.map(jnp.mean, metrics)
        metrics["validation_loss"] = losses[-1]
        metrics["best_validation_loss"] = state.best.loss
        metrics["stopped"] = (state.best.stopped_at >= 0).astype(jnp.float32)
        return state, metrics
