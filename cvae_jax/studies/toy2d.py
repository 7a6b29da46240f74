"""Beckham's two-cluster study (section 3) as one job: train, evaluate, tabulate and plot.

One vmapped sweep (all betas x seeds) per prior variant; the variants differ in model
structure, so each is its own compiled call (`runs.study`).
"""

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from cvae_jax.data.dataset import Dataset
from cvae_jax.data.synthetic import TOY_VARIANCE, toy_bayes_label, toy_log_density, two_gaussians
from cvae_jax.errors import ConfigError
from cvae_jax.evaluation.rows import member_rows
from cvae_jax.evaluation.toy import evaluate_sweep
from cvae_jax.runs import results
from cvae_jax.runs.study import Study, prior_variants, train_variants
from cvae_jax.studies import toy2d_plots
from cvae_jax.training.sweep import reported

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
    clock = {"train": 0.0, "evaluate": 0.0, "start": time.perf_counter()}
    for variant, setup, sweep in train_variants(prior_variants(config), workdir, lambda v: data):
        eval_start = time.perf_counter()
        metrics, member_samples = evaluate_sweep(
            setup.model, sweep.state.params, eval_data, eval_key, num_classes=config.data.num_classes,
            classify=toy_bayes_label, log_density=toy_log_density, num_generated=ev.num_generated,
        )  # fmt: skip
        rows += member_rows(sweep, jax.device_get(metrics), variant=variant.name)
        samples |= {f"{variant.name}/{k}": np.asarray(v) for k, v in member_samples.items()}
        seconds[variant.name] = sweep.seconds
        clock["train"] += sweep.seconds
        clock["evaluate"] += time.perf_counter() - eval_start
    samples["betas"] = np.asarray([reported(b) for b in config.sweep.betas])
    samples["seeds"] = np.asarray(sweep.seeds)
    windows = [beta_window(rows, prior, **config.analysis) for prior in config.variants]
    summary = {
        "beta_windows": windows,
        "thresholds": dict(config.analysis),
        "curves": curves(rows),
        "train_seconds": seconds,
    }
    write_start = time.perf_counter()
    results.write_metrics(workdir, config, rows, rows)
    results.write_json(os.path.join(workdir, "summary.json"), summary)
    results.write_npz(os.path.join(workdir, "samples.npz"), samples)
    predicted = {k: lambda b, k=k: linear_gaussian_optimum(b)[k] for k in ("recon_error", "rate")}
    toy2d_plots.toy2d_figures(workdir, config.figures.betas, config.figures.seed_index, predicted)
    summary["seconds"] = {
        "train": clock["train"],  # the training loops, compilation included
        "evaluate": clock["evaluate"],
        "write_and_figures": time.perf_counter() - write_start,
        "total": time.perf_counter() - clock["start"],
    }
    results.write_json(os.path.join(workdir, "summary.json"), summary)
    return summary


def check(config) -> None:
    """The study scores samples against the true two-cluster mixture, so it needs that data."""
    if config.data.name != "two_gaussians":
        raise ConfigError(
            f"data.name={config.data.name!r}: the toy2d study evaluates against the true "
            "two-cluster mixture, so it needs data.name='two_gaussians'. Train a sweep on your "
            "own data with cvae_jax.train_sweep (data.name='npz', data.path=F.npz)."
        )


def report(summary: dict) -> list[str]:
    split = ", ".join(f"{k} {v:.1f}s" for k, v in summary.get("seconds", {}).items())
    return [f"seconds: {split}"] + [
        f"beta window {w['variant']}: [{w['beta_min']}, {w['beta_max']}] "
        f"(passing {w['passing_betas']})"
        for w in summary["beta_windows"]
    ]


STUDY = Study("toy2d", prior_variants, run, check, report)
