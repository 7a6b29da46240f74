"""Seed 001: train the Gaussian unknown-mean cVAE and compare with the analytic optimum.

Re-running the same command resumes from the newest checkpoint in --workdir (or, if the run
finished, rewrites results.json from the final checkpoint without training); a workdir that
holds a run with another config is refused unless --overwrite is given.
"""

from absl import app, flags, logging
from ml_collections import config_flags

from cvae_jax import gaussian_mean, workdir

_CONFIG = config_flags.DEFINE_config_file("config", "configs/gaussian_mean.py")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for results.json.", required=True)
_OVERWRITE = flags.DEFINE_bool(
    "overwrite", False, "Discard the checkpoints of a run with another config in --workdir."
)


def main(argv):
    del argv
    try:  # a bad config or a clashing workdir stops here, before anything is compiled
        status = workdir.prepare(_WORKDIR.value, _CONFIG.value, _OVERWRITE.value)
    except ValueError as e:
        raise app.UsageError(str(e)) from e
    logging.info("workdir %s: %s run", _WORKDIR.value, status)
    results = gaussian_mean.run(_CONFIG.value, _WORKDIR.value)
    for name, row in results["parameters"].items():
        logging.info("%s learned %.4f analytic %.4f", name, row["learned_mean"], row["analytic"])
    logging.info("max |learned - analytic| = %.4f", results["max_abs_error"])


if __name__ == "__main__":
    app.run(main)
