"""Latent families side by side: every prior x posterior x depth that is defined, and the
IWAE objective, each one compiled sweep over beta x seeds.

python -m experiments.families --config=configs/families.py --workdir=runs/families
python -m experiments.families --config=configs/families.py:smoke --workdir=/tmp/families
MNIST-format files instead of the bundled digits:
  --config.data.name=mnist --config.data.path=/path/to/idx_dir
"""

import ml_collections

from cvae_jax.config import base_config, classifier_config
from cvae_jax.errors import ConfigError

# <prior>[+iaf][+hvae][+iwae]: every combination the families define (no vamp with iaf or
# a hierarchy, no iaf in a hierarchy), and the IWAE objective on the plain model.
ALL_FAMILIES = (
    "standard", "mog", "vamp", "flow",
    "standard+iaf", "mog+iaf", "flow+iaf",
    "standard+hvae", "mog+hvae", "flow+hvae",
    "standard+iwae", "vq",
)  # fmt: skip


def get_config(arg: str = ""):
    config = base_config()
    config.data.name = "digits"  # digits | mnist | fashion_mnist
    config.data.path = ""
    config.data.num_classes = 0  # counted from the labels
    config.data.test_fraction = 0.2
    config.data.max_train_examples = 0
    config.data.binarize = "dynamic"  # Bernoulli likelihood of binary pixels

    config.model.kind = "mlp"
    config.model.latent_dim = 8
    config.model.hidden = (256,)
    config.model.likelihood = "bernoulli"
    config.model.prior_components = 50  # mog and vamp (Tomczak & Welling used 500 on MNIST)
    config.model.flow_steps = 2
    config.model.flow_hidden = (128,)

    config.training.num_steps = 5000
    config.training.batch_size = 128
    config.training.learning_rate = 1e-3
    config.training.log_every = 500

    config.sweep.betas = (0.5, 1.0, 2.0)
    config.sweep.num_seeds = 2

    config.variants = ALL_FAMILIES
    config.families = ml_collections.ConfigDict()
    config.families.latent_dims = (8, 4)  # +hvae: d_1, d_2 (bottom-up)
    config.families.iwae_samples = 5  # +iwae: k of the training bound (Burda et al.: 5, 50)
    config.families.codebook_size = 32  # vq: K codes of code_dim, model.latent_dim of them
    config.families.code_dim = 4
    config.families.codebook_update = "ema"  # the paper's appendix; or 'gradient'

    config.classifier = classifier_config()

    config.evaluation = ml_collections.ConfigDict()
    config.evaluation.iwae_samples = 1000
    config.evaluation.mi_examples = 300
    config.evaluation.samples_per_label = 100
    config.evaluation.swap_examples = 200
    config.evaluation.seed = 0

    config.figures = ml_collections.ConfigDict()
    config.figures.samples_per_label = 8
    if arg == "smoke":
        config.variants = ("vamp", "flow+iaf", "mog+hvae+iwae", "vq")  # every family
        config.families.codebook_size = 4
        config.model.hidden = (16,)
        config.model.latent_dim = 2
        config.model.prior_components = 10
        config.model.flow_hidden = (8,)
        config.families.latent_dims = (2, 2)
        config.families.iwae_samples = 2
        config.training.num_steps = 40
        config.training.log_every = 20
        config.training.batch_size = 32
        config.sweep.betas = (1.0,)
        config.sweep.num_seeds = 1
        config.classifier.num_steps = 50
        config.evaluation.iwae_samples = 4
        config.evaluation.mi_examples = 32
        config.evaluation.samples_per_label = 4
        config.evaluation.swap_examples = 16
        config.figures.samples_per_label = 3
    elif arg:
        raise ConfigError(f"Unknown config argument {arg!r}; use '' or 'smoke'.")
    return config
