"""Seed 001 experiment: does training recover theta*, phi* of the Gaussian unknown-mean cVAE?"""

import os

import numpy as np

from cvae_jax import linear_models, results, runner
from cvae_jax.sweep import diverged_members


def run(config, workdir: str) -> dict:
    """Trains the sweep of `config` and writes `workdir/results.json`."""
    setup, sweep = runner.train_sweep(config, workdir=workdir)  # resumes from checkpoints
    optimum = linear_models.le_optimum(config.mu0, config.sigma0, config.sigma)
    learned = [
        linear_models.le_parameters(sweep.member_params(s, 0)) for s in range(len(sweep.seeds))
    ]
    parameters = {}
    for name, analytic in optimum.items():
        values = np.array([member[name] for member in learned])
        parameters[name] = {
            "analytic": analytic,
            "learned_mean": float(values.mean()),
            "learned_per_seed": values.tolist(),
            "abs_error": float(abs(values.mean() - analytic)),
        }
    out = {
        "constants": {"mu0": config.mu0, "sigma0": config.sigma0, "sigma": config.sigma},
        "parameters": parameters,
        "max_abs_error": max(p["abs_error"] for p in parameters.values()),
        "num_steps": config.training.num_steps,
        "num_examples": config.data.num_examples,
        "train_seconds": sweep.seconds,  # this process only: a resumed run counts the rest
        "diverged": diverged_members(sweep.state, sweep.seeds, sweep.hyper),  # seed, beta, step
    }
    results.write_config(workdir, config)
    results.write_json(os.path.join(workdir, "results.json"), out)
    return out
