"""Issue 4: structured output prediction, observe 1-3 quadrants of a digit and predict the rest.

python -m experiments.quadrants --config=configs/quadrants.py --workdir=runs/quadrants
python -m experiments.quadrants --config=configs/quadrants.py:smoke --workdir=/tmp/quadrants_smoke
On MNIST-format files you already have (nothing is downloaded):
python -m experiments.quadrants --config=configs/quadrants.py --workdir=runs/mnist_quadrants \
  --config.data.name=mnist --config.data.path=/path/to/mnist_idx_dir
Re-running the same command resumes from the checkpoints under --workdir; a workdir
holding a run with another config is refused unless --overwrite is given.
"""

from absl import app, logging

from cvae_jax import launch, quadrants

_CONFIG, _WORKDIR, _OVERWRITE = launch.define_flags("configs/quadrants.py")


def main(argv):
    del argv
    launch.prepare_workdir(_WORKDIR.value, _CONFIG.value, _OVERWRITE.value)
    out = quadrants.run(_CONFIG.value, _WORKDIR.value)
    logging.info("-log p(x|c) on the test set (nats):\n%s", out["nll_table_markdown"])
    logging.info("total %.1fs; outputs in %s", out["total_seconds"], _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
