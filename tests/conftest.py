"""Shared fixtures: small configs that train in a second or two on a CPU."""

import pytest

from cvae_jax.config import base_config


@pytest.fixture
def tiny_config():
    config = base_config()
    config.data.num_examples = 512
    config.model.hidden = (16,)
    config.training.num_steps = 60
    config.training.log_every = 20
    config.training.batch_size = 32
    config.training.learning_rate = 1e-2
    config.sweep.betas = (0.0, 0.5, 2.0)
    config.sweep.num_seeds = 2
    return config
