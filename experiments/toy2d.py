"""The two-cluster cVAE study of seed 000 (section 3): the project's main job.

    python -m experiments.toy2d --config=configs/toy2d.py --workdir=runs/toy2d

Re-running the same command resumes each variant's sweep from its newest checkpoint (or, if
finished, rewrites the outputs without training); a workdir holding a run with another config
is refused unless --overwrite is given.
"""

from absl import app, flags, logging
from ml_collections import config_flags

from cvae_jax import toy2d, workdir

_CONFIG = config_flags.DEFINE_config_file("config", "configs/toy2d.py")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for metrics and figures.", required=True)
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
    toy2d.run(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
