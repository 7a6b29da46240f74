"""The digits study: python -m experiments.digits --config=configs/digits.py --workdir=DIR

Re-running the same command resumes from the checkpoints under --workdir (or, if the run
finished, rewrites the outputs without training); a workdir holding a run with another
config is refused unless --overwrite is given. Append :smoke to the config for a tiny run.
"""

from cvae_jax.runs import launch
from cvae_jax.studies import digits

if __name__ == "__main__":
    launch.run(digits.STUDY, "configs/digits.py")
