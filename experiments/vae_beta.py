"""The unconditional VAE's beta sweep (figure 5):
python -m experiments.vae_beta --config=configs/vae_beta.py --workdir=DIR

Re-running the same command resumes from the checkpoints under --workdir. Append :smoke to
the config for a tiny run.
"""

from cvae_jax.runs import launch
from cvae_jax.studies import vae_beta

if __name__ == "__main__":
    launch.run(vae_beta.STUDY, "configs/vae_beta.py")
