"""The two-cluster cVAE study of seed 000 (section 3): the project's main job.

    python -m experiments.toy2d --config=configs/toy2d.py --workdir=runs/toy2d

Re-running the same command resumes each variant's sweep from its newest checkpoint (or, if
finished, rewrites the outputs without training); a workdir holding a run with another config
is refused unless --overwrite is given.
"""

from absl import app

from cvae_jax import launch, toy2d

_CONFIG, _WORKDIR, _OVERWRITE = launch.define_flags("configs/toy2d.py")


def main(argv):
    del argv
    launch.prepare_workdir(_WORKDIR.value, _CONFIG.value, _OVERWRITE.value)
    toy2d.run(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
