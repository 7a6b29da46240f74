"""A grid sweep on any labelled data set, with every diagnostic per member.

python -m experiments.sweep --config=configs/sweep.py --workdir=runs/sweep
python -m experiments.sweep --config=configs/sweep.py:smoke --workdir=/tmp/sweep_smoke
Your own data (nothing is downloaded):
  --config.data.name=npz --config.data.path=F.npz         x [N, ...] and integer labels y [N]
  --config.data.name=mnist --config.data.path=IDX_DIR      (or fashion_mnist)
Any hyperparameter is an axis: --config.sweep.grid.capacity='(0.0,2.0,5.0)'
"""

import ml_collections

from cvae_jax.config import base_config, classifier_config
from cvae_jax.errors import ConfigError


def get_config(arg: str = ""):
    config = base_config()
    config.data.name = "digits"  # digits | mnist | fashion_mnist | npz
    config.data.path = ""
    config.data.num_classes = 0  # 0: counted from the labels
    config.data.test_fraction = 0.2  # when the data has no test set of its own

    config.model.kind = "mlp"
    config.model.latent_dim = 16
    config.model.hidden = (256,)
    config.model.likelihood = "auto"  # bernoulli for x in [0, 1] (pixels), else gaussian
    config.model.prior = "standard"

    config.training.num_steps = 5000
    config.training.batch_size = 128
    config.training.learning_rate = 1e-3
    config.training.log_every = 500

    config.sweep.betas = (0.25, 0.5, 1.0, 2.0, 4.0)
    config.sweep.num_seeds = 2

    config.classifier = classifier_config()

    config.evaluation = ml_collections.ConfigDict()
    config.evaluation.iwae_samples = 100
    config.evaluation.mi_examples = 1000  # test examples in the rate split (O(n^2) memory)
    config.evaluation.samples_per_label = 100
    config.evaluation.swap_examples = 200
    config.evaluation.seed = 0
    if arg == "smoke":
        config.training.num_steps = 40
        config.training.log_every = 20
        config.training.batch_size = 32
        config.sweep.betas = (0.5, 2.0)
        config.sweep.grid.capacity = (0.0, 2.0)
        config.objective.capacity_gamma = 1.0
        config.classifier.num_steps = 50
        config.evaluation.iwae_samples = 4
        config.evaluation.mi_examples = 64
        config.evaluation.samples_per_label = 4
        config.evaluation.swap_examples = 16
    elif arg:
        raise ConfigError(f"Unknown config argument {arg!r}; use '' or 'smoke'.")
    return config
