"""A grid sweep on your own labelled data:
python -m experiments.sweep --config=configs/sweep.py --workdir=DIR \\
    --config.data.name=npz --config.data.path=F.npz --config.sweep.grid.capacity='(0.0,2.0)'

Re-running the same command resumes from the checkpoints under --workdir; append :smoke to
the config for a tiny run. See cvae_jax/studies/sweep.py for what it writes.
"""

from cvae_jax.runs import launch
from cvae_jax.studies import sweep

if __name__ == "__main__":
    launch.run(sweep.STUDY, "configs/sweep.py")
