"""Runs the small sweep of the resume tests in its own process (tests/test_checkpoint.py).

python tests/sweep_driver.py WORKDIR OUT.npz [--reference]
Trains (resuming from WORKDIR's checkpoints) and writes every state leaf and history array to
OUT.npz; --reference also trains the same sweep uninterrupted, without a workdir, into
OUT.npz's `ref/` entries. The environment variable CVAE_JAX_TEST_KILL (see checkpoint.py)
makes the process kill itself at a chosen point.
"""

import sys

import jax
import numpy as np
from absl import logging

from configs.base import base_config
from cvae_jax import runner


def small_config():
    config = base_config()
    config.data.num_examples = 256
    config.model.hidden = (8,)
    config.training.num_steps = 80
    config.training.log_every = 10
    config.training.batch_size = 16
    config.training.checkpoint_every = 20
    config.training.checkpoints_to_keep = 2
    config.sweep.betas = (0.5, 1e38)  # the second member diverges at step 0 and is frozen
    config.sweep.num_seeds = 2
    return config


def flat(result, prefix: str = "") -> dict:
    leaves = {
        f"{prefix}state/{i}": np.asarray(a) for i, a in enumerate(jax.tree.leaves(result.state))
    }
    return leaves | {f"{prefix}history/{k}": np.asarray(v) for k, v in result.history.items()}


def main(workdir: str, out: str, reference: bool) -> None:
    logging.set_verbosity(logging.INFO)
    _, result = runner.train_sweep(small_config(), workdir=workdir)
    arrays = flat(result)
    if reference:
        _, uninterrupted = runner.train_sweep(small_config())
        arrays |= flat(uninterrupted, "ref/")
    np.savez(out, **arrays)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--reference" in sys.argv)
