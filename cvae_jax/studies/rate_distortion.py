"""Posterior collapse and its remedies on the rate-distortion plane (Higgins et al. 2017; Bowman et al. 2016; Kingma et al. 2016; Burgess et al. 2018).

Each family of objectives is one compiled grid over its own knob, trained on the same data
with the same model, then evaluated with every diagnostic of `evaluation.members`:
  beta_vae         distortion + beta * rate, beta swept (Higgins et al. 2017)
  capacity         distortion + gamma * |rate - C(t)|, C rising to C_max, C_max swept
                   (Burgess et al. 2018)
  free_bits_dim    distortion + sum_j max(lambda, KL_j), one group per latent dimension
  free_bits_group  the same over groups of dimensions, lambda scaled to the group size
                   (Kingma et al. 2016)
  kl_annealing     distortion + w(t) * rate, w rising from 0 to 1 over the warm-up, swept
                   (Bowman et al. 2016)
Comparing them at matched rates shows which keeps more latent units active, and at what
distortion and test log-likelihood, for the same number of nats through the latent.
"""

import os
import time

import numpy as np

from cvae_jax.errors import ConfigError
from cvae_jax.runs import results
from cvae_jax.runs.study import Study, Variant, train_variants, variant
from cvae_jax.studies import grid_plots
from cvae_jax.studies import sweep as sweep_study
from cvae_jax.studies.digits import train_judge

FAMILIES = ("beta_vae", "capacity", "free_bits_dim", "free_bits_group", "kl_annealing")
# the grid axis each family sweeps
AXIS = {
    "beta_vae": "beta",
    "capacity": "capacity",
    "free_bits_dim": "free_bits",
    "free_bits_group": "free_bits",
    "kl_annealing": "kl_warmup_steps",
}
CURVES = {
    "test_distortion": "distortion -E log p(x|z,y) (nats)",
    "active_units": "active units",
    "test_iwae": "test IWAE bound on log p(x|y) (nats)",
}


def family_variant(config, name: str) -> Variant:
    """The config of one family: its objective switched on and its knob as the grid axis."""
    v = variant(config, name)
    c, f = v.config, config.families
    if name == "beta_vae":
        c.sweep.betas = tuple(f.beta)
    elif name == "capacity":
        c.sweep.betas = (0.0,)  # the capacity term replaces the beta-weighted rate
        c.objective.capacity_gamma = f.capacity_gamma
        c.objective.capacity_steps = f.capacity_steps
        c.sweep.grid.capacity = tuple(f.capacity)
    elif name in ("free_bits_dim", "free_bits_group"):
        size = 1 if name == "free_bits_dim" else f.free_bits_group_size
        c.sweep.betas = (1.0,)
        c.objective.free_bits_groups = c.model.latent_dim // size
        c.sweep.grid.free_bits = tuple(size * lam for lam in f.free_bits)  # nats per group
    elif name == "kl_annealing":
        c.sweep.betas = (1.0,)
        c.sweep.grid.kl_warmup_steps = tuple(f.kl_warmup_steps)
    return v


def variants(config) -> list[Variant]:
    return [family_variant(config, name) for name in config.variants]


def check(config) -> None:
    for name in config.variants:
        if name not in FAMILIES:
            raise ConfigError(f"Unknown family {name!r} in variants; choose among {FAMILIES}.")
    if config.model.latent_dim % config.families.free_bits_group_size:
        raise ConfigError(
            f"families.free_bits_group_size={config.families.free_bits_group_size} must "
            f"divide model.latent_dim={config.model.latent_dim}."
        )


def at_matched_rates(rows: list[dict], rates) -> list[dict]:
    """Each family's metrics interpolated at the given rates along its curve (means over
    seeds); None outside the range of rates the family reached."""
    table = []
    for name in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == name]
        axis = [AXIS[name]]
        rate = grid_plots.seed_means(mine, axis, "test_rate")
        order = sorted(rate, key=rate.get)
        xs = np.asarray([rate[k] for k in order])
        for target in rates:
            row = {"family": name, "rate": float(target)}
            for metric in CURVES:
                ys = grid_plots.seed_means(mine, axis, metric)
                inside = xs.min() <= target <= xs.max()
                row[metric] = (
                    float(np.interp(target, xs, [ys[k] for k in order])) if inside else None
                )
            table.append(row)
    return table


def run(config, workdir: str) -> dict:
    start = time.perf_counter()
    given = config  # config.json holds it as given, so a rerun finds the same config
    config, splits = sweep_study.labelled_splits(config)
    classify, judge = train_judge(splits, config)
    rows, timings = [], {}
    for v, setup, sweep in train_variants(variants(config), workdir, lambda v: splits.train):
        family_rows, eval_seconds = sweep_study.evaluate(
            v.config, setup, sweep, splits, classify, variant=v.name
        )
        rows += family_rows
        timings[v.name] = {"train_seconds": sweep.seconds, "eval_seconds": eval_seconds}
    title = (
        f"{config.data.name}: latent {config.model.latent_dim}, {config.training.num_steps} steps"
    )
    for metric, label in CURVES.items():
        path = os.path.join(workdir, f"{metric.removeprefix('test_')}_vs_rate.png")
        grid_plots.against_rate(path, rows, metric, label, "variant", title)
    matched = at_matched_rates(rows, config.matched_rates)
    summary = {
        "data": sweep_study.data_summary(config, splits),
        "classifier": judge,
        "timings": timings,
        "matched_rates": matched,
        "total_seconds": time.perf_counter() - start,
    }
    results.write_csv(os.path.join(workdir, "matched_rates.csv"), matched)
    return results.write_study(workdir, given, rows, summary)


def report(out: dict) -> list[str]:
    lines = []
    for r in out["rows"]:
        axis = AXIS[r["variant"]]
        lines.append(
            f"{r['variant']:<16} {axis}={r[axis]:<6g} seed {r['seed']} | rate "
            f"{r['test_rate']:6.2f} distortion {r['test_distortion']:7.2f} IWAE "
            f"{r['test_iwae']:8.2f} | active {r['active_units']}"
        )
    for r in out["matched_rates"]:
        cells = " ".join(f"{k} {'-' if r[k] is None else format(r[k], '.2f')}" for k in CURVES)
        lines.append(f"at rate {r['rate']:g}: {r['family']:<16} {cells}")
    return lines + [f"total {out['total_seconds']:.1f}s"]


STUDY = Study("rate_distortion", variants, run, check, report)
