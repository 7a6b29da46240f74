"""Disentanglement measured (beta-VAE, controlled capacity, a cVAE given the shape):
python -m experiments.disentanglement --config=configs/disentanglement.py --workdir=DIR

Re-running the same command resumes from the checkpoints under --workdir. Append :smoke to
the config for a tiny run.
"""

from cvae_jax.runs import launch
from cvae_jax.studies import disentanglement

if __name__ == "__main__":
    launch.run(disentanglement.STUDY, "configs/disentanglement.py")
