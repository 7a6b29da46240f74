"""Posterior collapse against the decoder's receptive field, and its remedies:
python -m experiments.collapse --config=configs/collapse.py --workdir=DIR

Re-running the same command resumes from the checkpoints under --workdir; append :smoke to
the config for a tiny run. See cvae_jax/studies/collapse.py for what it writes.
"""

from cvae_jax.runs import launch
from cvae_jax.studies import collapse

if __name__ == "__main__":
    launch.run(collapse.STUDY, "configs/collapse.py")
