"""Issue 4: class-conditional digit generation over beta x prior, and style/content swaps.

python -m experiments.digits --config=configs/digits.py --workdir=runs/digits
python -m experiments.digits --config=configs/digits.py:smoke --workdir=/tmp/digits_smoke
On MNIST-format files you already have (nothing is downloaded):
python -m experiments.digits --config=configs/digits.py --workdir=runs/mnist \
  --config.data.name=mnist --config.data.path=/path/to/mnist_idx_dir
"""

from absl import app, flags, logging
from ml_collections import config_flags

from cvae_jax import digits

_CONFIG = config_flags.DEFINE_config_file("config", "configs/digits.py")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for metrics and figures.", required=True)


def main(argv):
    del argv
    out = digits.run(_CONFIG.value, _WORKDIR.value)
    logging.info("classifier test accuracy %.4f", out["classifier"]["test_accuracy"])
    for row in out["members"]:
        logging.info(
            "%-20s beta %-5g seed %d | test ELBO %8.3f | IWAE %8.3f | cond acc %.3f | swap acc %.3f",
            row["prior"], row["beta"], row["seed"], row["test_elbo"], row["test_iwae"],
            row["conditional_accuracy"], row["swap_accuracy"],
        )  # fmt: skip
    logging.info("total %.1fs; outputs in %s", out["total_seconds"], _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
