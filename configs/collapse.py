"""Posterior collapse against the decoder window (Chen et al. 2017), and its remedies.

python -m experiments.collapse --config=configs/collapse.py --workdir=runs/collapse
python -m experiments.collapse --config=configs/collapse.py:smoke --workdir=/tmp/collapse
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
    config.data.binarize = "dynamic"  # binary pixels: the autoregressive decoder is Bernoulli

    config.model.kind = "mlp"
    config.model.latent_dim = 8
    config.model.hidden = (256,)
    config.model.likelihood = "bernoulli"
    config.model.prior = "standard"
    config.model.decoder = "autoregressive"  # the variants set decoder_window
    config.model.decoder_window = 0
    config.model.decoder_layers = 2
    config.model.decoder_channels = 16

    # A CPU budget: the full window's masked convolution is most of the cost (docs/collapse.md)
    config.training.num_steps = 3000
    config.training.batch_size = 64
    config.training.learning_rate = 1e-3
    config.training.log_every = 500

    config.sweep.num_seeds = 2

    # window_<w>: w pixels of context (window_0: factorised); full: a PixelCNN over all x_<i
    config.variants = ("window_0", "window_1", "window_3", "full")
    config.collapse = ml_collections.ConfigDict()
    config.collapse.betas = (1.0,)
    config.collapse.free_bits = (0.0, 0.5)  # nats per latent dimension (Kingma et al. 2016)
    config.collapse.kl_warmup_steps = (0, 1500)  # Bowman et al. (2016)
    config.collapse.latents = 4  # z ~ p(z|y) per label for the z-share
    config.collapse.draws_per_latent = 8  # x ~ p(x|z,y) per latent

    config.classifier = classifier_config()

    config.evaluation = ml_collections.ConfigDict()
    config.evaluation.iwae_samples = 100
    config.evaluation.mi_examples = 300
    config.evaluation.samples_per_label = 20
    config.evaluation.swap_examples = 100
    config.evaluation.seed = 0

    config.figures = ml_collections.ConfigDict()
    config.figures.label = 2  # the label whose fixed-latent samples are drawn
    if arg == "smoke":
        config.variants = ("window_0", "full")
        config.model.latent_dim = 2
        config.model.hidden = (16,)
        config.model.decoder_channels = 4
        config.model.decoder_layers = 1
        config.training.num_steps = 40
        config.training.log_every = 20
        config.training.batch_size = 32
        config.sweep.num_seeds = 1
        config.collapse.free_bits = (0.0, 0.5)
        config.collapse.kl_warmup_steps = (20,)
        config.collapse.latents = 2
        config.collapse.draws_per_latent = 3
        config.classifier.num_steps = 50
        config.evaluation.iwae_samples = 4
        config.evaluation.mi_examples = 32
        config.evaluation.samples_per_label = 2
        config.evaluation.swap_examples = 16
    elif arg:
        raise ConfigError(f"Unknown config argument {arg!r}; use '' or 'smoke'.")
    return config
