"""Shared fixtures: small configs that train in a second or two on a CPU."""

import os

# The tests compile hundreds of small programs. At XLA's backend optimisation level 1 they
# compile ~5x faster (8 s -> 1.6 s for a model's init); every equality the tests check is
# between two runs under the same flag. Launchers run in subprocesses inherit it.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=1"
    )

import pytest  # noqa: E402

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
