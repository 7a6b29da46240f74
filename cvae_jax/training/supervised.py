"""Small supervised fits beside the cVAE: the classifier that judges generated images, and the
structured-output baseline of Sohn et al. (2015). One Adam-in-lax.scan loop serves both."""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from absl import logging

from cvae_jax.core import distributions as dist
from cvae_jax.data.dataset import Dataset, in_batches, sample_batch
from cvae_jax.errors import ConfigError
from cvae_jax.models.classifier import Baseline, Classifier
from cvae_jax.training import selection


class FitRecord(NamedTuple):
    """What a supervised fit did, in the cVAE sweep's terms (`SweepResult.rows`): the steps
    it trained; with a validation set, the loss after every `eval_every` steps, the step of
    the parameters it returned and the step its patience ran out (-1: it used the budget)."""

    steps: int
    validation_loss: tuple[float, ...] = ()
    best_step: int = -1
    stopped_at: int = -1

    def as_row(self) -> dict:
        if not self.validation_loss:
            return {}
        return {
            "best_step": self.best_step,
            "best_validation_loss": min(self.validation_loss),
            "stopped_at": self.stopped_at,
        }


def fit_supervised(example_loss, params, data: Dataset, train_key, num_steps: int, batch_size: int,
                   learning_rate: float, validation: Dataset | None = None, eval_every: int = 0,
                   patience: int = 0):  # fmt: skip
    """Adam on the batch mean of `example_loss(params, batch) -> [b]` in jitted lax.scan
    chunks, batches keyed fold_in(key, step). Returns (params, FitRecord).

    With a `validation` set, every `eval_every` steps (a divisor of `num_steps`) the mean
    `example_loss` over it is computed and the parameters of the lowest one are kept
    (`selection.update`, the cVAE sweep's rule); after `patience` evaluations without
    improvement (0: never) training stops, as in the Pyro CVAE tutorial's baseline. The
    batch stream does not depend on the chunking, so a fit stopped at step s returns the
    parameters a plain fit of s steps would.
    """
    optimizer = optax.adam(learning_rate)
    chunk = eval_every if validation is not None and eval_every else num_steps
    if num_steps % chunk:
        raise ConfigError(
            f"eval_every={eval_every} must divide num_steps={num_steps}: the best parameters "
            "are chosen among evaluated steps; use a divisor."
        )
    train = Dataset(jnp.asarray(data.x), jnp.asarray(data.y))

    @jax.jit  # the data are arguments, not constants XLA would fold into the program
    def fit_chunk(params, opt_state, start, train):
        def body(carry, step):
            params, opt_state = carry
            batch = sample_batch(jax.random.fold_in(train_key, step), train, batch_size)
            grads = jax.grad(lambda p: jnp.mean(example_loss(p, batch)))(params)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        steps = start + jnp.arange(chunk)
        return jax.lax.scan(body, (params, opt_state), steps)[0]

    opt_state, best, losses = optimizer.init(params), selection.init_best(params), []
    if validation is not None:
        validation = Dataset(jnp.asarray(validation.x), jnp.asarray(validation.y))
    validation_loss = jax.jit(functools.partial(_mean_loss, example_loss))
    for start in range(0, num_steps, chunk):
        params, opt_state = fit_chunk(params, opt_state, start, train)
        if validation is None:
            continue
        losses.append(float(validation_loss(params, validation)))
        best = selection.update(best, losses[-1], params, start + chunk, patience)
        logging.info(
            "step %d/%d: validation loss %.3f (best %.3f at step %d)",
            start + chunk, num_steps, losses[-1], float(best.loss), int(best.step),
        )  # fmt: skip
        if int(best.stopped_at) >= 0:
            break
    if validation is None:
        return params, FitRecord(num_steps)
    stopped = int(best.stopped_at)
    steps = stopped if stopped >= 0 else num_steps
    return best.params, FitRecord(steps, tuple(losses), int(best.step), stopped)


def _mean_loss(example_loss, params, data: Dataset, batch_size: int = 500):
    """The mean of example_loss over `data`, in batches of at most `batch_size`."""
    per_batch = lambda x, y: {"loss": example_loss(params, Dataset(x, y))}  # noqa: E731
    return jnp.mean(in_batches(per_batch, data.x, data.y, min(batch_size, data.x.shape[0]))["loss"])


def train_classifier(
    data: Dataset, num_classes: int, hidden=(256,), num_steps: int = 2000,
    batch_size: int = 128, learning_rate: float = 1e-3, seed: int = 0,
):  # fmt: skip
    """Returns (module, params) after `num_steps` Adam steps of cross-entropy on `data`."""
    module = Classifier(num_classes, tuple(hidden))
    init_key, train_key = jax.random.split(jax.random.key(seed))
    params = module.init(init_key, jnp.zeros((1, data.x.shape[1])))

    def example_loss(params, batch):
        logits = module.apply(params, batch.x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, batch.y)

    params, _ = fit_supervised(
        example_loss, params, data, train_key, num_steps, batch_size, learning_rate
    )
    return module, params


def predict(module, params, x) -> jax.Array:
    """Predicted labels [...] for images [..., D]."""
    return jnp.argmax(module.apply(params, x), axis=-1)


def accuracy(module, params, data: Dataset) -> float:
    return float(jnp.mean(predict(module, params, jnp.asarray(data.x)) == jnp.asarray(data.y)))


def baseline_nll(module, params, data: Dataset) -> jax.Array:
    """-log p(x|c) under independent Bernoullis with the baseline's logits, per example [N]."""
    return -dist.bernoulli_log_prob(data.x, module.apply(params, data.y))


def train_baseline(
    data: Dataset, hidden=(256,), num_steps: int = 2000, batch_size: int = 128,
    learning_rate: float = 1e-3, seed: int = 0, validation: Dataset | None = None,
    eval_every: int = 0, patience: int = 0,
):  # fmt: skip
    """Fits the baseline by cross-entropy with Adam (`fit_supervised`, with its selection on
    `validation` and early stopping); ((module, params), FitRecord)."""
    module = Baseline(data.x.shape[1], tuple(hidden))
    init_key, train_key = jax.random.split(jax.random.key(seed))
    params = module.init(init_key, jnp.zeros((1, data.y.shape[1])))
    example_loss = functools.partial(baseline_nll, module)
    params, record = fit_supervised(
        example_loss, params, data, train_key, num_steps, batch_size, learning_rate,
        validation, eval_every, patience,
    )  # fmt: skip
    return (module, params), record
