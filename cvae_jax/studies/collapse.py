"""Posterior collapse where the VAE-limitations slides locate it: in a powerful decoder.

"If p(x|z) could be any distribution, the optimum is p(x|z) = pi(x)": an autoregressive
decoder (PixelVAE, Gulrajani et al. 2017) can model the image without z, so the ELBO's rate
term pushes q(z|x,c) onto the prior (Bowman et al. 2016; Chen et al. 2017). VLAE (Chen et
al. 2017) restricts the decoder's receptive field to a window around each pixel, so global
structure must go through z; KL warm-up (Bowman et al. 2016) and free bits (Kingma et al.
2016) are the objective's remedies.

Variants are decoder windows (`window_<w>`: w pixels of context; `window_0` is the
factorised decoder prod_i p(x_i|z,c); `full`: all of x_<i, a PixelCNN), each one compiled
sweep over beta x free bits (per latent dimension) x KL warm-up x seeds. Per member: the
rate, active units, distortion and IWAE bound (`evaluation.members`) and the z-share of
samples drawn with z held fixed (`evaluation.collapse`). Figures: rate, active units and
z-share against the window, one line per remedy; samples with z fixed per row.
"""

import os
import time

import jax
import numpy as np

from cvae_jax.errors import ConfigError
from cvae_jax.evaluation import collapse
from cvae_jax.evaluation.estimators import over_members
from cvae_jax.runs import results
from cvae_jax.runs.study import Study, Variant, train_variants, variant
from cvae_jax.studies import collapse_plots
from cvae_jax.studies import sweep as sweep_study
from cvae_jax.studies.digits import train_judge

FULL = "full"
FULL_WINDOW = 10**4  # clipped by the decoder to the image side - 1: all of x_<i
TABLE = ("test_rate", "active_units", "test_distortion", "test_iwae", "z_share")


def window_of(name: str) -> int:
    """`window_<w>` -> w; `full` -> FULL_WINDOW (the decoder clips it to the image)."""
    if name == FULL:
        return FULL_WINDOW
    prefix, _, number = name.partition("_")
    if prefix != "window" or not number.isdigit():
        raise ConfigError(
            f"variants: {name!r} is not a decoder window; use 'window_<w>' (w >= 0 pixels of "
            f"context, window_0 the factorised decoder) or {FULL!r} (a full PixelCNN)."
        )
    return int(number)


def window_variant(config, name: str) -> Variant:
    """The autoregressive decoder with the variant's window; the remedies as grid axes."""
    v = variant(config, name)
    c, f = v.config, config.collapse
    c.model.decoder = "autoregressive"
    c.model.decoder_window = window_of(name)
    c.sweep.betas = tuple(f.betas)
    c.objective.free_bits_groups = c.model.latent_dim  # lambda per latent dimension
    c.sweep.grid.free_bits = tuple(f.free_bits)
    c.sweep.grid.kl_warmup_steps = tuple(f.kl_warmup_steps)
    return v


def variants(config) -> list[Variant]:
    return [window_variant(config, name) for name in config.variants]


def check(config) -> None:
    for name in config.variants:
        window_of(name)
    if not config.variants:
        raise ConfigError("variants is empty; name decoder windows, e.g. ('window_0', 'full').")


def remedy(row: dict) -> str:
    """The row's remedy in words: none, free bits, warm-up or both."""
    parts = []
    if row["free_bits"] > 0:
        parts.append(f"free bits {row['free_bits']:g}")
    if row["kl_warmup_steps"] > 0:
        parts.append(f"warm-up {row['kl_warmup_steps']:g}")
    return " + ".join(parts) or "none"


def z_control(config, setup, sweep) -> dict:
    """Every member's z-share and fixed-latent samples, one compiled call ([S, H, ...])."""
    f, e = config.collapse, config.evaluation
    key = jax.random.key(e.seed)

    def member(params):
        return collapse.z_control(
            key, setup.model, params, config.data.num_classes, f.latents, f.draws_per_latent
        )

    return jax.device_get(jax.jit(over_members(member))(sweep.state.params))


def run(config, workdir: str) -> dict:
    start = time.perf_counter()
    given = config  # config.json holds it as given, so a rerun finds the same config
    config, splits = sweep_study.labelled_splits(config)
    classify, judge = train_judge(splits, config)
    rows, timings, pictures = [], {}, {}
    for v, setup, sweep in train_variants(variants(config), workdir, lambda v: splits.train):
        window = setup.model.decoder.window  # as built: `full` clipped to the image
        member_rows, eval_seconds = sweep_study.evaluate(
            v.config, setup, sweep, splits, classify, variant=v.name, window=window
        )
        control = z_control(v.config, setup, sweep)
        for i, row in enumerate(member_rows):
            s, h = divmod(i, len(sweep.hyper["beta"]))
            row["z_share"] = float(control["z_share"][s, h])
            row["remedy"] = remedy(row)
            if s == 0:  # seed 0's samples for the figure
                samples = control["fixed_latent_samples"][s, h, config.figures.label]
                pictures[(v.name, row["beta"], row["remedy"])] = samples
        rows += member_rows
        timings[v.name] = {"train_seconds": sweep.seconds, "eval_seconds": eval_seconds}
    steps = config.training.num_steps
    title = f"{config.data.name}: latent {config.model.latent_dim}, {steps} steps"
    collapse_plots.against_window(os.path.join(workdir, "collapse_vs_window.png"), rows, title)
    collapse_plots.fixed_latent_samples(
        os.path.join(workdir, "fixed_latent_samples.png"), pictures, splits.image_shape,
        f"{title}; label {config.figures.label}: z fixed per row, x ~ p(x|z,y) along it",
    )  # fmt: skip
    table = collapse_table(rows)
    summary = {
        "data": sweep_study.data_summary(config, splits),
        "classifier": judge,
        "timings": timings,
        "table": table,
        "total_seconds": time.perf_counter() - start,
    }
    results.write_csv(os.path.join(workdir, "collapse.csv"), table)
    return results.write_study(workdir, given, rows, summary)


def collapse_table(rows: list[dict]) -> list[dict]:
    """Per window, beta and remedy: the mean over seeds of the columns in TABLE."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["variant"], r["window"], r["beta"], r["remedy"]), []).append(r)
    table = []
    for (name, window, beta, how), members in groups.items():
        row = {"variant": name, "window": window, "beta": beta, "remedy": how}
        row["seeds"] = len(members)
        row.update({k: float(np.mean([m[k] for m in members])) for k in TABLE})
        table.append(row)
    return table


def report(out: dict) -> list[str]:
    lines = [
        f"{r['variant']:<10} beta={r['beta']:<4g} {r['remedy']:<26} rate {r['test_rate']:6.2f} "
        f"active {r['active_units']:4.1f} distortion {r['test_distortion']:7.2f} IWAE "
        f"{r['test_iwae']:8.2f} z-share {r['z_share']:5.2f}"
        for r in out["table"]
    ]
    return lines + [f"total {out['total_seconds']:.1f}s"]


STUDY = Study("collapse", variants, run, check, report)
