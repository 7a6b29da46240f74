"""Train state, the pure train step, and `lax.scan`-ned chunks of steps.

Randomness depends only on (seed, step): the key of step t is fold_in(train_key, t), so
a chunked, resumed or vmapped run draws exactly the same minibatches and noise.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from cvae_jax import checks
from cvae_jax.config import LR_SCHEDULES
from cvae_jax.core import objectives
from cvae_jax.data.dataset import Dataset, sample_batch


class TrainState(NamedTuple):
    params: Any
    opt_state: Any
    step: jax.Array  # int32 scalar: optimiser steps taken
    diverged_at: jax.Array  # int32 scalar: first step with a non-finite loss or gradient, or -1


def member_keys(seed) -> tuple[jax.Array, jax.Array]:
    """(init_key, train_key) of one run; all betas of a seed share both (common random numbers)."""
    init_key, train_key = jax.random.split(jax.random.key(seed))
    return init_key, train_key


def init_state(model, optimizer, init_key, example: Dataset) -> TrainState:
    params_key, sample_key = jax.random.split(init_key)
    params = model.init(params_key, example.x[:1], example.y[:1], sample_key)
    return TrainState(params, optimizer.init(params), jnp.int32(0), jnp.int32(-1))


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
    return optax.constant_schedule(1.0)


def with_learning_rate(opt_state, learning_rate):
    """`opt_state` of `build_optimizer` with its learning rate set (others pass unchanged)."""
    if not hasattr(opt_state, "hyperparams"):
        return opt_state
    return opt_state._replace(hyperparams={**opt_state.hyperparams, "learning_rate": learning_rate})


def _all_finite(tree) -> jax.Array:
    leaves = jax.tree.leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


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
            terms = model.apply(params, batch.x, batch.y, key)
            return objectives.loss_and_metrics(terms, hyper, state.step, free_bits_groups)

        (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        opt_state = state.opt_state
        if "learning_rate" in hyper:
            lr = hyper["learning_rate"] * lr_schedule(state.step)
            opt_state = with_learning_rate(opt_state, lr)
        updates, opt_state = optimizer.update(grads, opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
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
        return TrainState(params, opt_state, state.step + 1, diverged_at), metrics

    return train_step


def make_train_chunk(train_step, batch_size: int, num_steps: int):
    """Returns `train_chunk(state, data, train_key, hyper) -> (state, chunk-mean metrics)`."""

    def train_chunk(state: TrainState, data: Dataset, train_key, hyper):
        def body(state, _):
            batch_key, sample_key = jax.random.split(jax.random.fold_in(train_key, state.step))
            batch = sample_batch(batch_key, data, batch_size)
            return train_step(state, batch, sample_key, hyper)

        state, metrics = jax.lax.scan(body, state, length=num_steps)
        # Reduced on device: one small read-back per chunk, not one per step.
        return state, jax.tree.map(jnp.mean, metrics)

    return train_chunk
