"""The unconditional VAE's beta trade-off: Beckham's figure 5 from one compiled sweep.

python -m experiments.vae_beta --config=configs/vae_beta.py --workdir=runs/vae_beta
python -m experiments.vae_beta --config=configs/vae_beta.py:smoke --workdir=/tmp/vae_smoke
MNIST from your own files: --config.data.name=mnist --config.data.path=/path/to/idx_dir
"""

import ml_collections

from cvae_jax.config import base_config, classifier_config
from cvae_jax.errors import ConfigError


def get_config(arg: str = ""):
    config = base_config()
    config.data.name = "digits"  # digits | mnist | fashion_mnist
    config.data.path = ""
    config.data.num_classes = 10  # the labels train the judging classifier, never the VAE
    config.data.test_fraction = 0.2
    config.data.max_train_examples = 0
    config.data.binarize = "dynamic"

    config.model.kind = "image_mlp"
    config.model.latent_dim = 16
    config.model.hidden = (512,)
    config.model.likelihood = "bernoulli"
    config.model.prior = "standard"

    config.training.num_steps = 3000
    config.training.batch_size = 128
    config.training.log_every = 500
    # 0: reconstructions good, samples bad; 0.05: both decent; 1000: both bad (figure 5).
    config.sweep.betas = (0.0, 0.05, 0.2, 1.0, 4.0, 20.0, 100.0, 1000.0)
    config.sweep.num_seeds = 1

    config.classifier = classifier_config()

    config.evaluation = ml_collections.ConfigDict()
    config.evaluation.num_samples = 1000  # z ~ p(z) scored by the classifier
    config.evaluation.recon_examples = 1000  # test images whose reconstructions are scored
    config.evaluation.figure_columns = 8
    config.evaluation.seed = 0
    if arg == "smoke":
        config.training.num_steps = 40
        config.training.log_every = 20
        config.training.batch_size = 32
        config.sweep.betas = (0.0, 1.0, 100.0)
        config.classifier.num_steps = 100
        config.evaluation.num_samples = 64
        config.evaluation.recon_examples = 32
        config.evaluation.figure_columns = 4
    elif arg:
        raise ConfigError(f"Unknown config argument {arg!r}; use '' or 'smoke'.")
    return config
