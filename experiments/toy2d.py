"""The toy2d study: python -m experiments.toy2d --config=configs/toy2d.py --workdir=DIR

Re-running the same command resumes from the checkpoints under --workdir (or, if the run
finished, rewrites the outputs without training); a workdir holding a run with another
config is refused unless --overwrite is given. Append :smoke to the config for a tiny run.
"""

from cvae_jax.runs import launch
from cvae_jax.studies import toy2d

if __name__ == "__main__":
    launch.run(toy2d.STUDY, "configs/toy2d.py")
