"""The two-cluster cVAE study of seed 000 (section 3): the project's main job.

python -m experiments.toy2d --config=configs/toy2d.py --workdir=runs/toy2d
"""

from absl import app, flags
from ml_collections import config_flags

from cvae_jax import toy2d

_CONFIG = config_flags.DEFINE_config_file("config", "configs/toy2d.py")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for metrics and figures.", required=True)


def main(argv):
    del argv
    toy2d.run(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
