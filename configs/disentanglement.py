"""Disentanglement measured: beta x 10 seeds in one compiled sweep (Higgins et al. 2017;
Locatello et al. 2019), controlled capacity (Burgess et al. 2018), and a cVAE given the shape.

python -m experiments.disentanglement --config=configs/disentanglement.py --workdir=DIR
python -m experiments.disentanglement --config=configs/disentanglement.py:smoke --workdir=DIR
The official dSprites file instead of the drawn shapes (64x64; keep num_examples modest):
  --config.data.name=dsprites --config.data.path=/path/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz
"""

import ml_collections

from cvae_jax.config import base_config
from cvae_jax.errors import ConfigError


def get_config(arg: str = ""):
    config = base_config()
    config.data.name = "shapes"  # 4 shapes x 6 scales x 8 orientations x 8 x 8 positions
    config.data.image_size = 32
    config.data.num_examples = 12288  # the whole factor product
    config.data.num_classes = 0  # the cvae_shape variant sets it
    config.data.condition_factor = ""
    config.data.test_fraction = 0.2

    config.model.kind = "image_mlp"
    config.model.hidden = (512, 256)
    config.model.latent_dim = 10  # Locatello et al.'s 10 latents
    config.model.likelihood = "bernoulli"
    config.model.prior = "standard"

    config.training.num_steps = 6000
    config.training.batch_size = 64
    config.training.learning_rate = 1e-3
    config.training.log_every = 500
    config.sweep.betas = (1.0,)
    config.sweep.num_seeds = 10  # seeds matter as much as beta (Locatello et al. 2019)

    config.variants = ("beta", "capacity", "cvae_shape")
    config.disentanglement = ml_collections.ConfigDict()
    config.disentanglement.betas = (1.0, 2.0, 4.0, 6.0, 8.0, 16.0)  # Locatello et al.'s grid
    config.disentanglement.capacity = (5.0, 10.0, 25.0)  # C_max, nats (Burgess et al.: 25)
    config.disentanglement.capacity_gamma = 100.0
    config.disentanglement.capacity_steps = 5000  # C rises from 0 to C_max over these steps
    config.disentanglement.condition_factor = "shape"  # the cvae variant's y

    config.evaluation = ml_collections.ConfigDict()
    config.evaluation.examples = 2458  # test images whose codes are scored (the whole split)
    config.evaluation.metric_points = 1000  # training points of the score classifiers
    config.evaluation.mi_examples = 1000  # I(Z;Y) of the cVAE (the rate split)
    config.evaluation.traversal_beta = 4.0  # traversals of the best and worst seed here
    config.evaluation.traversal_metric = "mig"
    config.evaluation.time_one_member = True  # one-member sweep: the model-at-a-time cost
    config.evaluation.seed = 0
    if arg == "smoke":
        config.data.image_size = 16
        config.data.num_examples = 600
        config.model.hidden = (32,)
        config.model.latent_dim = 4
        config.training.num_steps, config.training.log_every = 20, 10
        config.training.batch_size = 32
        config.sweep.num_seeds = 2
        config.disentanglement.betas = (1.0, 4.0)
        config.disentanglement.capacity = (2.0,)
        config.disentanglement.capacity_steps = 10
        config.evaluation.examples = 120
        config.evaluation.metric_points = 60
        config.evaluation.mi_examples = 64
    elif arg:
        raise ConfigError(f"Unknown config argument {arg!r}; use '' or 'smoke'.")
    return config
