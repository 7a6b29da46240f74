"""Live metrics in TensorBoard: one run per sweep member, named by its hyperparameters.

Optional (`pip install 'cvae-jax[tensorboard]'`, which brings tensorboardX and no
TensorFlow) and off unless `logging.tensorboard=True`. The writer is a chunk callback: it
writes the chunk-mean metrics the sweep already read back, so it adds no device round trip.
Each member's run carries its hyperparameters (the HPARAMS tab compares them); a sweep of
thousands of members opens as many event files, so keep it for sweeps you watch.
"""

import os

import numpy as np

from cvae_jax import config as config_lib
from cvae_jax.errors import ConfigError
from cvae_jax.training.sweep import describe, sweep_hyper

METRICS = ("loss", "distortion", "rate", "elbo")  # the train-step metrics, one series each


def _tensorboardx():
    try:
        import tensorboardX
    except ImportError as e:
        raise ConfigError(
            "logging.tensorboard=True needs tensorboardX: pip install 'cvae-jax[tensorboard]' "
            "(or set logging.tensorboard=False)."
        ) from e
    return tensorboardX


def member_name(seed: int, hyper: dict, h: int) -> str:
    """'seed=0,beta=1,capacity=5': the seed, beta and every axis that varies."""
    return ",".join([f"seed={seed}", *describe(hyper, h).split()])


class TensorBoardWriter:
    """`writer(state, metrics)` after each chunk; `close()` at the end."""

    def __init__(self, logdir: str, config):
        tbx = _tensorboardx()
        hyper = {k: np.asarray(v) for k, v in sweep_hyper(config_lib.grid(config)).items()}
        seeds = config.sweep.seed + np.arange(config.sweep.num_seeds)
        self.writers = {}
        for s, seed in enumerate(seeds):
            for h in range(len(hyper["beta"])):
                name = member_name(int(seed), hyper, h)
                writer = tbx.SummaryWriter(os.path.join(logdir, name))
                point = {k: float(v[h]) for k, v in hyper.items()} | {"seed": int(seed)}
                metric_tags = {f"train/{m}": 0.0 for m in METRICS}
                for summary in tbx.summary.hparams(point, metric_tags):
                    writer.file_writer.add_summary(summary)
                self.writers[s, h] = writer

    def __call__(self, state, metrics) -> None:
        step = int(np.max(np.asarray(state.step)))
        for (s, h), writer in self.writers.items():
            for name in METRICS:
                writer.add_scalar(f"train/{name}", float(metrics[name][s, h]), step)
            writer.flush()

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


def writer_for(config, logdir: str) -> TensorBoardWriter | None:
    """A writer if the config asks for one (`logging.tensorboard`), else None."""
    if not config.get("logging", {}).get("tensorboard", False):
        return None
    return TensorBoardWriter(logdir, config)
