"""Seed 001: train the Gaussian unknown-mean cVAE and compare with the analytic optimum.

Re-running the same command resumes from the newest checkpoint in --workdir (or, if the run
finished, rewrites results.json from the final checkpoint without training); a workdir that
holds a run with another config is refused unless --overwrite is given.
"""

from absl import app, logging

from cvae_jax import gaussian_mean, launch

_CONFIG, _WORKDIR, _OVERWRITE = launch.define_flags("configs/gaussian_mean.py")


def main(argv):
    del argv
    launch.prepare_workdir(_WORKDIR.value, _CONFIG.value, _OVERWRITE.value)
    results = gaussian_mean.run(_CONFIG.value, _WORKDIR.value)
    for name, row in results["parameters"].items():
        logging.info("%s learned %.4f analytic %.4f", name, row["learned_mean"], row["analytic"])
    logging.info("max |learned - analytic| = %.4f", results["max_abs_error"])


if __name__ == "__main__":
    app.run(main)
