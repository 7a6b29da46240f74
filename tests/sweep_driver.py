"""Runs the small sweep of the resume tests in its own process (tests/test_checkpoint.py).

python tests/sweep_driver.py WORKDIR OUT.npz [--reference] [--kill=STAGE:STEP]
Trains (resuming from WORKDIR/checkpoints) and writes every state leaf and history array to
OUT.npz; --reference also trains the same sweep uninterrupted, without checkpoints, into
OUT.npz's `ref/` entries. The sweep is sharded over two XLA CPU devices (the launchers'
default on a 2-core machine), so resuming is checked on a sharded layout. --kill=in_save:<step> kills this process with SIGKILL while
checkpoint <step> is being written (after its files, before the rename that completes it);
--kill=after_chunk:<step> kills it after the chunk ending at <step> (and its checkpoint).
"""

import os
import signal
import sys

import jax
import numpy as np
from absl import logging

from cvae_jax.config import base_config
from cvae_jax.runs import devices
from cvae_jax.training import checkpoint, runner


def small_config():
    config = base_config()
    config.data.num_examples = 256
    config.model.hidden = (8,)
    config.training.num_steps = 80
    config.training.log_every = 10
    config.training.batch_size = 16
    config.training.checkpoint_every = 20
    config.training.checkpoints_to_keep = 2
    config.sweep.betas = (0.5, 1e38)  # the second beta diverges at step 0 and is frozen
    # A 2-D grid: resume must restore every axis (the learning rate lives in opt_state).
    config.sweep.grid.learning_rate = (1e-2, 3e-3)
    config.sweep.num_seeds = 2
    return config


def flat(result, prefix: str = "") -> dict:
    leaves = {
        f"{prefix}state/{i}": np.asarray(a) for i, a in enumerate(jax.tree.leaves(result.state))
    }
    return leaves | {f"{prefix}history/{k}": np.asarray(v) for k, v in result.history.items()}


def kill_hooks(kill: str) -> checkpoint.Hooks:
    """Checkpoint hooks that SIGKILL this process at `stage:step`."""
    stage, _, step = kill.partition(":")

    def kill_at(at_stage):
        def hook(now: int) -> None:
            if at_stage == stage and now == int(step):
                os.kill(os.getpid(), signal.SIGKILL)

        return hook

    return checkpoint.Hooks(kill_at("in_save"), kill_at("after_chunk"))


def main(workdir: str, out: str, reference: bool, kill: str) -> None:
    devices.use_cpu_devices(2)
    logging.set_verbosity(logging.INFO)
    hooks = kill_hooks(kill) if kill else None
    directory = os.path.join(workdir, "checkpoints")
    _, result = runner.train_sweep(small_config(), checkpoint_dir=directory, hooks=hooks)
    arrays = flat(result)
    if reference:
        _, uninterrupted = runner.train_sweep(small_config())
        arrays |= flat(uninterrupted, "ref/")
    np.savez(out, **arrays)


if __name__ == "__main__":
    kills = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--kill=")]
    main(sys.argv[1], sys.argv[2], "--reference" in sys.argv, kills[0] if kills else "")
