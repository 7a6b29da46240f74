"""A small MLP classifier, trained on the real training images, that judges generated ones.

Training is one jitted `lax.scan` over steps; minibatch keys are fold_in(key, step), as in
the cVAE's training loop. The classifier reports its own test accuracy so that the
conditional and label-swap accuracies it assigns to samples can be read against it.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from cvae_jax import models
from cvae_jax.data import Dataset
from cvae_jax.train import fit_supervised


class Classifier(nn.Module):
    num_classes: int
    hidden: Sequence[int] = (256,)

    @nn.compact
    def __call__(self, x):  # [..., D] -> logits [..., K]
        return nn.Dense(self.num_classes)(models.MLP(self.hidden)(x))


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
