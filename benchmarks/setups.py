"""The models the benchmarks time, as library configs (no flags, so any benchmark imports it).

  toy_config(K, steps)         the toy study's sweep: K betas of one seed (base_config);
  likelihood_config(K, steps)  the MNIST likelihood benchmark's one-layer model
                               (configs/mnist_likelihood.py: 784-200-200-50, tanh, Bernoulli,
                               batch 20, dynamic binarisation, unconditional), K seeds;
  likelihood_row_config(row, K, steps)  that with one row of the study's table applied;
  likelihood_data()            2,000 random [0, 1] images for it (the timing needs no digits);
  likelihood_test_images(n)    n random binary images, the test set of its evaluation rows.
Each config trains `steps` steps in one chunk, with no validation or schedule.
"""

import numpy as np

from configs import mnist_likelihood as ml_config
from cvae_jax.config import base_config
from cvae_jax.data import Dataset, without_condition
from cvae_jax.studies import mnist_likelihood


def toy_config(K: int, steps: int):
    config = base_config()
    config.training.log_every = steps
    config.sweep.betas = tuple(np.linspace(0.01, 2.0, K).tolist())
    return config


def likelihood_config(K: int, steps: int):
    config = ml_config.get_config("epochs=1")
    config.data.num_classes, config.data.validation_examples = 0, 0
    config.training.eval_every, config.training.lr_schedule = 0, "constant"
    config.training.log_every = config.training.num_steps = steps
    config.sweep.num_seeds = K
    return config


def likelihood_row_config(row: str, K: int, steps: int):
    """`likelihood_config` with a row of the study's table applied (a label-conditioned row
    without labels: the config's num_classes is 0, as the timing data carry none)."""
    config = likelihood_config(K, steps)
    config.variants = (row,)
    return mnist_likelihood.likelihood_variants(config)[0].config


def likelihood_data() -> Dataset:
    x = np.random.default_rng(0).random((2000, 784)).astype(np.float32)
    return without_condition(Dataset(x, np.zeros(2000, np.int32)))


def likelihood_test_images(n: int) -> Dataset:
    x = (np.random.default_rng(1).random((n, 784)) > 0.5).astype(np.float32)
    return without_condition(Dataset(x, np.zeros(n, np.int32)))
