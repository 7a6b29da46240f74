"""The gaussian_mean study: python -m experiments.gaussian_mean --config=configs/gaussian_mean.py --workdir=DIR

Re-running the same command resumes from the checkpoints under --workdir (or, if the run
finished, rewrites the outputs without training); a workdir holding a run with another
config is refused unless --overwrite is given. Append :smoke to the config for a tiny run.
"""

from cvae_jax.runs import launch
from cvae_jax.studies import gaussian_mean

if __name__ == "__main__":
    launch.run(gaussian_mean.STUDY, "configs/gaussian_mean.py")
