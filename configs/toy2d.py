"""Beckham, section 3: the two-cluster cVAE study, every prior variant x beta x seed.

python -m experiments.toy2d --config=configs/toy2d.py --workdir=runs/toy2d
python -m experiments.toy2d --config=configs/toy2d.py:smoke --workdir=/tmp/toy2d
"""

import numpy as np

from cvae_jax.config import base_config
from cvae_jax.errors import ConfigError

# The blog's three betas plus a log-spaced grid from 1e-3 to 10 for smooth curves.
BETAS = tuple(sorted({0.0, 0.01, 1.0, *np.round(np.geomspace(1e-3, 10.0, 13), 6).tolist()}))


def get_config(arg: str = ""):
    config = base_config()
    config.data.num_examples = 4000
    config.model.hidden = (64,)  # one hidden layer for encoder and decoder, as in the blog
    config.model.latent_dim = 2
    config.model.prior_means = ((-1.5, 0.0), (1.5, 0.0))  # fixed_conditional: p(z|y)
    config.training.num_steps = 6000
    config.training.learning_rate = 3e-3
    config.training.lr_schedule = "cosine"
    config.training.log_every = 1000
    config.sweep.betas = BETAS
    config.sweep.num_seeds = 3
    config.variants = ("standard", "learned_conditional", "fixed_conditional")

    config.evaluation = {"num_examples": 1000, "num_generated": 500, "seed": 1}
    # The "beta window": betas whose reconstruction error stays below the first threshold
    # and whose label-swap accuracy stays above the second (Beckham sec. 2.5.1).
    config.analysis = {"max_recon_error": 1.0, "min_swap_accuracy": 0.9}
    config.figures = {"betas": (0.0, 0.01, 1.0), "seed_index": 0}

    if arg == "smoke":
        config.data.num_examples = 1000
        config.training.num_steps = 600
        config.training.log_every = 200
        config.sweep.betas = (0.0, 0.01, 0.1, 1.0)
        config.sweep.num_seeds = 2
        config.evaluation.num_examples = 300
        config.evaluation.num_generated = 100
    elif arg:
        raise ConfigError(f"Unknown config argument {arg!r}; use '' or 'smoke'.")
    return config
