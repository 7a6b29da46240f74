"""Posterior collapse and its remedies on the rate-distortion plane:
python -m experiments.rate_distortion --config=configs/rate_distortion.py --workdir=DIR

Re-running the same command resumes from the checkpoints under --workdir; append :smoke to
the config for a tiny run. See cvae_jax/studies/rate_distortion.py for what it writes.
"""

from cvae_jax.runs import launch
from cvae_jax.studies import rate_distortion

if __name__ == "__main__":
    launch.run(rate_distortion.STUDY, "configs/rate_distortion.py")
