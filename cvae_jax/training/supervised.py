"""Small supervised fits beside the cVAE: the classifier that judges generated images, and the
structured-output baseline of Sohn et al. (2015). One Adam-in-lax.scan loop serves both."""

import jax
import jax.numpy as jnp
import optax

from cvae_jax.core import distributions as dist
from cvae_jax.data.dataset import Dataset, sample_batch
from cvae_jax.models.classifier import Baseline, Classifier


def fit_supervised(loss_fn, params, data: Dataset, train_key, num_steps: int, batch_size: int,
                   learning_rate: float):  # fmt: skip
    """Adam on `loss_fn(params, batch)` in one jitted lax.scan, batches keyed fold_in(key, step).

    For the small supervised helpers (the digit classifier, the quadrant baseline).
    """
    optimizer = optax.adam(learning_rate)

    @jax.jit
    def fit(params, data):
        def body(carry, step):
            params, opt_state = carry
            batch = sample_batch(jax.random.fold_in(train_key, step), data, batch_size)
            grads = jax.grad(loss_fn)(params, batch)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        (params, _), _ = jax.lax.scan(body, (params, optimizer.init(params)), jnp.arange(num_steps))
        return params

    return fit(params, Dataset(jnp.asarray(data.x), jnp.asarray(data.y)))


def train_classifier(
    data: Dataset, num_classes: int, hidden=(256,), num_steps: int = 2000,
    batch_size: int = 128, learning_rate: float = 1e-3, seed: int = 0,
):  # fmt: skip
    """Returns (module, params) after `num_steps` Adam steps of cross-entropy on `data`."""
    module = Classifier(num_classes, tuple(hidden))
    init_key, train_key = jax.random.split(jax.random.key(seed))
    params = module.init(init_key, jnp.zeros((1, data.x.shape[1])))

    def loss_fn(params, batch):
        logits = module.apply(params, batch.x)
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, batch.y))

    params = fit_supervised(loss_fn, params, data, train_key, num_steps, batch_size, learning_rate)
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
    learning_rate: float = 1e-3, seed: int = 0,
):  # fmt: skip
    """Fits the baseline by cross-entropy with Adam in one jitted lax.scan; (module, params)."""
    module = Baseline(data.x.shape[1], tuple(hidden))
    init_key, train_key = jax.random.split(jax.random.key(seed))
    params = module.init(init_key, jnp.zeros((1, data.y.shape[1])))

    def loss_fn(params, batch):
        return jnp.mean(baseline_nll(module, params, batch))

    params = fit_supervised(loss_fn, params, data, train_key, num_steps, batch_size, learning_rate)
    return module, params
