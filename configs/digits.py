"""Class-conditional digit generation swept over beta and prior variant (Beckham sec. 6.4).

python -m experiments.digits --config=configs/digits.py --workdir=runs/digits
python -m experiments.digits --config=configs/digits.py:smoke --workdir=/tmp/digits_smoke
MNIST / Fashion-MNIST from your own files (nothing is downloaded):
  --config.data.name=mnist --config.data.path=/path/to/idx_dir   (or a .npz with x, y)
"""

import ml_collections
import numpy as np

from cvae_jax.config import base_config, classifier_config
from cvae_jax.errors import ConfigError

PRIORS = ("standard", "fixed_conditional", "learned_conditional", "network")


def class_means(num_classes: int, latent_dim: int, radius: float = 2.0):
    """Fixed p(z|y) means: the classes on a circle in the first two latent dimensions."""
    angles = 2 * np.pi * np.arange(num_classes) / num_classes
    means = np.zeros((num_classes, latent_dim))
    means[:, 0], means[:, 1] = radius * np.cos(angles), radius * np.sin(angles)
    return tuple(map(tuple, means.round(6).tolist()))


def get_config(arg: str = ""):
    config = base_config()
    config.data.name = "digits"  # digits | mnist | fashion_mnist
    config.data.path = ""  # mnist/fashion_mnist: IDX directory or .npz file
    config.data.num_classes = 10
    config.data.test_fraction = 0.2  # digits, or files without a test set
    config.data.max_train_examples = 0  # 0 = all
    config.data.binarize = "dynamic"  # none | dynamic | threshold

    config.model.kind = "conv"  # conv | image_mlp
    config.model.latent_dim = 8
    config.model.hidden = (128,)
    config.model.conv_channels = (16, 32)
    config.model.conv_impl = "auto"  # matmul on CPU, xla (library convolutions) elsewhere
    config.model.likelihood = "bernoulli"
    config.model.prior_means = class_means(10, 8)
    config.model.prior_log_vars = tuple((0.0,) * 8 for _ in range(10))

    config.training.num_steps = 3000
    config.training.batch_size = 128
    config.training.learning_rate = 2e-3
    config.training.log_every = 500

    config.sweep.betas = (0.5, 1.0, 4.0)
    config.sweep.num_seeds = 1
    config.variants = PRIORS  # one compiled sweep per prior variant

    config.classifier = classifier_config()

    config.evaluation = ml_collections.ConfigDict()
    config.evaluation.iwae_samples = 100
    config.evaluation.samples_per_label = 100  # conditional accuracy of generated samples
    config.evaluation.grid_columns = 8  # samples per label shown in the figures
    config.evaluation.swap_examples = 200  # test images whose style is swapped to every label
    config.evaluation.swap_rows = 6  # of them, shown in the figures
    config.evaluation.seed = 0
    if arg == "smoke":
        config.training.num_steps = 40
        config.training.log_every = 20
        config.training.batch_size = 32
        config.sweep.betas = (1.0, 4.0)
        config.classifier.num_steps = 100
        config.evaluation.iwae_samples = 4
        config.evaluation.samples_per_label = 8
        config.evaluation.swap_examples = 16
        config.evaluation.swap_rows = 3
    elif arg:
        raise ConfigError(f"Unknown config argument {arg!r}; use '' or 'smoke'.")
    return config
