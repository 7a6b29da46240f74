"""Issue 4: class-conditional digit generation over beta x prior, and style/content swaps.

python -m experiments.digits --config=configs/digits.py --workdir=runs/digits
python -m experiments.digits --config=configs/digits.py:smoke --workdir=/tmp/digits_smoke
On MNIST-format files you already have (nothing is downloaded):
python -m experiments.digits --config=configs/digits.py --workdir=runs/mnist \
  --config.data.name=mnist --config.data.path=/path/to/mnist_idx_dir
Re-running the same command resumes from the checkpoints under --workdir; a workdir
holding a run with another config is refused unless --overwrite is given.
"""

from absl import app, logging

from cvae_jax import digits, launch

_CONFIG, _WORKDIR, _OVERWRITE = launch.define_flags("configs/digits.py")


def main(argv):
    del argv
    launch.prepare_workdir(_WORKDIR.value, _CONFIG.value, _OVERWRITE.value)
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
