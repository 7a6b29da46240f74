"""Latent families side by side (priors x posteriors x depth, the IWAE objective):
python -m experiments.families --config=configs/families.py --workdir=DIR

Re-running the same command resumes from the checkpoints under --workdir; append :smoke to
the config for a tiny run. See cvae_jax/studies/families.py for what it writes.
"""

from cvae_jax.runs import launch
from cvae_jax.studies import families

if __name__ == "__main__":
    launch.run(families.STUDY, "configs/families.py")
