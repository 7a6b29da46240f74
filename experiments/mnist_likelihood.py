"""The MNIST likelihood benchmark (Burda et al. 2016's protocol) beside the published table:
python -m experiments.mnist_likelihood --config=configs/mnist_likelihood.py --workdir=DIR \
    --config.data.path=/path/to/mnist

Re-running the same command resumes from the checkpoints under --workdir. Append :quick to
the config for the one-layer VAE in minutes, :smoke for the bundled digits in seconds.
"""

from cvae_jax.runs import launch
from cvae_jax.studies import mnist_likelihood

if __name__ == "__main__":
    launch.run(mnist_likelihood.STUDY, "configs/mnist_likelihood.py")
