"""Seed 001: train the Gaussian unknown-mean cVAE and compare with the analytic optimum."""

from absl import app, flags, logging
from ml_collections import config_flags

from cvae_jax import gaussian_mean

_CONFIG = config_flags.DEFINE_config_file("config", "configs/gaussian_mean.py")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for results.json.", required=True)


def main(argv):
    del argv
    results = gaussian_mean.run(_CONFIG.value, _WORKDIR.value)
    for name, row in results["parameters"].items():
        logging.info("%s learned %.4f analytic %.4f", name, row["learned_mean"], row["analytic"])
    logging.info("max |learned - analytic| = %.4f", results["max_abs_error"])


if __name__ == "__main__":
    app.run(main)
