"""Le (2018): the Gaussian unknown-mean cVAE, whose optimum theta*, phi* is known.

python -m experiments.gaussian_mean --config=configs/gaussian_mean.py --workdir=DIR
--config.mu0=2.0 --config.sigma0=0.5 --config.sigma=1.5   # other constants
"""

from cvae_jax.config import base_config
from cvae_jax.errors import ConfigError


def get_config(arg: str = ""):
    config = base_config()
    config.mu0, config.sigma0, config.sigma = 1.0, 1.0, 1.0  # the generative constants
    config.data.name = "gaussian_mean"
    config.data.num_classes = 0  # c is a continuous condition
    config.data.num_examples = 100_000
    config.data.c_std = 1.0
    config.data.mu0 = config.get_ref("mu0")
    config.data.sigma0 = config.get_ref("sigma0")
    config.data.sigma = config.get_ref("sigma")
    config.model.kind = "gaussian_mean"
    config.training.num_steps = 20_000
    config.training.batch_size = 512
    config.training.learning_rate = 3e-2
    config.training.lr_schedule = "cosine"
    config.training.log_every = 2000
    config.sweep.betas = (1.0,)  # theta*, phi* are the optimum of the ELBO itself
    config.sweep.num_seeds = 3
    if arg == "smoke":
        config.training.num_steps = 4000
        config.training.log_every = 1000
    elif arg:
        raise ConfigError(f"Unknown config argument {arg!r}; use '' or 'smoke'.")
    return config
