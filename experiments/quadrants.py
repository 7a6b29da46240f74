"""Issue 4: structured output prediction, observe 1-3 quadrants of a digit and predict the rest.

python -m experiments.quadrants --config=configs/quadrants.py --workdir=runs/quadrants
python -m experiments.quadrants --config=configs/quadrants.py:smoke --workdir=/tmp/quadrants_smoke
On MNIST-format files you already have (nothing is downloaded):
python -m experiments.quadrants --config=configs/quadrants.py --workdir=runs/mnist_quadrants \
  --config.data.name=mnist --config.data.path=/path/to/mnist_idx_dir
"""

from absl import app, flags, logging
from ml_collections import config_flags

from cvae_jax import quadrants

_CONFIG = config_flags.DEFINE_config_file("config", "configs/quadrants.py")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for metrics and figures.", required=True)


def main(argv):
    del argv
    out = quadrants.run(_CONFIG.value, _WORKDIR.value)
    logging.info("-log p(x|c) on the test set (nats):\n%s", out["nll_table_markdown"])
    logging.info("total %.1fs; outputs in %s", out["total_seconds"], _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
