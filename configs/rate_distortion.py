"""Posterior collapse and its remedies on the rate-distortion plane (Higgins et al. 2017; Bowman et al. 2016; Kingma et al. 2016; Burgess et al. 2018).

python -m experiments.rate_distortion --config=configs/rate_distortion.py --workdir=runs/rd
python -m experiments.rate_distortion --config=configs/rate_distortion.py:smoke --workdir=/tmp/rd
MNIST-format files instead of the bundled digits:
  --config.data.name=mnist --config.data.path=/path/to/idx_dir
"""

import ml_collections

from cvae_jax.config import base_config, classifier_config
from cvae_jax.errors import ConfigError


def get_config(arg: str = ""):
    config = base_config()
    config.data.name = "digits"  # digits | mnist | fashion_mnist
    config.data.path = ""
    config.data.num_classes = 0  # counted from the labels
    config.data.test_fraction = 0.2
    config.data.max_train_examples = 0
    config.data.binarize = "dynamic"  # Bernoulli likelihood of binary pixels

    config.model.kind = "mlp"
    config.model.latent_dim = 16  # room for collapse: more units than the data needs
    config.model.hidden = (256,)
    config.model.likelihood = "bernoulli"
    config.model.prior = "standard"

    config.training.num_steps = 10000
    config.training.batch_size = 128
    config.training.learning_rate = 1e-3
    config.training.log_every = 1000

    config.sweep.betas = (1.0,)
    config.sweep.num_seeds = 2

    config.variants = ("beta_vae", "capacity", "free_bits_dim", "free_bits_group", "kl_annealing")
    config.families = ml_collections.ConfigDict()
    config.families.beta = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
    config.families.capacity = (2.0, 5.0, 10.0, 20.0, 30.0, 40.0)  # C_max, nats
    config.families.capacity_gamma = 10.0
    config.families.capacity_steps = 5000  # C rises from 0 to C_max over these steps
    config.families.free_bits = (0.0, 0.125, 0.25, 0.5, 1.0, 2.0)  # nats per dimension
    config.families.free_bits_group_size = 4  # dimensions per group (free_bits_group)
    config.families.kl_warmup_steps = (0, 1000, 2500, 5000, 10000)
    config.matched_rates = (5.0, 10.0, 15.0, 20.0)  # nats; the docs table compares here

    config.classifier = classifier_config()

    config.evaluation = ml_collections.ConfigDict()
    config.evaluation.iwae_samples = 100
    config.evaluation.mi_examples = 1000
    config.evaluation.samples_per_label = 100
    config.evaluation.swap_examples = 200
    config.evaluation.seed = 0
    if arg == "smoke":
        config.model.latent_dim = 4
        config.training.num_steps = 40
        config.training.log_every = 20
        config.training.batch_size = 32
        config.sweep.num_seeds = 1
        config.families.beta = (0.5, 2.0)
        config.families.capacity = (1.0, 3.0)
        config.families.capacity_steps = 20
        config.families.free_bits = (0.0, 0.5)
        config.families.free_bits_group_size = 2
        config.families.kl_warmup_steps = (0, 20)
        config.matched_rates = (0.5,)
        config.classifier.num_steps = 50
        config.evaluation.iwae_samples = 4
        config.evaluation.mi_examples = 64
        config.evaluation.samples_per_label = 4
        config.evaluation.swap_examples = 16
    elif arg:
        raise ConfigError(f"Unknown config argument {arg!r}; use '' or 'smoke'.")
    return config
