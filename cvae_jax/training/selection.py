"""Model selection on a validation set inside the compiled sweep: best step, early stopping.

Every `training.eval_every` steps each member's validation loss (`objectives.negative_bound`
averaged over the held-out examples: the -ELBO, or the -IWAE_k bound of an IWAE member) is
computed inside the chunk's scan, so selecting costs no recompilation and no host round trip.
A member keeps the parameters of its lowest validation loss (`Best`); once
`training.patience` evaluations pass without improvement it stops: it trains no further,
its best is final, and the sweep ends when every member has stopped. This is the early stopping of Pyro's CVAE
tutorial (patience 3 epochs) and of most MNIST VAE papers' model selection.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from cvae_jax.core import objectives
from cvae_jax.data.dataset import Dataset, in_batches

VALIDATION_SEED = 0  # one fixed noise stream: every evaluation and member sees the same draws


class Best(NamedTuple):
    params: Any  # the parameters of the lowest validation loss so far
    loss: jax.Array  # float32 scalar: that loss (inf before the first evaluation)
    step: jax.Array  # int32 scalar: the step it was reached at (-1 before)
    waited: jax.Array  # int32 scalar: evaluations since then
    stopped_at: jax.Array  # int32 scalar: the step the patience ran out, or -1


def init_best(params) -> Best:
    return Best(params, jnp.float32(jnp.inf), jnp.int32(-1), jnp.int32(0), jnp.int32(-1))


def update(best: Best, loss, params, step, patience: int) -> Best:
    """`best` after an evaluation of `params` at `step` that scored `loss` (lower is better).

    A stopped member's best is final; a non-finite loss never improves. Selects, not
    branches, so it runs per member under vmap.
    """
    active = best.stopped_at < 0
    improved = active & (loss < best.loss)
    params = jax.tree.map(lambda new, old: jnp.where(improved, new, old), params, best.params)
    waited = jnp.where(improved, 0, best.waited + active.astype(jnp.int32))
    ran_out = active & (patience > 0) & (waited >= patience)
    return Best(
        params,
        jnp.where(improved, loss, best.loss),
        jnp.where(improved, step, best.step),
        waited,
        jnp.where(ran_out, step, best.stopped_at),
    )


def make_validation_loss(model, batch_size: int):
    """`loss(params, data) -> scalar`: mean negative bound over `data` in batches."""
    key = jax.random.key(VALIDATION_SEED)

    def loss(params, data: Dataset):
        def per_batch(x, y):
            terms = model.apply(params, x, y, key)
            return {"loss": objectives.negative_bound(terms)}  # [b]

        return jnp.mean(in_batches(per_batch, data.x, data.y, batch_size)["loss"])

    return loss


def selected(state):
    """The sweep state with each member's best parameters in place of its last ones."""
    return state if state.best is None else state._replace(params=state.best.params)
