"""Le (2018)'s Gaussian unknown-mean cVAE: does training recover its known optimum theta*, phi*?"""

import os

import numpy as np

from cvae_jax.errors import ConfigError
from cvae_jax.evaluation.rows import member_rows
from cvae_jax.models import linear
from cvae_jax.runs import results
from cvae_jax.runs.study import Study, train_variants, variant
from cvae_jax.training.sweep import diverged_members


def variants(config):
    return [variant(config, "le_cvae")]  # one sweep: beta x seed


def learned_parameters(sweep) -> dict[str, np.ndarray]:
    """The seven scalars of every member, name -> [S, H]."""
    S, H = np.shape(sweep.state.step)
    per_member = [
        [linear.le_parameters(sweep.member_params(s, h)) for h in range(H)] for s in range(S)
    ]
    return {
        name: np.array([[m[name] for m in row] for row in per_member]) for name in per_member[0][0]
    }


def run(config, workdir: str) -> dict:
    """Trains the sweep (resuming from checkpoints); writes metrics.json/csv and summary.json."""
    [(_, _, sweep)] = list(train_variants(variants(config), workdir))
    optimum = linear.le_optimum(config.mu0, config.sigma0, config.sigma)
    learned = learned_parameters(sweep)
    parameters = {}
    for name, analytic in optimum.items():
        values = learned[name][:, 0]  # one beta (1): the ELBO itself
        parameters[name] = {
            "analytic": analytic,
            "learned_mean": float(values.mean()),
            "learned_per_seed": values.tolist(),
            "abs_error": float(abs(values.mean() - analytic)),
        }
    summary = {
        "constants": {"mu0": config.mu0, "sigma0": config.sigma0, "sigma": config.sigma},
        "parameters": parameters,
        "max_abs_error": max(p["abs_error"] for p in parameters.values()),
        "num_steps": config.training.num_steps,
        "num_examples": config.data.num_examples,
        "train_seconds": sweep.seconds,  # every process of the run, resumed ones included
        "diverged": diverged_members(sweep.state, sweep.seeds, sweep.hyper),  # seed, beta, step
    }
    rows = member_rows(sweep, learned, variant="le_cvae")
    results.write_metrics(workdir, config, rows, rows)
    results.write_json(os.path.join(workdir, "summary.json"), summary)
    return summary


def check(config) -> None:
    if config.data.name != "gaussian_mean" or config.model.kind != "gaussian_mean":
        raise ConfigError(
            "the gaussian_mean study compares with Le's closed-form optimum, so it needs "
            "data.name='gaussian_mean' and model.kind='gaussian_mean'."
        )


def report(summary: dict) -> list[str]:
    lines = [
        f"{name} learned {p['learned_mean']:.4f} analytic {p['analytic']:.4f}"
        for name, p in summary["parameters"].items()
    ]
    return lines + [f"max |learned - analytic| = {summary['max_abs_error']:.4f}"]


STUDY = Study("gaussian_mean", variants, run, check, report)
