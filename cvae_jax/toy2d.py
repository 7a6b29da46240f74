"""Seed 000 section 3 as one job: train, evaluate, tabulate and plot the two-cluster study.

One vmapped sweep (all betas x seeds) per prior variant; the variants differ in model
structure, so each is its own compiled call.
"""

import os

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from cvae_jax import plotting, results, runner
from cvae_jax import workdir as workdir_lib
from cvae_jax.data import TOY_VARIANCE, Dataset, toy_bayes_label, toy_log_density, two_gaussians
from cvae_jax.evaluation import evaluate_sweep
from cvae_jax.sweep import reported

CURVE_METRICS = (
    "recon_error",
    "rate",
    "mi_zxy",
    "mi_zy",
    "kl_conditional",
    "gen_accuracy",
    "swap_accuracy",
)


def linear_gaussian_optimum(beta, data_variance=TOY_VARIANCE, decoder_variance=1.0, dim=2):
    """Reconstruction error and rate at the beta-ELBO optimum when, within a cluster, x is
    Gaussian with `data_variance` per dimension and the decoder knows the cluster from y.

    beta * (decoder variance) acts as the noise variance of a linear-Gaussian model, so each
    dimension keeps its signal while beta * s2 < data variance (posterior collapse beyond):
      error = dim * min(beta * s2, data_variance), rate = dim/2 * log(data_variance / (beta * s2))+.
    The error is with z sampled from q, as in the figures; it needs no training to compute.
    """
    noise = np.maximum(np.asarray(beta, float) * decoder_variance, 1e-12)
    recon = dim * np.minimum(noise, data_variance)
    rate = 0.5 * dim * np.log(np.maximum(data_variance / noise, 1.0))
    return {"recon_error": recon, "rate": rate}


def variant_config(config, prior: str):
    """The config of one prior variant (a resolved copy; the original is not mutated)."""
    variant = config.copy_and_resolve_references()
    variant.model.prior = prior
    return variant


def member_rows(variant: str, sweep, metrics) -> list[dict]:
    """One row per (seed, beta): training results and every diagnostic, as plain floats."""
    rows = sweep.rows()
    num_betas = len(sweep.hyper["beta"])
    for i, row in enumerate(rows):
        s, h = divmod(i, num_betas)
        row["variant"] = variant
        for name, value in metrics.items():
            value = np.asarray(value[s, h])
            if value.ndim == 0:
                row[name] = value.item()
            else:  # per-label arrays become one column per label
                row.update(
                    {
                        f"{name.removesuffix('_per_label')}_y{c}": float(v)
                        for c, v in enumerate(value)
                    }
                )
    return rows


def beta_window(rows, variant: str, max_recon_error: float, min_swap_accuracy: float) -> dict:
    """Betas whose seed-mean reconstruction error and label-swap accuracy both pass."""
    betas = sorted({r["beta"] for r in rows if r["variant"] == variant})
    passing = []
    for beta in betas:
        members = [r for r in rows if r["variant"] == variant and r["beta"] == beta]
        recon = np.mean([r["recon_error"] for r in members])
        swap = np.mean([r["swap_accuracy"] for r in members])
        if recon < max_recon_error and swap > min_swap_accuracy:
            passing.append(beta)
    window = {"variant": variant, "passing_betas": passing}
    window["beta_min"] = min(passing) if passing else None
    window["beta_max"] = max(passing) if passing else None
    # Contiguous on the grid: no failing grid beta between the smallest and largest passing one.
    window["contiguous"] = bool(passing) and passing == [
        b for b in betas if passing[0] <= b <= passing[-1]
    ]
    return window


def curves(rows) -> dict:
    """Seed mean and standard deviation of each curve metric per (variant, beta)."""
    out = {}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        betas = sorted({r["beta"] for r in rows if r["variant"] == variant})
        out[variant] = {"beta": betas}
        for name in CURVE_METRICS:
            per_beta = [
                [r[name] for r in rows if r["variant"] == variant and r["beta"] == b] for b in betas
            ]
            out[variant][name] = {
                "mean": [float(np.mean(v)) for v in per_beta],
                "std": [float(np.std(v)) for v in per_beta],
            }
    return out


def run(config, workdir: str) -> dict:
    """Trains every (variant, beta, seed), evaluates all members, writes files and figures."""
    data = two_gaussians(config.data.seed, config.data.num_examples)
    ev = config.evaluation
    eval_np = two_gaussians(config.data.seed + 10_000 + ev.seed, ev.num_examples)  # held out
    eval_data = Dataset(jnp.asarray(eval_np.x), jnp.asarray(eval_np.y))
    eval_key = jax.random.key(ev.seed)
    rows, samples, seconds = [], {"x": eval_np.x, "y": eval_np.y}, {}
    for prior in config.variants:
        logging.info(
            "training variant %s: %d betas x %d seeds",
            prior,
            len(config.sweep.betas),
            config.sweep.num_seeds,
        )
        # Each variant's checkpoints sit under workdir/checkpoints, which --overwrite clears.
        variant_dir = os.path.join(workdir_lib.checkpoint_dir(workdir), prior)
        setup, sweep = runner.train_sweep(variant_config(config, prior), data, variant_dir)
        metrics, member_samples = evaluate_sweep(
            setup.model, sweep.state.params, eval_data, eval_key, num_classes=config.data.num_classes,
            classify=toy_bayes_label, log_density=toy_log_density, num_generated=ev.num_generated,
        )  # fmt: skip
        rows += member_rows(prior, sweep, jax.device_get(metrics))
        samples |= {f"{prior}/{k}": np.asarray(v) for k, v in member_samples.items()}
        seconds[prior] = sweep.seconds
    samples["betas"] = np.asarray([reported(b) for b in config.sweep.betas])
    samples["seeds"] = np.asarray(sweep.seeds)
    windows = [beta_window(rows, prior, **config.analysis) for prior in config.variants]
    for w in windows:
        logging.info(
            "beta window %s: [%s, %s] (passing %s)",
            w["variant"],
            w["beta_min"],
            w["beta_max"],
            w["passing_betas"],
        )
    summary = {
        "beta_windows": windows,
        "thresholds": dict(config.analysis),
        "curves": curves(rows),
        "train_seconds": seconds,
    }
    results.write_metrics(workdir, config, rows, rows)
    results.write_json(os.path.join(workdir, "summary.json"), summary)
    results.write_npz(os.path.join(workdir, "samples.npz"), samples)
    predicted = {k: lambda b, k=k: linear_gaussian_optimum(b)[k] for k in ("recon_error", "rate")}
    plotting.toy2d_figures(workdir, config.figures.betas, config.figures.seed_index, predicted)
    return summary
