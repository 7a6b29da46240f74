"""One process of a two-process sweep joined by jax.distributed (tests/test_multihost.py).

python tests/multihost_driver.py PROCESS_ID PORT WORKDIR OUT.npz
Each process has one XLA CPU device; gloo carries the collectives. Trains the sweep of
tests/sweep_driver.py with checkpoints under WORKDIR (resuming if any) and, on process 0,
writes every state leaf and history array to OUT.npz.
"""

import os
import sys

import jax

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main(process_id: int, port: int, workdir: str, out: str) -> None:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.config.update("jax_num_cpu_devices", 1)
    jax.distributed.initialize(f"localhost:{port}", num_processes=2, process_id=process_id)
    import numpy as np
    from absl import logging

    from cvae_jax.training import runner
    from tests.sweep_driver import flat, small_config

    logging.set_verbosity(logging.INFO)
    directory = os.path.join(workdir, "checkpoints")
    _, result = runner.train_sweep(small_config(), checkpoint_dir=directory)
    if process_id == 0:
        np.savez(out, **flat(result))
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
